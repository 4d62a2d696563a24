"""The EDF+ and BIDS files of ``predict --format edf|bids`` read back as the TSV table reads:
the same onsets (to the bit), labels, window length, classes and clock start."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest

from cwtmae_cli.errors import DataError
from cwtmae_cli.evaluate.prediction_formats import write_bids_events, write_edf_annotations
from cwtmae_cli.evaluate.prediction_inputs import read_predictions, read_window_file
from cwtmae_cli.evaluate.provenance import InputInfo
from cwtmae_cli.evaluate.table import PredictionTable, write_table

LABELS = ["W", "N1", "N2", "N3", "REM"]
START = datetime(2021, 3, 4, 23, 15, 10, 250000)  # a WFDB start: a fraction of a second


def _table(rec_id: str = "sub-01_task-sleep_eeg", n: int = 40) -> PredictionTable:
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(len(LABELS)) * 0.3, size=n).astype(np.float32)  # (n, 5)
    quality = [None] * n
    for k, reason in ((3, "flat"), (17, "non-finite")):
        probs[k], quality[k] = np.nan, reason
    return PredictionTable(
        recording_id=rec_id, source="/data/x.edf", label_names=LABELS, window_s=30.0,
        stride_s=7.25, onset_s=np.arange(n) * 7.25 + 0.123457, probs=probs, quality=quality,
        input=InputInfo("EEG Fpz-Cz", "EEG Fpz-Cz", 100.0, start=START),
    )


def _write_all(folder, table: PredictionTable, name: str):
    """``predict``'s three outputs of ``table`` in three folders, each with its sidecar."""
    paths = {}
    for fmt in ("tsv", "edf", "bids"):
        (folder / fmt).mkdir()
        side = {"recording": table.recording_id, "recording_start": START.isoformat(),
                "label_names": LABELS}
        if fmt == "tsv":
            paths[fmt] = write_table(table, folder / fmt / f"{name}_pred.tsv")
        elif fmt == "edf":
            paths[fmt] = write_edf_annotations(table, folder / fmt / f"{name}_pred.edf")
        else:
            events = folder / fmt / "sub-01_task-sleep_events.tsv"
            paths[fmt] = write_bids_events(table, events, events.with_suffix(".json"))
        side["table"] = paths[fmt].name
        (folder / fmt / f"{name}_pred.json").write_text(json.dumps(side))
    return paths


def test_edf_and_bids_read_back_as_the_tsv_table(tmp_path):
    pytest.importorskip("mne")
    table = _table()
    paths = _write_all(tmp_path, table, table.recording_id)
    tsv = read_window_file(paths["tsv"])
    assert tsv.onset_s.tolist() == np.round(table.onset_s, 6).tolist()
    for fmt in ("edf", "bids"):
        other = read_window_file(paths[fmt])
        assert other.onset_s.tolist() == tsv.onset_s.tolist(), fmt  # exactly, not approx
        assert other.labels == tsv.labels == table.labels, fmt
        assert other.labels[3] == other.labels[17] == "bad"
        assert (other.window_s, other.start, other.label_names, other.recording_id) == (
            30.0, START, LABELS, "sub-01_task-sleep_eeg"), fmt
        folder = read_predictions(tmp_path / fmt, recordings=False)  # the folder: sidecar skipped
        assert [p.source for p in folder] == [paths[fmt]]


def test_an_edf_alone_keeps_the_clock_times_of_its_header(tmp_path):
    pytest.importorskip("mne")
    table = _table("night")
    path = write_edf_annotations(table, tmp_path / "night_pred.edf")
    alone = read_window_file(path, recipe_classes=LABELS)
    assert alone.start == START.replace(microsecond=0)  # the header's whole seconds
    clock = [(alone.start - START).total_seconds() + t for t in alone.onset_s]
    np.testing.assert_allclose(clock, table.onset_s, atol=1e-6)  # the same instants
    with pytest.raises(DataError, match="does not name the model's classes"):
        read_window_file(path)
