"""Neighbourhoods of windows: same recording only, exact strides, gaps and edges missing."""

from __future__ import annotations

import numpy as np
import torch

from cwtmae_cli.data.context import MISSING, ContextWindows, narrow, neighbour_table, onset_samples

M = MISSING


def test_edges_and_a_gap_are_missing_not_bridged() -> None:
    # one recording, windows at 0, 30, 60, then a dropped window (90), then 120, 150
    onset = onset_samples(np.array([0.0, 30.0, 60.0, 120.0, 150.0]), fs_hz=100)
    table = neighbour_table(np.zeros(5), onset, context=5, stride=3000)
    assert table.tolist() == [
        [M, M, 0, 1, 2],
        [M, 0, 1, 2, M],  # 90 s is missing: the window at 120 s is not its +2 neighbour
        [0, 1, 2, M, 3],
        [2, M, 3, 4, M],
        [M, 3, 4, M, M],
    ]


def test_windows_of_another_recording_never_enter_the_context() -> None:
    # two recordings with the same onsets, interleaved in the arrays
    recording = np.array([0, 1, 0, 1, 0, 1])
    onset = np.array([0, 0, 10, 10, 20, 20])
    table = neighbour_table(recording, onset, context=3, stride=10)
    assert table.tolist() == [[M, 0, 2], [M, 1, 3], [0, 2, 4], [1, 3, 5], [2, 4, M], [3, 5, M]]
    # and a recording that ends where the next begins in onset terms is not continued
    table = neighbour_table(np.array([0, 0, 1, 1]), np.array([0, 10, 20, 30]), 3, 10)
    assert table[1].tolist() == [0, 1, M] and table[2].tolist() == [M, 2, 3]


def test_unsorted_input_and_k1() -> None:
    onset = np.array([20, 0, 10])
    table = neighbour_table(np.zeros(3), onset, context=3, stride=10)
    assert table.tolist() == [[2, 0, M], [M, 1, 2], [1, 2, 0]]
    assert neighbour_table(np.zeros(3), onset, 1, 10).tolist() == [[0], [1], [2]]


def test_narrow_masks_the_outer_neighbours() -> None:
    table = neighbour_table(np.zeros(5), np.arange(5) * 10, context=5, stride=10)
    assert narrow(table, 3)[2].tolist() == [M, 1, 2, 3, M]
    assert narrow(table, 1)[2].tolist() == [M, M, 2, M, M]


class _Windows:
    """Four windows of one recording whose samples equal their position; window 2 dropped."""

    fs_hz, n_samples = 10.0, 4
    labels = np.array([5, 6, 7])
    recording = np.zeros(3, dtype=np.int64)
    start_s = np.array([0.0, 0.4, 1.2])  # stride 0.4 s; 0.8 s is missing

    def __len__(self) -> int:
        return 3

    def get_batch(self, positions):
        positions = np.asarray(positions)
        x = np.repeat(positions[:, None].astype(np.float32), self.n_samples, axis=1)
        return torch.from_numpy(x), torch.from_numpy(self.labels[positions])


def test_context_windows_batch_marks_missing_neighbours_as_nan() -> None:
    data = ContextWindows(_Windows(), context=3, stride_s=0.4)
    x, y = data.get_batch(np.array([1, 2]))
    assert x.shape == (2, 3, 1, 4) and y.tolist() == [6, 7]
    assert x[0, :2, 0, 0].tolist() == [0.0, 1.0]
    assert torch.isnan(x[0, 2]).all() and torch.isnan(x[1, 0]).all() and torch.isnan(x[1, 2]).all()
    assert x[1, 1, 0].tolist() == [2.0] * 4
    assert len(data) == 3 and data.n_samples == 4  # the rest is the wrapped dataset's
