"""WindowDataset (store and in-memory modes) and ChunkShuffleSampler."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.data.store.loader import ChunkShuffleSampler, WindowDataset
from cwtmae_cli.data.store.writer import StoreWriter
from cwtmae_cli.errors import StoreError

N_SAMPLES = 40


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    """700 windows, 2 channels; window i of channel c is filled with 10*i + c (identifiable)."""
    n = 700
    values = np.arange(n)[:, None, None] * 10.0 + np.arange(2)[None, :, None]
    signals = np.broadcast_to(values, (n, 2, N_SAMPLES)).astype(np.float32)  # (N, C, L)
    labels = np.where(np.arange(n) % 7 == 0, -1, np.arange(n) % 3)
    recording = np.repeat(np.arange(7), 100)
    split = np.repeat(np.array([0, 1, 0, 2, 0, 0, 1]), 100)
    path = write_store_from_arrays(
        tmp_path_factory.mktemp("store") / "s.zarr",
        signals,
        labels,
        recording,
        np.tile(np.arange(100) * 0.4, 7),
        fs_hz=100,
        window_s=0.4,
        channels=["EEG Fpz-Cz", "EOG"],
        label_names=["a", "b", "c"],
        subjects=list("abcdefg"),
        split=split,
    )
    return path


def _ids(x: torch.Tensor, channel: int = 0) -> np.ndarray:
    return ((x[:, 0].numpy() - channel) / 10).round().astype(int)


@pytest.mark.parametrize("in_memory", [False, True])
def test_dataset_selects_splits_channel_and_labels(store_path, in_memory):
    ds = WindowDataset(store_path, splits=(0,), channel="Fpz-Cz", in_memory=in_memory)
    expected = np.concatenate([np.arange(0, 100), np.arange(200, 300), np.arange(400, 600)])
    assert len(ds) == 400 and ds.in_memory is in_memory
    np.testing.assert_array_equal(ds.indices, expected)
    assert ds.channel_name == "EEG Fpz-Cz" and ds.label_names == ["a", "b", "c"]
    assert (ds.fs_hz, ds.window_s, ds.n_samples) == (100.0, 0.4, N_SAMPLES)
    x, y = ds[150]  # store window 250
    assert x.dtype == torch.float32 and x.shape == (N_SAMPLES,) and float(x[0]) == 2500.0
    assert y == (250 % 3 if 250 % 7 else -1) and isinstance(y, int)
    positions = np.array([399, 0, 150, 3])
    xb, yb = ds.get_batch(positions)
    assert xb.shape == (4, N_SAMPLES) and yb.dtype == torch.int64
    np.testing.assert_array_equal(_ids(xb), expected[positions])
    np.testing.assert_array_equal(yb.numpy(), ds.labels[positions])
    eog = WindowDataset(
        store_path, splits=(1, 2), channel=1, labelled_only=True, in_memory=in_memory
    )
    assert (eog.labels >= 0).all() and set(np.unique(eog.recording)) == {1, 3, 6}
    np.testing.assert_array_equal(_ids(eog.get_batch(np.arange(len(eog)))[0], 1), eog.indices)


def test_dataset_survives_pickling_and_works_in_a_dataloader(store_path):
    ds = pickle.loads(pickle.dumps(WindowDataset(store_path, in_memory=False)))
    loader = torch.utils.data.DataLoader(ds, batch_size=64, sampler=ChunkShuffleSampler(ds))
    seen = np.concatenate([_ids(x) for x, _ in loader])
    np.testing.assert_array_equal(np.sort(seen), ds.indices)


def test_sampler_is_a_deterministic_chunk_local_permutation(store_path):
    ds = WindowDataset(store_path, splits=(0, 1, 2), in_memory=False)
    sampler = ChunkShuffleSampler(ds, seed=1, buffer_chunks=2)
    first = list(sampler)
    assert sorted(first) == list(range(len(ds))) and first != list(range(len(ds)))
    assert first == list(ChunkShuffleSampler(ds, seed=1, buffer_chunks=2))
    sampler.set_epoch(1)
    assert list(sampler) != first
    # Every run of consecutive positions spanning one buffer touches at most 2 chunks.
    k = ds.chunk_windows
    chunk_of = ds.indices[np.array(first)] // k
    n_buffer = sum(len(g) for g in ds.chunk_groups()[:2])
    assert len(set(chunk_of[:n_buffer])) <= 2
    assert list(ChunkShuffleSampler(ds, shuffle=False)) == list(range(len(ds)))


@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_shards_evenly_across_ranks(store_path, drop_last):
    ds = WindowDataset(store_path, splits=(0, 1, 2), in_memory=True)
    n = len(ds)  # 700
    shards = [
        list(ChunkShuffleSampler(ds, seed=2, num_replicas=3, rank=r, drop_last=drop_last))
        for r in range(3)
    ]
    sizes = {len(s) for s in shards}
    assert sizes == {n // 3 if drop_last else -(-n // 3)}
    union = [i for s in shards for i in s]
    if drop_last:
        assert len(set(union)) == len(union) == 3 * (n // 3)
    else:
        assert set(union) == set(range(n)) and len(union) == 3 * -(-n // 3)


def test_dataset_of_an_empty_store_is_empty(tmp_path):
    writer = StoreWriter.create(
        tmp_path / "e.zarr",
        n_channels=1,
        n_samples=10,
        attrs={"fs_hz": 1.0, "window_s": 10.0, "channels": ["c"], "label_names": []},
    )
    writer.finish([])
    ds = WindowDataset(tmp_path / "e.zarr")
    assert len(ds) == 0 and list(ChunkShuffleSampler(ds, num_replicas=2, rank=1)) == []


def test_a_store_slot_is_chosen_by_one_of_its_names(tmp_path):
    path = write_store_from_arrays(
        tmp_path / "slots.zarr",
        np.arange(2 * 2 * 30, dtype=np.float32).reshape(2, 2, 30),
        np.zeros(2),
        np.zeros(2, np.int32),
        np.arange(2) * 3.0,
        fs_hz=10.0,
        window_s=3.0,
        channels=["MLII", "V1|V2|V4|V5"],
        label_names=["a"],
        subjects=["s"],
        split=np.zeros(2, np.int8),
    )
    for name in ("V2", "V1|V2|V4|V5", 1):
        dataset = WindowDataset(path, channel=name)
        assert dataset.channel == 1 and dataset.channel_name == "V1|V2|V4|V5"
        np.testing.assert_array_equal(dataset[0][0].numpy(), np.arange(30, 60))


@pytest.mark.parametrize("in_memory", [False, True])
@pytest.mark.parametrize("channel", ["EOG,Fpz-Cz", "1,0", ["EOG", 0]])
def test_several_channels_come_in_the_order_asked(store_path, in_memory, channel):
    ds = WindowDataset(store_path, splits=(0,), channel=channel, in_memory=in_memory)
    assert ds.channels == [1, 0] and ds.channel_names == ["EOG", "EEG Fpz-Cz"]
    assert ds.channel_name == "EOG,EEG Fpz-Cz" and ds.window_shape == (2, N_SAMPLES)
    xb, _ = ds.get_batch(np.array([150, 0]))  # store windows 250 and 0
    assert xb.shape == (2, 2, N_SAMPLES)
    np.testing.assert_array_equal(xb[:, :, 0].numpy(), [[2501.0, 2500.0], [1.0, 0.0]])
    x, _ = ds[150]
    assert x.shape == (2, N_SAMPLES) and float(x[0, 0]) == 2501.0


def test_a_channel_asked_twice_or_absent_is_refused(store_path):
    with pytest.raises(StoreError, match="name one channel of store .* twice"):
        WindowDataset(store_path, channel="EOG,1")
    with pytest.raises(StoreError, match="out of range"):
        WindowDataset(store_path, channel="0,2")
