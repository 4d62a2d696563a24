"""Which recordings a PATH names, where their outputs go, and the writable-folder check."""

from __future__ import annotations

import pytest

from cwtmae_cli.errors import CwtmaeError, DataError
from cwtmae_cli.evaluate.prediction_paths import (
    ensure_writable,
    find_recordings,
    output_names,
    output_paths,
    recording_id,
)


def test_single_files_and_wfdb_records(tmp_path, shared_data):
    edf = shared_data / "sleep-edf" / "SC4001E0-PSG.edf"
    assert find_recordings(edf) == [edf]
    record = shared_data / "mitdb" / "201"
    assert find_recordings(record) == [record]
    assert find_recordings(record.with_suffix(".hea")) == [record]
    assert find_recordings(shared_data / "mitdb" / "201.dat") == [record]
    assert recording_id(edf) == "SC4001E0-PSG" and recording_id(record) == "201"


def test_challenge_record_named_by_its_mat_file(shared_data):
    record = shared_data / "cinc2017" / "A00001"
    for given in (record.with_suffix(".mat"), record.with_suffix(".hea"), record):
        assert find_recordings(given) == [record]
    assert recording_id(record.with_suffix(".mat")) == "A00001"


def test_folder_lists_recordings_and_skips_hypnograms(tmp_path):
    for name in ("b.edf", "a.BDF", "rec.hea", "rec.dat", "SC4001EC-Hypnogram.edf", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    found = find_recordings(tmp_path)
    assert [p.name for p in found] == ["a.BDF", "b.edf", "rec"]


def test_nothing_to_read(tmp_path):
    with pytest.raises(DataError, match="no EDF/BDF"):
        find_recordings(tmp_path)
    with pytest.raises(DataError, match="no recording"):
        find_recordings(tmp_path / "missing.edf")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(DataError, match="not an EDF"):
        find_recordings(tmp_path / "x.txt")


def test_output_names(tmp_path):
    table, plot, sidecar = output_paths(tmp_path, "201", "csv")
    assert table == tmp_path / "201_pred.csv" and plot == tmp_path / "201_hypnogram.png"
    assert sidecar == tmp_path / "201_pred.json"
    _, plot, sidecar = output_paths(tmp_path, "201", "json", sleep=False)
    assert plot == tmp_path / "201_labels.png" and sidecar is None  # the table holds it


def test_ensure_writable_creates_and_refuses(tmp_path):
    target = ensure_writable(tmp_path / "new" / "deep")
    assert target.is_dir() and not list(target.iterdir())  # the probe file is gone
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(CwtmaeError, match="cannot write predictions"):
        ensure_writable(blocker / "out")


def test_output_names_never_collide(tmp_path):
    recordings = [tmp_path / "rec.edf", tmp_path / "rec.bdf", tmp_path / "rec", tmp_path / "x.edf"]
    names = output_names(recordings)
    assert names[tmp_path / "x.edf"] == "x"
    assert sorted(names[p] for p in recordings[:3]) == ["rec_bdf", "rec_edf", "rec_wfdb"]
