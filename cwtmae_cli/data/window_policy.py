"""How a recording becomes windows: length, stride, and what happens at its end.

The plain policy (``cover = false``, every recipe's default) cuts whole windows of ``window_s``
every ``stride_s`` seconds from the first sample; a tail shorter than a window is not used and a
recording shorter than one window yields none.

The **covering** policy (``cover = true``, the ``cinc2017`` recipe) guarantees that every sample
lies in some window and that every recording yields at least one:

- when the stride grid leaves a tail, one more window is added that **ends at the last sample**
  (it overlaps the one before it more than the stride would);
- a recording **shorter than one window** becomes one window that starts at its first sample and
  is **padded at its end with the recording's median** (its baseline). After the model's
  per-window z-score the pad is a flat stretch at zero: it adds no beat and no beat-to-beat
  interval. Reflecting or repeating the signal instead would join two beats at a seam and make
  an irregular RR interval, the very feature an AF classifier looks for. The number of padded
  samples is kept per recording.

The policy is stored in the store's attributes (``window_policy``), copied into every checkpoint's
preprocessing, and ``predict`` applies it to new files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cwtmae_cli.data.windows import window_samples

PAD_RULE = "end, recording median"


@dataclass(frozen=True)
class WindowPolicy:
    """``window_s`` long windows every ``stride_s`` seconds; ``cover``: see the module doc."""

    window_s: float
    stride_s: float
    cover: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form kept in store attributes and checkpoint meta."""
        return {
            "window_s": self.window_s,
            "stride_s": self.stride_s,
            "cover": self.cover,
            "short_recordings": f"padded ({PAD_RULE})" if self.cover else "dropped",
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, window_s: float) -> WindowPolicy:
        """The policy ``data`` describes; the plain one of ``window_s`` for None (stores and
        checkpoints written before policies were recorded)."""
        if not data:
            return cls(float(window_s), float(window_s), False)
        return cls(float(data["window_s"]), float(data["stride_s"]), bool(data.get("cover")))


def window_starts(n_total: int, n_window: int, n_stride: int, cover: bool) -> np.ndarray:
    """Start sample of each window ``(W,)`` int64 over a signal of ``n_total`` samples."""
    if n_total >= n_window:
        starts = np.arange(0, n_total - n_window + 1, n_stride, dtype=np.int64)  # (W,)
        if cover and starts[-1] + n_window < n_total:
            starts = np.append(starts, n_total - n_window)  # one more, ending at the last sample
        return starts
    if cover and n_total > 0:
        return np.zeros(1, dtype=np.int64)  # the one padded window
    return np.zeros(0, dtype=np.int64)


def cut_policy_windows(
    signal: np.ndarray, fs_hz: float, policy: WindowPolicy
) -> tuple[np.ndarray, np.ndarray, int]:
    """Windows of ``signal`` ``(C, n)`` under ``policy``.

    Returns ``windows`` float32 ``(W, C, L)``, ``start_s`` float64 ``(W,)`` (seconds from the
    first sample) and the number of padded samples (non-zero only for a recording shorter than
    one window under the covering policy).
    """
    n_window = window_samples(policy.window_s, fs_hz)
    n_stride = window_samples(policy.stride_s, fs_hz)
    n_channels, n_total = signal.shape
    starts = window_starts(n_total, n_window, n_stride, policy.cover)  # (W,)
    n_pad = max(0, n_window - n_total) if len(starts) else 0
    if n_pad:
        baseline = [
            np.median(row[np.isfinite(row)]) if np.isfinite(row).any() else 0.0 for row in signal
        ]  # (C,) each channel's median, 0 when it has no number
        pad = np.repeat(np.asarray(baseline, dtype=signal.dtype)[:, None], n_pad, axis=1)  # (C, p)
        signal = np.concatenate([signal, pad], axis=1)  # (C, L)
    index = starts[:, None] + np.arange(n_window)[None, :]  # (W, L)
    windows = signal[:, index].transpose(1, 0, 2)  # (C, W, L) -> (W, C, L)
    return np.ascontiguousarray(windows, dtype=np.float32), starts / fs_hz, int(n_pad)
