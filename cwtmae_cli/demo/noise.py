"""Coloured noise for the generated recordings: band-limited bumps and 1/f backgrounds.

``direct=False`` filters white noise (``rfft`` of normal samples, shaped, ``irfft``): the stream the
first EEG of every generated night has always been drawn from. ``direct=True`` draws the complex
spectrum itself in float32 and makes one inverse transform (the same statistics at a fraction of
the cost), for the channels added later.
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def _shaped(n: int, rng: np.random.Generator, gain: np.ndarray, direct: bool) -> np.ndarray:
    """Unit-std noise of length n with amplitude spectrum ``gain`` ``(n // 2 + 1,)``."""
    if direct:  # float32 throughout: the EDF keeps 16 bits of it
        spectrum = np.empty(gain.size, dtype=np.complex64)
        spectrum.real = rng.standard_normal(gain.size, dtype=np.float32)
        spectrum.imag = rng.standard_normal(gain.size, dtype=np.float32)
        spectrum *= gain.astype(np.float32)
        x = scipy.fft.irfft(spectrum, n).astype(np.float64)
    else:
        x = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * gain, n)
    return x / (x.std() + 1e-12)


def band_noise(n: int, rng: np.random.Generator, center_hz: float, width_hz: float,
               fs_hz: float, direct: bool = False) -> np.ndarray:
    """Unit-std noise of length n whose spectrum is a Gaussian bump at center_hz."""
    freqs_hz = np.fft.rfftfreq(n, d=1.0 / fs_hz)
    return _shaped(n, rng, np.exp(-0.5 * ((freqs_hz - center_hz) / width_hz) ** 2), direct)


def pink_noise(n: int, rng: np.random.Generator, exponent: float, fs_hz: float,
               direct: bool = False) -> np.ndarray:
    """Unit-std 1/f^exponent noise of length n (above 0.3 Hz)."""
    freqs_hz = np.fft.rfftfreq(n, d=1.0 / fs_hz)
    return _shaped(n, rng, 1.0 / np.maximum(freqs_hz, 0.3) ** (exponent / 2), direct)
