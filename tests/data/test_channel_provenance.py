"""What `prepare` keeps of the channels it read: the file's name per slot and any fallback.

Real MIT-BIH records: 102 has no MLII (V5, V2), 114 stores V5 first and MLII second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.data.prepare import prepare_store
from cwtmae_cli.data.readers.dispatch import read_recording
from cwtmae_cli.data.recipes.load import load_recipe
from cwtmae_cli.data.recipes.recipe import with_overrides
from cwtmae_cli.data.resample import resample
from cwtmae_cli.data.store.schema import describe_store, open_store


def link_records(shared_data: Path, folder: Path, records: tuple[str, ...]) -> Path:
    """Symlinks to some mitdb-full records (read in place, never copied)."""
    folder.mkdir(parents=True, exist_ok=True)
    for record in records:
        for ext in ("hea", "dat", "atr"):
            (folder / f"{record}.{ext}").symlink_to(shared_data / "mitdb-full" / f"{record}.{ext}")
    return folder


@pytest.fixture(scope="module")
def fallback_store(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("provenance")
    source = link_records(shared_data, root / "src", ("102", "114"))
    out = root / "mitdb-af.zarr"
    return out, prepare_store(load_recipe("mitdb-af"), source, out)


def test_the_store_keeps_the_lead_read_and_the_fallback_per_recording(fallback_store):
    out, summary = fallback_store
    store = open_store(out)
    assert store.channels == ["MLII"]
    by_id = {r["id"]: r for r in store.recordings}
    assert by_id["102"]["file_channels"] == ["V5"] and by_id["102"]["channel_fallback"] == [True]
    assert by_id["114"]["file_channels"] == ["MLII"]  # second in the file, still MLII
    assert by_id["114"]["channel_fallback"] == [False]
    assert summary["channels_read"] == [
        {"slot": "MLII", "read": {"MLII": 1, "V5": 1}, "fallback": [{"id": "102", "channel": "V5"}]}
    ]
    assert describe_store(out)["channels_read"] == summary["channels_read"]


def test_slots_store_the_channels_in_slot_order(shared_data, tmp_path):
    source = link_records(shared_data, tmp_path / "src", ("114",))
    recipe = with_overrides(load_recipe("mitdb-af"), channels=["MLII", "V1 | V2|V4|V5"])
    out = tmp_path / "slots.zarr"
    prepare_store(recipe, source, out)
    store = open_store(out)
    assert store.channels == ["MLII", "V1|V2|V4|V5"]
    (rec,) = store.recordings
    assert rec["file_channels"] == ["MLII", "V5"] and rec["channel_fallback"] == [False, False]
    raw = read_recording(source / "114", ["MLII", "V5"])
    first = resample(raw.signal[:, : 360 * 60], 360.0, 100.0)[:, :3000]  # (2, 3000)
    np.testing.assert_allclose(store.signals[0], first, atol=1e-3)


def test_edf_slots_with_dot_padding_and_ref_suffix(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(2):
        write_edf(
            tmp_path / "src" / f"s{i}.edf",
            rng.normal(0, 20, (3, 100 * 60)),
            100.0,
            ["EOG", "EEG C3-Ref", "C4.." if i == 0 else "EEG F4-Ref"],
        )
    recipe = with_overrides(load_recipe("edf"), channels=["C3", "C4|F4"])
    out = tmp_path / "edf.zarr"
    summary = prepare_store(recipe, tmp_path / "src", out)
    names = [r["file_channels"] for r in open_store(out).recordings]
    assert names == [["EEG C3-Ref", "C4.."], ["EEG C3-Ref", "EEG F4-Ref"]]
    assert summary["channels_read"][1]["read"] == {"C4..": 1, "EEG F4-Ref": 1}
    assert not any(entry["fallback"] for entry in summary["channels_read"])
