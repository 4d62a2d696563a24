"""The reference labels predict overlays: found where prepare finds them, labelled as prepare
labels them, and absent (None) when the recording has none."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.evaluate.plots import agreement
from cwtmae_cli.evaluate.reference import find_reference

AF_META = {"label_names": ["non-AF", "AF"], "store": None}
SLEEP_META = {"label_names": ["W", "N1", "N2", "N3", "REM"], "store": None}


def _link_record(shared_data: Path, folder: Path, record: str, suffixes=("hea", "dat", "atr")):
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in suffixes:
        (folder / f"{record}.{suffix}").symlink_to(shared_data / "mitdb" / f"{record}.{suffix}")
    return folder / record


def test_wfdb_reference_is_what_prepare_labels_each_window(shared_data, tmp_path):
    from typer.testing import CliRunner

    from cwtmae_cli.cli.app import app
    from cwtmae_cli.data.store.schema import open_store

    record = _link_record(shared_data, tmp_path / "src", "201")
    store_path = tmp_path / "s.zarr"
    result = CliRunner().invoke(
        app, ["prepare", "mitdb-af", "--source", str(record.parent), "--out", str(store_path)]
    )
    assert result.exit_code == 0, result.output
    store = open_store(store_path)
    start_s = np.asarray(store.start_s[:], dtype=np.float64)  # (N,)
    expected = [store.label_names[int(k)] for k in store.labels[:]]
    ref = find_reference(record, {**AF_META, "store": str(store_path)}, "MLII", start_s, 30.0)
    assert ref is not None and ref.source == "201.atr"
    assert ref.labels == expected
    assert 15 <= ref.labels.count("AF") <= 25  # 10.1 min of (AFIB in this record


def test_sleep_edf_reference_comes_from_the_paired_hypnogram(shared_data):
    psg = shared_data / "sleep-edf" / "SC4001E0-PSG.edf"
    ref = find_reference(psg, SLEEP_META, "EEG Fpz-Cz", np.arange(10) * 30.0, 30.0)
    assert ref is not None and ref.source == "SC4001EC-Hypnogram.edf"
    assert ref.labels == ["W"] * 10  # the data README: all 10 windows are Sleep stage W


def test_no_reference_when_the_recording_has_none(shared_data, tmp_path):
    record = _link_record(shared_data, tmp_path / "bare", "201", suffixes=("hea", "dat"))
    assert find_reference(record, AF_META, "MLII", np.arange(4) * 30.0, 30.0) is None
    edf = write_edf(tmp_path / "plain.edf", np.zeros((1, 6000)), 100.0, ["EEG Fpz-Cz"])
    assert find_reference(edf, SLEEP_META, "EEG Fpz-Cz", np.arange(2) * 30.0, 30.0) is None
    # classes no recipe knows: nothing says how to read the annotations
    other = {"label_names": ["x", "y"], "store": None}
    record = _link_record(shared_data, tmp_path / "full", "201")
    assert find_reference(record, other, "MLII", np.arange(4) * 30.0, 30.0) is None


def test_agreement_leaves_out_bad_and_unscored_windows():
    predicted = ["W", "N2", "bad", "N2", "REM"]
    reference = ["W", "N1", "N2", None, "REM"]
    assert agreement(predicted, reference) == (2, 3)


def test_the_overlay_draws_the_reference_where_it_lies(tmp_path):
    from matplotlib.image import imread

    from cwtmae_cli.evaluate.plots import plot_hypnogram
    from cwtmae_cli.evaluate.reference import Reference
    from cwtmae_cli.evaluate.table import PredictionTable

    probs = np.tile(np.array([[0.9, 0.1]], dtype=np.float32), (20, 1))  # all non-AF
    table = PredictionTable("r", "r", ["non-AF", "AF"], 30.0, 30.0, np.arange(20) * 30.0, probs,
                            [None] * 20)
    # Same legend, same title (0 of 10 windows agree in both): only the line's place differs.
    first = Reference(labels=["AF"] * 10 + [None] * 10, source="r.atr")
    second = Reference(labels=[None] * 10 + ["AF"] * 10, source="r.atr")
    image_first = imread(plot_hypnogram(table, tmp_path / "a.png", first))
    image_second = imread(plot_hypnogram(table, tmp_path / "b.png", second))
    assert not np.array_equal(image_first, image_second)


def test_rhythm_classes_read_an_atr_file_with_the_rhythm_recipe(shared_data, tmp_path):
    # N, A, O, ~ are the classes of cinc2017 (a CSV of record labels, listed first) and of
    # mitdb-rhythm (.atr rhythm notes): an .atr beside the record is read with mitdb-rhythm's map
    record = _link_record(shared_data, tmp_path / "src", "201")
    meta = {"label_names": ["N", "A", "O", "~"], "store": None}  # e.g. the bundled model
    onsets = np.arange(0.0, 1800.0 - 10.0, 5.0)  # windows of 10 s every 5 s
    ref = find_reference(record, meta, "MLII", onsets, 10.0)
    assert ref is not None and ref.source == "201.atr"
    assert {"N", "A"} <= set(label for label in ref.labels if label)
    assert ref.labels.count("A") > 50  # 10.1 min of (AFIB: about 120 windows of 10 s
