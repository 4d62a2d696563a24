"""A store must be prepared the way the checkpoint was trained; each difference is named."""

from __future__ import annotations

import numpy as np
import pytest

from cwtmae_cli.data.store import open_store, write_store_from_arrays
from cwtmae_cli.errors import CheckpointError, StoreError
from cwtmae_cli.evaluate.evaluation import checkpoint_channel, match_store

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
