"""Neighbourhoods of windows within their recording, for the context classifier.

The neighbour ``k`` places after a window is the window of the **same recording** whose onset is
exactly ``k`` strides later (onsets compared in whole samples). A neighbour that is not there (the
recording's edge, a window dropped by quality control or left unlabelled, another split) is
missing: a gap is never bridged by the next window that happens to exist.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

MISSING = -1


def onset_samples(start_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Window onsets in whole samples, (N,) int64."""
    return np.rint(np.asarray(start_s, dtype=np.float64) * float(fs_hz)).astype(np.int64)


def neighbour_table(recording: np.ndarray, onset: np.ndarray, context: int,
                    stride: int) -> np.ndarray:
    """Positions of the ``context`` windows centred on each window.

    Args:
        recording: (N,) recording id of each window.
        onset: (N,) onset of each window in samples (any order).
        context: K, odd.
        stride: samples between neighbours (> 0).

    Returns:
        (N, K) int64: column ``K // 2 + k`` holds the position of the window ``k`` strides from
        row ``i``'s (column ``K // 2`` is ``i`` itself), ``MISSING`` where there is none.
    """
    recording = np.asarray(recording, dtype=np.int64)
    onset = np.asarray(onset, dtype=np.int64)
    n, half = len(onset), context // 2
    table = np.full((n, context), MISSING, dtype=np.int64)
    if n == 0:
        return table
    # one sortable key per window: a recording's keys lie in their own band, wide enough that
    # no offset of up to ``half`` strides reaches the next recording's band
    pad = half * stride
    low = int(onset.min()) - pad
    band = int(onset.max()) - low + pad + 1
    rec_code = np.unique(recording, return_inverse=True)[1].astype(np.int64)
    keys = rec_code * band + (onset - low)  # (N,)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    for k in range(-half, half + 1):
        wanted = keys + k * stride  # (N,)
        at = np.clip(np.searchsorted(sorted_keys, wanted), 0, n - 1)
        found = sorted_keys[at] == wanted
        table[found, half + k] = order[at[found]]
    table[:, half] = np.arange(n)  # a duplicate onset still sees itself in the middle
    return table


def narrow(table: np.ndarray, context: int) -> np.ndarray:
    """``table`` (N, K) with the neighbours beyond ``context // 2`` strides marked missing."""
    half, keep = table.shape[1] // 2, context // 2
    out = table.copy()
    out[:, : half - keep] = MISSING
    out[:, half + keep + 1 :] = MISSING
    return out


class ContextWindows:
    """A window dataset seen as K-window neighbourhoods (the training form of context).

    ``get_batch(positions) -> (x, y)``: ``x`` (B, K, C, L) float32 with a missing neighbour as a
    window of NaN (the per-window z-score keeps it NaN; the model reads it as missing), ``y`` the
    centre windows' labels (B,). Everything else (labels, recording, chunk_groups, ...) is the
    wrapped dataset's, so samplers and checkpoint metadata see the same windows.
    """

    def __init__(self, windows: Any, context: int, stride_s: float) -> None:
        self.windows = windows
        self.context = context
        stride = int(round(stride_s * windows.fs_hz))
        self.neighbours = neighbour_table(windows.recording,
                                          onset_samples(windows.start_s, windows.fs_hz),
                                          context, stride)  # (N, K)

    def __len__(self) -> int:
        return len(self.windows)

    def __getattr__(self, name: str) -> Any:
        if name == "windows":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.windows, name)

    def get_batch(self, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        rows = self.neighbours[np.asarray(positions, dtype=np.int64)]  # (B, K)
        present = rows != MISSING
        found, _ = self.windows.get_batch(rows[present])  # (M, L) or (M, C, L)
        found = found.reshape(len(found), -1, found.shape[-1])  # (M, C, L)
        x = torch.full((*rows.shape, *found.shape[1:]), float("nan"))  # (B, K, C, L)
        x[torch.from_numpy(present)] = found
        y = torch.from_numpy(np.asarray(self.windows.labels)[rows[:, self.context // 2]].copy())
        return x, y


def window_stride_s(windows: Any) -> float:
    """Seconds between consecutive windows of a store's recordings (its window policy)."""
    from cwtmae_cli.data.window_policy import WindowPolicy

    policy = WindowPolicy.from_dict(getattr(windows, "window_policy", None), windows.window_s)
    return float(policy.stride_s)


def with_context(windows: Any, context: int) -> Any:
    """``windows`` itself for ``context`` 1, else its :class:`ContextWindows` at its stride."""
    return windows if context == 1 else ContextWindows(windows, context, window_stride_s(windows))
