"""Resampling with an anti-aliasing polyphase filter (``scipy.signal.resample_poly``)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np

from cwtmae_cli.errors import DataError


def resample_ratio(fs_in_hz: float, fs_out_hz: float) -> tuple[int, int]:
    """``(up, down)`` with ``fs_in * up / down == fs_out`` (e.g. 360 -> 100 Hz: 5, 18)."""
    ratio = Fraction(fs_out_hz / fs_in_hz).limit_denominator(10_000)
    if abs(float(ratio) * fs_in_hz - fs_out_hz) > 1e-6 * fs_out_hz:
        raise DataError(f"cannot resample {fs_in_hz:g} Hz to {fs_out_hz:g} Hz by a rational ratio")
    return ratio.numerator, ratio.denominator


def resample(signal: np.ndarray, fs_in_hz: float, fs_out_hz: float) -> np.ndarray:
    """Resample ``signal`` ``(C, n)`` from ``fs_in_hz`` to ``fs_out_hz``: ``(C, m)`` float32,
    ``m = ceil(n * fs_out / fs_in)``.

    The polyphase FIR (Kaiser window) removes content above the new Nyquist frequency before
    decimating, so downsampling 360 -> 100 Hz does not alias 50-180 Hz noise into the band.
    """
    from scipy.signal import resample_poly

    signal = np.asarray(signal, dtype=np.float32)
    if fs_in_hz == fs_out_hz:
        return signal.copy()
    up, down = resample_ratio(fs_in_hz, fs_out_hz)
    out = resample_poly(signal, up, down, axis=-1)  # (C, ceil(n * up / down))
    return np.ascontiguousarray(out, dtype=np.float32)


def resampled_length(n_in: int, fs_in_hz: float, fs_out_hz: float) -> int:
    """Samples :func:`resample` makes from ``n_in``: ``ceil(n_in * up / down)``."""
    up, down = resample_ratio(fs_in_hz, fs_out_hz)
    return -(-n_in * up // down)


def resample_range(
    read: Callable[[int, int], np.ndarray],
    n_in: int,
    fs_in_hz: float,
    fs_out_hz: float,
    start: int,
    stop: int,
) -> np.ndarray:
    """Output samples ``[start, stop)`` of ``resample(read(0, n_in), ...)``, ``(C, stop - start)``
    float32, computed from the input samples around them only (``read(a, b)`` gives input
    samples ``[a, b)``), so a long recording can be resampled block by block.

    The input block starts and ends on multiples of ``down`` (so its outputs fall on the same
    polyphase grid as the whole signal's) and carries a margin wider than the filter on both
    sides: every output it returns is computed from the same inputs, in the same order, as in
    the whole signal, hence equal to it bit for bit.
    """
    from scipy.signal import resample_poly

    up, down = resample_ratio(fs_in_hz, fs_out_hz)
    if up == down == 1:
        return np.asarray(read(start, stop), dtype=np.float32)
    support = 10 * max(up, down) // up + 2  # input samples the FIR reaches on each side
    margin = (-(-support // down) + 1) * down
    first_q, last_q = start // up, -(-stop // up)  # input blocks of `down` samples
    lo = max(0, first_q * down - margin)
    hi = min(n_in, last_q * down + margin)
    block = np.asarray(read(lo, hi), dtype=np.float32)  # (C, hi - lo)
    out = resample_poly(block, up, down, axis=-1)  # (C, ceil((hi - lo) * up / down))
    offset = (lo // down) * up  # output index of the block's first sample
    return np.ascontiguousarray(out[:, start - offset : stop - offset], dtype=np.float32)
