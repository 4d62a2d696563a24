"""Mean and standard deviation of a view's Ricker scalogram, from the view alone.

The encoder z-scores each (sample, view) over all ``S x L`` coefficients
``y_s[t] = sum_tau psi_s(tau) u[t - tau]``, ``t = 0 .. L-1`` ("same" alignment). Both moments
follow from the view ``u (L,)`` without the ``(S, L)`` coefficients:

* the **sum** is linear: ``sum_s sum_t y_s[t] = u . w`` with
  ``w[j] = sum_s sum_{t=0}^{L-1} psi_s(t - j)``, a fixed weight per (L, scales);
* the **energy** ``sum_s sum_{t<L} y_s[t]^2`` is a quadratic form. Parseval gives the energy of
  the *full* linear convolution (outputs ``-h .. L-1+h``, ``h = (n - 1) / 2``) as
  ``(1/N) sum_f |U(f)|^2 sum_s |Psi_s(f)|^2`` for an FFT length ``N >= L + 2h``; the "same" crop
  drops ``h`` outputs at each end, and those edge outputs depend only on the first (last) ``h``
  samples of ``u``, so their energy is ``a^T A a + b^T A b`` with ``a = u[:h]``,
  ``b = u[L-h:]`` reversed (the kernels are even) and ``A`` an ``h x h`` matrix of the kernels.

Plain Parseval at the CWT's own FFT length ``M`` would not be exact: ``cwt_wrap`` needs only
``M >= L + h`` (3360 for L = 3000, n = 631), so both edges land in the ``M - L`` discarded samples
and overlap there (``M < L + 2h``); the energy of those samples is the energy of their *sum*, not
of the two edges. With ``N >= L + 2h`` the edges are apart and the subtraction is exact.
Everything here runs in float64 (``B x views`` rows, cheap); the results match the moments of the
materialised float64 scalogram to about 1e-15.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from cwtmae_cli.model.cwt import fast_fft_length, ricker_kernel_length, ricker_kernels


@dataclass(frozen=True)
class MomentTables:
    """Per (L, scales, FFT length, device) constants, float64 (float32 on MPS).

    ``sum_weight (L,)``: ``w`` above; ``power (N // 2 + 1,)``: ``sum_s |Psi_s(f)|^2`` times the
    rfft bin's multiplicity over ``N``; ``edge (h, h)``: ``A`` above; ``count = S * L``.
    """

    sum_weight: torch.Tensor
    power: torch.Tensor
    edge: torch.Tensor
    fft_len: int
    count: int


def moment_fft_length(n_samples: int, num_scales: int, lowest_scale: float = 0.1,
                      step: float = 1.0, multiple_of: int = 1) -> int:
    """Smallest fast even FFT length ``>= L + 2h`` that is a multiple of ``multiple_of``."""
    n = ricker_kernel_length(num_scales, n_samples, lowest_scale, step)
    return fast_fft_length(n_samples + n - 1, multiple_of)


def moment_tables(n_samples: int, num_scales: int, lowest_scale: float, step: float,
                  fft_len: int, device: torch.device) -> MomentTables:
    """Cached :class:`MomentTables`; ``fft_len`` must be ``>= L + 2h``."""
    return _moment_tables(int(n_samples), int(num_scales), float(lowest_scale), float(step),
                          int(fft_len), torch.device(device))


@lru_cache(maxsize=16)
def _moment_tables(n_samples: int, num_scales: int, lowest_scale: float, step: float,
                   fft_len: int, device: torch.device) -> MomentTables:
    kernels = ricker_kernels(num_scales, n_samples, lowest_scale, step)  # (S, n), float64
    n = kernels.shape[1]
    half = (n - 1) // 2
    if fft_len < n_samples + n - 1:
        raise ValueError(f"moment FFT length {fft_len} < L + n - 1 = {n_samples + n - 1}")
    # sum weight: w[j] = sum over tau in [-j, L-1-j] (and in [-h, h]) of sum_s psi_s(tau)
    cumulative = np.concatenate([[0.0], np.cumsum(kernels.sum(axis=0))])  # (n + 1,)
    j = np.arange(n_samples)
    lo = np.clip(half - j, 0, n)  # kernel index of tau = -j
    hi = np.clip(n_samples - 1 - j + half + 1, 0, n)  # one past tau = L-1-j
    sum_weight = cumulative[hi] - cumulative[lo]  # (L,)
    # Parseval weight of the full linear convolution (kernel placement does not matter for |.|)
    spectra = np.fft.rfft(kernels, n=fft_len, axis=-1)  # (S, F)
    power = (spectra.real**2 + spectra.imag**2).sum(axis=0)  # (F,)
    multiplicity = np.full(power.shape, 2.0)
    multiplicity[0] = 1.0
    if fft_len % 2 == 0:
        multiplicity[-1] = 1.0
    power = power * multiplicity / fft_len
    edge = _edge_matrix(kernels, half)  # (h, h)
    wide = torch.float32 if device.type == "mps" else torch.float64

    def put(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(device=device, dtype=wide)

    return MomentTables(put(sum_weight), put(power), put(edge), fft_len, num_scales * n_samples)


def _edge_matrix(kernels: np.ndarray, half: int) -> np.ndarray:
    """``A = sum_s T_s^T T_s``: ``T_s[e, j] = psi_s(e - h - j)`` maps ``u[:h]`` to the ``h``
    outputs ``t = -h .. -1`` left of the window (lower-triangular Toeplitz, kernel index e - j)."""
    num_scales = kernels.shape[0]
    e = np.arange(half)[:, None]
    j = np.arange(half)[None, :]
    index = e - j  # (h, h) kernel index, valid where >= 0
    toeplitz = np.where(index >= 0, kernels[:, np.clip(index, 0, None)], 0.0)  # (S, h, h)
    stacked = toeplitz.reshape(num_scales * half, half)  # (S h, h)
    return stacked.T @ stacked  # (h, h)


def view_moments(views: torch.Tensor, spectrum: torch.Tensor, tables: MomentTables
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and population variance of each view's scalogram, ``(..., )`` each.

    Args:
        views: ``(..., L)`` real views, float64 (float32 on MPS).
        spectrum: ``torch.fft.rfft(views, n=tables.fft_len)``, ``(..., N // 2 + 1)``.
        tables: from :func:`moment_tables` for this ``L``, these scales and ``N``.
    """
    n_samples = views.shape[-1]
    half = tables.edge.shape[0]
    mean = views @ tables.sum_weight / tables.count  # (...)
    full = (spectrum.real.square() + spectrum.imag.square()) @ tables.power  # (...)
    head = views[..., :half]  # (..., h)
    tail = views[..., n_samples - half:].flip(-1)  # (..., h), nearest the end first
    edges = ((head @ tables.edge) * head).sum(-1) + ((tail @ tables.edge) * tail).sum(-1)
    variance = ((full - edges) / tables.count - mean.square()).clamp_min(0.0)
    return mean, variance
