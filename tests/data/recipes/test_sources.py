"""Finding a recipe's recordings: ids, subjects, paired annotation files and their problems."""

from __future__ import annotations

import pytest

from cwtmae_cli.data.recipes.load import load_recipe
from cwtmae_cli.data.recipes.sources import find_recordings
from cwtmae_cli.errors import DataError


def _touch(folder, *names):
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_sleep_edf_pairs_by_first_six_characters_and_names_subjects(tmp_path):
    _touch(
        tmp_path,
        "SC4001E0-PSG.edf",
        "SC4001EC-Hypnogram.edf",
        "night2/SC4012E0-PSG.edf",
        "night2/SC4012EC-Hypnogram.edf",
        "SC4021E0-PSG.edf",
        "SC4031E0-PSG.edf",
        "SC4031EC-Hypnogram.edf",
        "SC4031EH-Hypnogram.edf",
    )
    items = {i.recording_id: i for i in find_recordings(load_recipe("sleep-edf"), tmp_path)}
    assert list(items) == ["SC4001E0", "SC4012E0", "SC4021E0", "SC4031E0"]
    assert [i.subject for i in items.values()] == ["00", "01", "02", "03"]
    assert items["SC4001E0"].annotations.name == "SC4001EC-Hypnogram.edf"
    assert items["SC4012E0"].annotations.parent.name == "night2"
    assert items["SC4001E0"].problem is None
    assert "no annotation file matching SC4021*-Hypnogram.edf" in items["SC4021E0"].problem
    assert "several annotation files match" in items["SC4031E0"].problem


def test_wfdb_records_and_their_annotation_files(tmp_path):
    _touch(tmp_path, "100.hea", "100.dat", "100.atr", "101.hea", "101.dat")
    items = find_recordings(load_recipe("mitdb-af"), tmp_path)
    assert [(i.recording_id, i.subject) for i in items] == [("100", "100"), ("101", "101")]
    assert items[0].path == tmp_path / "100" and items[0].annotations == tmp_path / "100.atr"
    assert "annotation file 101.atr is missing" in items[1].problem
    assert [i.annotations for i in find_recordings(load_recipe("wfdb"), tmp_path)] == [None] * 2


def test_generic_edf_recipe_skips_hypnograms_and_rejects_duplicate_ids(tmp_path):
    _touch(tmp_path, "a.edf", "b.BDF", "SC4001EC-Hypnogram.edf")
    ids = [i.recording_id for i in find_recordings(load_recipe("edf"), tmp_path)]
    assert ids == ["a", "b"]
    _touch(tmp_path, "again/a.edf")
    with pytest.raises(DataError, match="two recordings named a"):
        find_recordings(load_recipe("edf"), tmp_path)
