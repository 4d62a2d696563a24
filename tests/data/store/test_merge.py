"""Merging complete stores (``data/store/merge.py``): every window, label, onset and split of
each source, in order, under prefixed subjects and records and the merged channel slot; sources
that disagree are refused in one line and nothing is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cwtmae_cli.data.store import merge as merge_module
from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.data.store.merge import merge_stores
from cwtmae_cli.data.store.schema import describe_store, open_store
from cwtmae_cli.errors import StoreError

NAMES = ["N", "A", "O", "~"]


def source(path: Path, channel: str, n_recordings: int, seed: int,
           names: list[str] = NAMES, n_samples: int = 50) -> tuple[Path, dict]:
    """A complete store of ``n_recordings`` recordings of 1-4 windows each, random values."""
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 5, size=n_recordings)  # windows per recording
    recording = np.repeat(np.arange(n_recordings), per)
    n = len(recording)
    arrays = {"signals": rng.normal(size=(n, 1, n_samples)).astype(np.float32),
              "labels": rng.integers(0, len(names), size=n).astype(np.int16),
              "recording": recording,
              "start_s": np.concatenate([np.arange(k) * 5.0 for k in per])}
    subjects = [f"s{r // 2}" for r in range(n_recordings)]  # two recordings per subject
    write_store_from_arrays(path, arrays["signals"], arrays["labels"], recording,
                            arrays["start_s"], fs_hz=5.0, window_s=10.0, channels=[channel],
                            label_names=names, subjects=subjects,
                            recording_ids=[f"r{r}" for r in range(n_recordings)], seed=seed)
    return path, arrays


@pytest.fixture()
def two(tmp_path):
    return source(tmp_path / "a.zarr", "ECG", 9, 1), source(tmp_path / "b.zarr", "MLII", 12, 2)


@pytest.mark.parametrize("block", [4096, 3])  # one read per source; reads across recordings
def test_every_window_is_kept_in_order_with_its_split(two, tmp_path, monkeypatch, block) -> None:
    monkeypatch.setattr(merge_module, "_BLOCK", block)
    (a, arr_a), (b, arr_b) = two
    out = merge_stores([a, b], tmp_path / "m.zarr", prefixes=["cinc", "mit"],
                       channels=["ECG|MLII"])
    merged, sa, sb = open_store(out), open_store(a), open_store(b)
    assert merged.complete and merged.channels == ["ECG|MLII"]
    assert merged.label_names == NAMES and merged.n_samples == 50 and merged.fs_hz == 5.0
    for name in ("signals", "labels", "start_s", "split"):
        np.testing.assert_array_equal(
            np.asarray(getattr(merged, name)[:]),
            np.concatenate([np.asarray(getattr(sa, name)[:]), np.asarray(getattr(sb, name)[:])]),
            err_msg=name)
    np.testing.assert_array_equal(
        np.asarray(merged.recording[:]),
        np.concatenate([arr_a["recording"], arr_b["recording"] + len(sa.recordings)]))
    ids = [r["id"] for r in merged.recordings]
    assert ids == [f"cinc/r{i}" for i in range(9)] + [f"mit/r{i}" for i in range(12)]
    subjects = [r["subject"] for r in merged.recordings]
    assert subjects[0] == "cinc/s0" and subjects[9] == "mit/s0"  # `s0` of each stays apart
    by_split = {r["id"]: r["split"] for r in merged.recordings}
    assert [by_split[f"mit/r{i}"] for i in range(12)] == [r["split"] for r in sb.recordings]
    assert merged.attrs["subject_splits"]["mit/s0"] == sb.recordings[0]["split"]
    described = describe_store(out)
    assert described["n_subjects"] == 5 + 6
    assert described["channels_read"][0]["slot"] == "ECG|MLII"


def test_default_prefixes_are_the_recipe_names_and_same_slots_need_no_name(tmp_path) -> None:
    a, _ = source(tmp_path / "a.zarr", "ECG", 4, 1)
    b, _ = source(tmp_path / "b.zarr", "ECG", 4, 2)
    with pytest.raises(StoreError, match="distinct, non-empty prefix"):
        merge_stores([a, b], tmp_path / "m.zarr")  # both recipes are named `arrays`
    out = merge_stores([a, b], tmp_path / "m.zarr", prefixes=["x", "y"])
    assert open_store(out).channels == ["ECG"]


@pytest.mark.parametrize("change, message", [
    (dict(names=["N", "O", "A", "~"]), "class names"),
    (dict(n_samples=60), "samples per window"),
])
def test_sources_that_disagree_are_refused(tmp_path, change, message) -> None:
    a, _ = source(tmp_path / "a.zarr", "ECG", 4, 1)
    b, _ = source(tmp_path / "b.zarr", "MLII", 4, 2, **change)
    with pytest.raises(StoreError, match=message):
        merge_stores([a, b], tmp_path / "m.zarr", prefixes=["x", "y"], channels=["ECG|MLII"])
    assert not (tmp_path / "m.zarr").exists()
    assert not list(tmp_path.glob(".m.zarr*"))


def test_the_merged_slot_must_name_every_sources_channel(two, tmp_path) -> None:
    (a, _), (b, _) = two
    with pytest.raises(StoreError, match="does not name `MLII`"):
        merge_stores([a, b], tmp_path / "m.zarr", prefixes=["x", "y"], channels=["ECG|V5"])
    with pytest.raises(StoreError, match="other channel slots"):
        merge_stores([a, b], tmp_path / "m.zarr", prefixes=["x", "y"])
    assert not (tmp_path / "m.zarr").exists()


def test_an_existing_out_is_left_alone(two, tmp_path) -> None:
    (a, _), (b, _) = two
    out = tmp_path / "m.zarr"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(StoreError, match="exists"):
        merge_stores([a, b], out, prefixes=["x", "y"], channels=["ECG|MLII"])
    assert (out / "keep.txt").read_text() == "mine"
