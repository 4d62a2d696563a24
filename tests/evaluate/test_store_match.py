"""A store must be prepared the way the checkpoint was trained; each difference is named."""

from __future__ import annotations

import numpy as np
import pytest

from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.data.store.schema import open_store
from cwtmae_cli.errors import CheckpointError, StoreError
from cwtmae_cli.evaluate.evaluation import channel_mismatches, match_store
from cwtmae_cli.evaluate.slots import checkpoint_channel

NAMES = ["W", "N1", "N2", "N3", "REM"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    n_windows, n_samples = 6, 300
    path = tmp_path_factory.mktemp("store") / "s.zarr"
    write_store_from_arrays(
        path,
        np.zeros((n_windows, 2, n_samples), np.float32),
        np.arange(n_windows) % 5,
        np.zeros(n_windows, np.int32),
        np.arange(n_windows) * 3.0,
        fs_hz=100.0,
        window_s=3.0,
        channels=["EEG Fpz-Cz", "EEG Pz-Oz"],
        label_names=NAMES,
        subjects=["00"],
    )
    return open_store(path)


def _meta(**pre) -> dict:
    base = {"fs_hz": 100.0, "window_s": 3.0, "n_samples": 300, "channel": "EEG Pz-Oz"}
    return {"kind": "classifier", "preprocessing": base | pre, "label_names": list(NAMES)}


def test_matching_store_gives_its_channel_name(store, tmp_path):
    assert match_store(_meta(), store, tmp_path) == "EEG Pz-Oz"
    assert match_store(_meta(channel="pz-oz"), store, tmp_path) == "EEG Pz-Oz"


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"fs_hz": 200.0}, r"fs_hz is 100 in the store but 200.0 in the checkpoint"),
        ({"window_s": 30.0}, r"window_s is 3 in the store but 30.0"),
        ({"n_samples": 3000}, r"n_samples is 300 in the store but 3000"),
        ({"channel": "EOG horizontal"}, r"channel `EOG horizontal`.*EEG Fpz-Cz, EEG Pz-Oz"),
    ],
)
def test_each_difference_is_named(store, tmp_path, change, pattern):
    with pytest.raises(StoreError, match=pattern):
        match_store(_meta(**change), store, tmp_path)


def test_label_names_must_match_in_order(store, tmp_path):
    meta = _meta() | {"label_names": ["W", "N1", "N2", "REM", "N3"]}
    with pytest.raises(StoreError, match="label_names"):
        match_store(meta, store, tmp_path)


def test_checkpoint_channel_forms():
    assert checkpoint_channel({"preprocessing": {"channel": ["MLII"]}}) == "MLII"
    with pytest.raises(CheckpointError):
        checkpoint_channel({"preprocessing": {"channel": ["a", "b"]}})
    with pytest.raises(CheckpointError):
        checkpoint_channel({"preprocessing": {}})


def test_store_slots_with_alternatives_match_the_checkpoints(tmp_path):
    path = tmp_path / "slots.zarr"
    write_store_from_arrays(
        path,
        np.zeros((2, 2, 300), np.float32),
        np.zeros(2),
        np.zeros(2, np.int32),
        np.arange(2) * 3.0,
        fs_hz=100.0,
        window_s=3.0,
        channels=["MLII", "V1|V2|V4|V5"],
        label_names=NAMES,
        subjects=["00"],
    )
    store = open_store(path)
    assert match_store(_meta(channel="V1|V2|V4|V5"), store, tmp_path) == "V1|V2|V4|V5"
    assert match_store(_meta(channel="V2"), store, tmp_path) == "V1|V2|V4|V5"  # an old checkpoint
    assert match_store(_meta(channel="MLII"), store, tmp_path) == "MLII"


def test_channel_mismatches_name_recordings_read_from_another_lead():
    recordings = [
        {"id": "100", "file_channels": ["MLII", "V5"]},
        {"id": "102", "file_channels": ["V5", "V2"]},
        {"id": "104", "file_channels": ["V5", "V2"]},
        {"id": "old"},  # a store entry without file_channels: nothing to compare
    ]
    used = np.array([0, 0, 1, 1, 3])  # windows of recordings 100, 102 and old: 104 not scored
    assert channel_mismatches("MLII", 0, recordings, used) == [{"id": "102", "channel": "V5"}]
    assert channel_mismatches("V1|V2|V4|V5", 1, recordings, used) == []
    assert channel_mismatches("V1", 1, recordings, used) == [
        {"id": "100", "channel": "V5"},
        {"id": "102", "channel": "V2"},
    ]
