"""Window policies: the plain grid, and the covering one (end window, padded short recording)."""

from __future__ import annotations

import numpy as np
import pytest

from cwtmae_cli.data.window_policy import WindowPolicy, cut_policy_windows, window_starts
from cwtmae_cli.data.windows import cut_windows


@pytest.mark.parametrize(
    ("n_total", "cover", "expected"),
    [
        (10, False, [0, 2, 4, 6]),  # the grid ends exactly at the last sample
        (10, True, [0, 2, 4, 6]),  # nothing to add
        (11, False, [0, 2, 4, 6]),  # sample 10 lies in no window
        (11, True, [0, 2, 4, 6, 7]),  # one more window, ending at the last sample
        (4, True, [0]),
        (3, False, []),  # shorter than one window: none
        (3, True, [0]),  # ... or the one padded window
        (0, True, []),
    ],
)
def test_window_starts(n_total, cover, expected):
    assert window_starts(n_total, 4, 2, cover).tolist() == expected


def test_plain_policy_is_the_old_grid():
    signal = np.random.default_rng(0).normal(size=(2, 47)).astype(np.float32)
    windows, start_s, n_pad = cut_policy_windows(signal, 2.0, WindowPolicy(5.0, 1.5))
    old, old_start_s = cut_windows(signal, 2.0, 5.0, 1.5)
    np.testing.assert_array_equal(windows, old)
    np.testing.assert_array_equal(start_s, old_start_s)
    assert n_pad == 0


def test_covering_policy_end_window_and_median_padding():
    signal = np.arange(13, dtype=np.float32)[None, :]  # (1, 13) at 1 Hz
    windows, start_s, n_pad = cut_policy_windows(signal, 1.0, WindowPolicy(5.0, 4.0, True))
    assert start_s.tolist() == [0.0, 4.0, 8.0] and n_pad == 0  # 8 + 5 = 13: the grid covers it
    windows, start_s, n_pad = cut_policy_windows(signal[:, :12], 1.0, WindowPolicy(5, 4, True))
    assert start_s.tolist() == [0.0, 4.0, 7.0]
    np.testing.assert_array_equal(windows[-1, 0], [7, 8, 9, 10, 11])
    short = np.array([[3.0, 9.0, 1.0], [np.nan, 2.0, 4.0]], dtype=np.float32)  # (2, 3)
    windows, start_s, n_pad = cut_policy_windows(short, 1.0, WindowPolicy(5.0, 5.0, True))
    assert windows.shape == (1, 2, 5) and start_s.tolist() == [0.0] and n_pad == 2
    np.testing.assert_array_equal(windows[0, 0], [3, 9, 1, 3, 3])  # median of 3, 9, 1
    np.testing.assert_array_equal(windows[0, 1], [np.nan, 2, 4, 3, 3])  # median of the numbers


def test_policy_round_trip_and_default_for_old_stores():
    policy = WindowPolicy(10.0, 5.0, True)
    assert WindowPolicy.from_dict(policy.to_dict(), 30.0) == policy
    assert policy.to_dict()["short_recordings"].startswith("padded")
    assert WindowPolicy.from_dict(None, 30.0) == WindowPolicy(30.0, 30.0, False)
