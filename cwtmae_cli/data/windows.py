"""Cutting fixed-length windows and the per-window quality check."""

from __future__ import annotations

import numpy as np

from cwtmae_cli.errors import ConfigError


def window_samples(window_s: float, fs_hz: float) -> int:
    """Samples per window; ConfigError unless ``window_s * fs_hz`` is a whole number."""
    n = window_s * fs_hz
    if n < 1 or abs(n - round(n)) > 1e-6:
        raise ConfigError(
            f"window_s = {window_s:g} s at fs_hz = {fs_hz:g} Hz is not a whole number of samples"
        )
    return int(round(n))


def count_windows(n_total: int, n_samples: int, stride: int, first: int = 0) -> int:
    """Whole windows of ``n_samples`` every ``stride`` samples in ``n_total`` samples, the first
    starting at sample ``first``."""
    return max(0, (n_total - first - n_samples) // stride + 1)


def cut_windows(
    signal: np.ndarray,
    fs_hz: float,
    window_s: float,
    stride_s: float | None = None,
    start_s: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``signal`` ``(C, n)`` into windows of ``window_s`` every ``stride_s`` (default: no
    overlap), the first starting ``start_s`` after the first sample. Only whole windows.

    Returns ``windows`` float32 ``(W, C, L)`` and ``start_s`` float64 ``(W,)`` in seconds from
    the first sample.
    """
    n_samples = window_samples(window_s, fs_hz)
    stride = window_samples(stride_s if stride_s is not None else window_s, fs_hz)
    first = int(round(start_s * fs_hz))
    if first < 0:
        raise ValueError(f"start_s must be >= 0, got {start_s}")
    n_channels, n_total = signal.shape
    n_windows = count_windows(n_total, n_samples, stride, first)
    starts = first + np.arange(n_windows) * stride  # (W,) sample index of each start
    if n_windows == 0:  # (sliding_window_view refuses a signal shorter than one window)
        return np.zeros((0, n_channels, n_samples), dtype=np.float32), starts / fs_hz
    if stride == n_samples:
        block = signal[:, first : first + n_windows * n_samples]  # (C, W * L)
        windows = block.reshape(n_channels, n_windows, n_samples).transpose(1, 0, 2)  # (W, C, L)
    else:
        view = np.lib.stride_tricks.sliding_window_view(signal[:, first:], n_samples, axis=1)
        windows = view[:, ::stride][:, :n_windows].transpose(1, 0, 2)  # (W, C, L)
    return np.ascontiguousarray(windows, dtype=np.float32), starts / fs_hz


def quality_reasons(windows: np.ndarray, flat_ptp: float = 0.0) -> list[str | None]:
    """Per window ``(W, C, L)``: None when usable, else why not.

    ``"non-finite"``: a NaN or Inf sample in any channel. ``"flat"``: some channel's
    peak-to-peak range is ``<= flat_ptp`` (physical units) or, at the default 0, below 1e-6 of
    its largest magnitude (a disconnected lead stored as a constant).
    """
    finite = np.isfinite(windows).all(axis=(1, 2))  # (W,)
    safe = np.where(np.isfinite(windows), windows, 0.0)
    ptp = safe.max(axis=2) - safe.min(axis=2)  # (W, C)
    scale = np.maximum(np.abs(safe).max(axis=2), 1e-12)  # (W, C)
    flat = ((ptp <= flat_ptp) | (ptp <= 1e-6 * scale)).any(axis=1)  # (W,)
    return [
        None if ok and not f else ("non-finite" if not ok else "flat")
        for ok, f in zip(finite, flat, strict=True)
    ]
