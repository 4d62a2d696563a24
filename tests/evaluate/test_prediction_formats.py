"""Prediction files other tools read: EDF+ annotations (MNE), BIDS events, the hypnodensity."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import numpy as np
import pytest

from cwtmae_cli.evaluate.hypnodensity import plot_hypnodensity, stacked_bands, step_edges
from cwtmae_cli.evaluate.prediction_formats import (
    FORMATS,
    write_bids_events,
    write_edf_annotations,
    write_prediction_file,
)
from cwtmae_cli.evaluate.prediction_paths import bids_events_stem, output_paths
from cwtmae_cli.evaluate.provenance import InputInfo
from cwtmae_cli.evaluate.table import PredictionTable

LABELS = ["W", "N1", "N2", "N3", "REM"]


def _table(start: datetime | None = None, n: int = 6, stride_s: float = 30.0) -> PredictionTable:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(LABELS)), size=n).astype(np.float32)  # (n, 5)
    probs[2] = np.nan
    quality = [None] * n
    quality[2] = "flat"
    return PredictionTable(
        recording_id="sub-01_task-sleep_eeg",
        source="/data/x.edf",
        label_names=LABELS,
        window_s=30.0,
        stride_s=stride_s,
        onset_s=np.arange(n) * stride_s + 7.5,
        probs=probs,
        quality=quality,
        input=InputInfo("EEG Fpz-Cz", "EEG Fpz-Cz", 100.0, start=start),
    )


def test_formats_and_bids_names():
    assert FORMATS == ("tsv", "csv", "json", "edf", "bids")
    assert bids_events_stem("sub-01_task-sleep_eeg") == "sub-01_task-sleep_events"
    assert bids_events_stem("SC4001E0-PSG") == "SC4001E0-PSG_events"
    table_path, _, sidecar = output_paths("o", "sub-01_task-sleep_eeg", "bids")
    assert table_path.name == "sub-01_task-sleep_events.tsv"
    assert sidecar.name == "sub-01_task-sleep_eeg_pred.json"  # provenance, as for tsv
    assert output_paths("o", "r", "edf")[0].name == "r_pred.edf"


def test_edf_annotations_round_trip_through_mne(tmp_path):
    mne = pytest.importorskip("mne")
    table = _table(start=datetime(2021, 3, 4, 23, 15, 10))
    path = write_edf_annotations(table, tmp_path / "r_pred.edf")
    annot = mne.read_annotations(path)
    np.testing.assert_allclose(annot.onset, table.onset_s, atol=1e-6)
    np.testing.assert_allclose(annot.duration, 30.0)
    expected = list(table.labels)
    expected[2] = "bad (flat)"
    assert list(annot.description) == expected
    raw = mne.io.read_raw_edf(path, verbose="error")  # an ordinary EDF+C reader opens it
    assert raw.info["meas_date"].replace(tzinfo=None) == datetime(2021, 3, 4, 23, 15, 10)
    assert raw.times[-1] + 1 >= table.onset_s[-1] + 30.0  # the dummy signal spans the windows
    assert raw.annotations.onset[0] == pytest.approx(7.5)


def test_edf_annotations_open_in_edflib(tmp_path):
    # pyedflib wraps EDFlib, the library of EDFbrowser's author: what it opens, EDFbrowser opens.
    pyedflib = pytest.importorskip("pyedflib")
    table = _table(start=datetime(2021, 3, 4, 23, 15, 10))
    reader = pyedflib.EdfReader(str(write_edf_annotations(table, tmp_path / "r_pred.edf")))
    try:
        assert reader.filetype == pyedflib.FILETYPE_EDFPLUS
        assert reader.getStartdatetime() == datetime(2021, 3, 4, 23, 15, 10)
        onsets, durations, texts = reader.readAnnotations()
    finally:
        reader.close()
    np.testing.assert_allclose(onsets, table.onset_s)
    np.testing.assert_allclose(durations, 30.0)
    assert list(texts)[:3] == [*table.labels[:2], "bad (flat)"]


def test_edf_keeps_a_fraction_of_a_second_of_the_start(tmp_path):
    mne = pytest.importorskip("mne")
    table = _table(start=datetime(2021, 3, 4, 23, 15, 10, 250000))
    annot = mne.read_annotations(write_edf_annotations(table, tmp_path / "r.edf"))
    np.testing.assert_allclose(annot.onset, table.onset_s + 0.25, atol=1e-6)


def test_edf_without_start_or_before_1985(tmp_path):
    mne = pytest.importorskip("mne")
    for start in (None, datetime(1975, 1, 1)):
        path = write_edf_annotations(_table(start=start), tmp_path / "r.edf")
        raw = mne.io.read_raw_edf(path, verbose="error")
        assert raw.info["meas_date"].year == 1985  # EDF+'s "unknown" date
        assert mne.read_annotations(path).onset[0] == pytest.approx(7.5)


def test_bids_events_tsv_and_sidecar(tmp_path):
    table = _table()
    tsv = tmp_path / "sub-01_task-sleep_events.tsv"
    written = write_prediction_file(table, tsv, "bids")
    assert written == [tsv, tmp_path / "sub-01_task-sleep_events.json"]
    with tsv.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert list(rows[0])[:4] == ["onset", "duration", "trial_type", "value"]
    assert [float(r["onset"]) for r in rows] == pytest.approx(list(table.onset_s))
    assert [r["trial_type"] for r in rows] == table.labels
    for r, label in zip(rows, table.labels, strict=True):
        expected = "n/a" if label == "bad" else str(LABELS.index(label))
        assert r["value"] == expected
    assert rows[2]["confidence"] == "n/a" and rows[2]["quality"] == "flat"
    side = json.loads(written[1].read_text())
    assert side["onset"]["Units"] == "s"
    assert side["value"]["Levels"] == {str(k): name for k, name in enumerate(LABELS)}
    assert set(side["trial_type"]["Levels"]) == {*LABELS, "bad"}
    assert set(side) == set(rows[0])  # every column described, nothing else


def test_bids_writer_gives_its_path(tmp_path):
    path = write_bids_events(_table(), tmp_path / "a_events.tsv", tmp_path / "a_events.json")
    assert path.read_text().count("\n") == 7  # header and 6 windows


def test_hypnodensity_bands_stack_the_probabilities():
    table = _table(n=4)
    names, upper = stacked_bands(table)
    assert names == ["N3", "N2", "N1", "REM", "W", "bad"]  # N3 at the bottom, W on top
    order = [LABELS.index(n) for n in names[:-1]]
    good = [0, 1, 3]
    np.testing.assert_allclose(
        upper[:-1, good], np.cumsum(table.probs[good][:, order], axis=1).T, atol=1e-6
    )
    np.testing.assert_allclose(upper[:, 2], [0, 0, 0, 0, 0, 1])  # the bad window: only `bad`
    np.testing.assert_allclose(upper[-1], 1.0, atol=1e-5)


def test_hypnodensity_steps_and_png(tmp_path):
    table = _table(n=3, stride_s=10.0)  # overlapping windows: a window holds until the next onset
    np.testing.assert_allclose(step_edges(table), [7.5, 17.5, 17.5, 27.5, 27.5, 57.5])
    path = plot_hypnodensity(table, tmp_path / "r_hypnodensity.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
