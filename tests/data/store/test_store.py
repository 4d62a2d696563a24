"""The store's read side, the one-go writer and the commit protocol."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cwtmae_cli.data.split import assign_splits, split_counts, subject_class_counts
from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.data.store.schema import describe_store, open_store
from cwtmae_cli.data.store.writer import StoreWriter
from cwtmae_cli.errors import StoreError


def _arrays(n_rec: int = 6, per_rec: int = 50, n_channels: int = 2, n_samples: int = 300):
    rng = np.random.default_rng(0)
    n = n_rec * per_rec
    signals = rng.standard_normal((n, n_channels, n_samples)).astype(np.float32)
    labels = rng.integers(-1, 3, n)
    recording = np.repeat(np.arange(n_rec), per_rec)
    start_s = np.tile(np.arange(per_rec) * 3.0, n_rec)
    return signals, labels, recording, start_s


def test_round_trip_of_arrays_and_attributes(tmp_path):
    signals, labels, recording, start_s = _arrays()
    subjects = ["a", "a", "b", "c", "d", "e"]
    path = write_store_from_arrays(
        tmp_path / "s.zarr",
        signals,
        labels,
        recording,
        start_s,
        fs_hz=100,
        window_s=3,
        channels=["EEG", "EOG"],
        label_names=["x", "y", "z"],
        subjects=subjects,
        seed=3,
    )
    store = open_store(path)
    assert store.signals.dtype == np.float32 and store.signals.shape == signals.shape
    np.testing.assert_array_equal(store.signals[:], signals)
    np.testing.assert_array_equal(store.labels[:], labels.astype(np.int16))
    np.testing.assert_array_equal(store.recording[:], recording)
    np.testing.assert_array_equal(store.start_s[:], start_s)
    assert store.labels.dtype == np.int16 and store.split.dtype == np.int8
    assert store.recording.dtype == np.int32 and store.start_s.dtype == np.float64
    assert (store.fs_hz, store.window_s, store.n_samples) == (100.0, 3.0, 300)
    assert store.channels == ["EEG", "EOG"] and store.label_names == ["x", "y", "z"]
    assert store.attrs["schema_version"] == 1 and store.complete
    # Subject "a" owns recordings 0 and 1: both in one split.
    split = store.split[:]
    assert len(set(split[recording <= 1])) == 1
    counts = subject_class_counts(labels, recording, subjects, 3)
    by_subject = assign_splits(counts, (0.7, 0.15, 0.15), 3)
    assert [r["split"] for r in store.recordings] == [by_subject[s] for s in subjects]
    assert [r["n_windows"] for r in store.recordings] == [50] * 6


def test_describe_counts_windows_per_split_and_class(tmp_path):
    signals, labels, recording, start_s = _arrays()
    split = np.repeat(np.array([0, 0, 1, 2, 0, 1]), 50)
    path = write_store_from_arrays(
        tmp_path / "s.zarr",
        signals,
        labels,
        recording,
        start_s,
        fs_hz=100,
        window_s=3,
        channels=["a", "b"],
        label_names=["x", "y", "z"],
        subjects=list("abcdef"),
        split=split,
    )
    info = describe_store(path)
    json.dumps(info)  # JSON-serialisable
    for code, name in enumerate(("train", "validation", "test")):
        sel = labels[split == code]
        per_class = info["splits"][name]["per_class"]
        assert per_class == {
            "x": int((sel == 0).sum()),
            "y": int((sel == 1).sum()),
            "z": int((sel == 2).sum()),
            "unlabelled": int((sel < 0).sum()),
        }
        assert info["splits"][name]["n_windows"] == sel.size
    assert info["splits"]["train"]["n_subjects"] == 3


def test_split_counts_give_every_split_a_subject():
    assert split_counts(6, (0.7, 0.15, 0.15)) == [4, 1, 1]
    assert split_counts(4, (0.7, 0.15, 0.15)) == [2, 1, 1]
    assert split_counts(1, (0.7, 0.15, 0.15)) == [1, 0, 0]
    assert split_counts(10, (1, 0, 0)) == [10, 0, 0]
    assert split_counts(10, (1, 1, 1, 1)) == [3, 3, 2, 2]  # folds
    for bad in [(0.5,), (-0.5, 1, 1), (0, 0, 0)]:
        with pytest.raises(ValueError):
            split_counts(3, bad)


def test_split_depends_on_the_set_of_subjects_not_their_order():
    subjects = [f"s{i}" for i in range(20)]
    a = assign_splits(subjects, seed=5)
    b = assign_splits(list(reversed(subjects)) + subjects[:3], seed=5)
    assert a == b
    assert a != assign_splits(subjects, seed=6)


def test_reader_never_sees_windows_past_the_last_commit(tmp_path):
    path = tmp_path / "s.zarr"
    writer = StoreWriter.create(
        path,
        n_channels=1,
        n_samples=10,
        attrs={"fs_hz": 1.0, "window_s": 10.0, "channels": ["c"], "label_names": ["a"]},
    )
    info = {"id": "r0", "subject": "s0", "source_files": [], "dropped": {}}
    writer.append(info, np.ones((5, 1, 10)), np.zeros(5), np.arange(5) * 10.0, 0)
    # Simulate a writer killed while writing the next recording: arrays grown, no commit.
    for array in writer.arrays.values():
        array.resize((9, *array.shape[1:]))
    writer.arrays["signals"][5:9] = 7.0
    store = open_store(path)
    assert len(store) == 5 and store.signals.shape == (5, 1, 10)
    assert store.signals[:].shape == (5, 1, 10) and float(store.signals[:].max()) == 1.0
    assert store.labels[np.array([0, 4])].shape == (2,)
    with pytest.raises(IndexError):
        store.signals[np.array([6])]
    resumed = StoreWriter.resume(path)
    assert resumed.arrays["signals"].shape[0] == 5 and resumed.committed_ids == ["r0"]


def test_open_store_errors(tmp_path):
    with pytest.raises(StoreError, match="not a cwtmae store"):
        open_store(tmp_path / "nothing.zarr")
    signals, labels, recording, start_s = _arrays(1, 4)
    path = write_store_from_arrays(
        tmp_path / "s.zarr",
        signals,
        labels,
        recording,
        start_s,
        fs_hz=100,
        window_s=3,
        channels=["a", "b"],
        label_names=["x", "y", "z"],
        subjects=["a"],
    )
    import zarr

    zarr.open_group(str(path), mode="r+").attrs["schema_version"] = 99
    with pytest.raises(StoreError, match="schema_version 99"):
        open_store(path)


def test_a_commit_is_one_group_metadata_write_after_the_data(tmp_path, monkeypatch):
    from zarr.storage import LocalStore

    writer = StoreWriter.create(
        tmp_path / "s.zarr",
        n_channels=1,
        n_samples=10,
        attrs={"fs_hz": 1.0, "window_s": 10.0, "channels": ["c"], "label_names": ["a"]},
    )
    written: list[str] = []
    original = LocalStore.set

    async def recording_set(self, key, value, *args, **kwargs):
        written.append(key)
        return await original(self, key, value, *args, **kwargs)

    monkeypatch.setattr(LocalStore, "set", recording_set)
    info = {"id": "r0", "subject": "s0", "source_files": [], "dropped": {}}
    writer.append(info, np.ones((3, 1, 10)), np.zeros(3), np.arange(3) * 10.0, 0)
    assert written.count("zarr.json") == 1 and written[-1] == "zarr.json"
    assert any(key.startswith("signals/c/") for key in written)
