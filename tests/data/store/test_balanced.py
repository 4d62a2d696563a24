"""Class-balanced training order (``finetune --balanced-sampling [--balance-power P]``)."""

from __future__ import annotations

import numpy as np
import pytest

from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.data.store.balanced import balanced_order
from cwtmae_cli.data.store.loader import ChunkShuffleSampler, WindowDataset

SKEWED = np.repeat([0, 1, 2], [900, 90, 10])  # 90 %, 9 %, 1 %


def shares(order: np.ndarray, labels: np.ndarray, classes) -> np.ndarray:
    return np.array([(labels[order] == k).mean() for k in classes])


def test_every_class_is_drawn_equally_often_whatever_its_share():
    order = balanced_order(SKEWED, 30_000, np.random.default_rng(0))
    assert order.shape == (30_000,) and order.min() >= 0 and order.max() < len(SKEWED)
    np.testing.assert_allclose(shares(order, SKEWED, [0, 1, 2]), 1 / 3, atol=0.015)
    # within a class the windows are drawn alike: the 10 rare windows all come up, about evenly
    rare = np.bincount(order[SKEWED[order] == 2], minlength=1000)[990:]
    assert rare.min() > 0.7 * rare.mean()


def test_power_one_half_draws_classes_in_proportion_to_the_square_root_of_their_sizes():
    order = balanced_order(SKEWED, 60_000, np.random.default_rng(2), power=0.5)
    root = np.sqrt([900, 90, 10])
    np.testing.assert_allclose(shares(order, SKEWED, [0, 1, 2]), root / root.sum(), atol=0.01)
    # equal shares at the default power, as before
    np.testing.assert_allclose(
        shares(balanced_order(SKEWED, 30_000, np.random.default_rng(2), power=1.0), SKEWED,
               [0, 1, 2]), 1 / 3, atol=0.015)


@pytest.mark.parametrize("power", [0.0, -1.0, 1.5])
def test_a_power_outside_zero_one_is_refused(power):
    with pytest.raises(ValueError, match=r"power must be in \(0, 1\]"):
        balanced_order(SKEWED, 10, np.random.default_rng(0), power=power)


def test_class_codes_need_not_be_contiguous():
    labels = np.repeat([0, 3], [95, 5])  # classes 1 and 2 absent from this train split
    order = balanced_order(labels, 20_000, np.random.default_rng(1))
    np.testing.assert_allclose(shares(order, labels, [0, 3]), 0.5, atol=0.015)


def test_unlabelled_windows_are_refused():
    with pytest.raises(ValueError, match="label >= 0"):
        balanced_order(np.array([0, 1, -1]), 10, np.random.default_rng(0))


@pytest.fixture
def skewed_dataset(tmp_path) -> WindowDataset:
    n = len(SKEWED)  # 20 recordings of 50 windows, all in train
    signals = np.random.default_rng(0).standard_normal((n, 1, 40)).astype(np.float32)
    path = write_store_from_arrays(
        tmp_path / "s.zarr", signals, SKEWED, np.repeat(np.arange(20), 50),
        np.tile(np.arange(50) * 0.4, 20), fs_hz=100, window_s=0.4, channels=["EEG Fpz-Cz"],
        label_names=["a", "b", "c"], subjects=[f"s{i}" for i in range(20)],
        split=np.zeros(n, dtype=np.int64),
    )
    return WindowDataset(path, splits=(0,), labelled_only=True)


def test_the_sampler_draws_balanced_epochs_that_replay_and_differ(skewed_dataset):
    labels = np.asarray(skewed_dataset.labels)
    sampler = ChunkShuffleSampler(skewed_dataset, seed=3, class_labels=labels)
    plain = ChunkShuffleSampler(skewed_dataset, seed=3)
    first = sampler.global_order()
    assert len(first) == len(skewed_dataset)  # an epoch keeps the training set's length
    np.testing.assert_array_equal(first, sampler.global_order())  # (seed, epoch) replays it
    sampler.set_epoch(1)
    assert not np.array_equal(first, sampler.global_order())
    np.testing.assert_allclose(shares(first, labels, [0, 1, 2]), 1 / 3, atol=0.06)
    assert shares(plain.global_order(), labels, [0])[0] == pytest.approx(0.9)
    root = ChunkShuffleSampler(skewed_dataset, seed=3, class_labels=labels, balance_power=0.5)
    draws = np.concatenate([root.global_order() for root.epoch in range(30)])
    expected = np.sqrt([900, 90, 10]) / np.sqrt([900, 90, 10]).sum()
    np.testing.assert_allclose(shares(draws, labels, [0, 1, 2]), expected, atol=0.01)
