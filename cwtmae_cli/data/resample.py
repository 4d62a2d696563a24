"""Resampling with an anti-aliasing polyphase filter (``scipy.signal.resample_poly``)."""

from __future__ import annotations

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
