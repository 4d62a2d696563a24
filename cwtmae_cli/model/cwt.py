"""The three signal views and their Ricker (Mexican-hat) continuous wavelet transform.

``cwt_wrap`` turns a batch of windows ``(B, L)`` into a 3-channel scalogram ``(B, 3, S, L)``: the
views ``[x, d1, d2]`` each convolved with Ricker wavelets at scales ``s_k = lowest + k * step``.
The convolution is done as one batched ``rfft -> multiply -> irfft`` with the wavelet spectra cached
per (length, scales, device). Zero padding to a length ``M >= L + (n - 1) / 2`` makes the circular
convolution equal the zero-padded linear one on every output sample, so the result matches a direct
"same" convolution of the truncated kernels (the seed's method) to float32 round-off.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from cwtmae_cli.model.eager import eager_under_compile

STD_FLOOR = 1e-5
CHUNK_BYTES = 24 << 20  # CPU product buffer; glibc reuses heap blocks below 32 MiB


def ricker_kernel_length(num_scales: int, n_samples: int, lowest_scale: float = 0.1,
                         step: float = 1.0) -> int:
    """Odd kernel length ``n = min(10 * s_max, L)`` rounded up to odd (the seed's truncation)."""
    s_max = lowest_scale + step * (num_scales - 1)
    n = math.ceil(min(10.0 * s_max, float(n_samples)) - 1e-9)  # 10 * 63.1 is 631.0000000000001
    return n if n % 2 == 1 else n + 1


def ricker_kernels(num_scales: int, n_samples: int, lowest_scale: float = 0.1,
                   step: float = 1.0) -> np.ndarray:
    """Truncated Ricker kernels in float64, ``(S, n)`` with ``n`` odd, centred on index ``n // 2``.

    ``psi_s(t) = A (1 - t^2 / s^2) exp(-t^2 / (2 s^2))`` with ``A = 2 / (sqrt(3 s) pi^(1/4))``.
    """
    n = ricker_kernel_length(num_scales, n_samples, lowest_scale, step)
    t = np.arange(n, dtype=np.float64) - (n - 1) / 2  # (n,) integer grid centred on 0
    scales = lowest_scale + step * np.arange(num_scales, dtype=np.float64)  # (S,)
    s = scales[:, None]  # (S, 1)
    amp = 2.0 / (np.sqrt(3.0 * s) * np.pi**0.25)
    return amp * (1.0 - t**2 / s**2) * np.exp(-(t**2) / (2.0 * s**2))  # (S, n)


@lru_cache(maxsize=64)  # pure; called for every batch of every recording (about 1 ms a call)
def fast_fft_length(min_length: int, multiple_of: int = 1) -> int:
    """Smallest even ``m >= min_length`` that is ``multiple_of`` times a 2^a 3^b 5^c 7^d.

    Even lengths matter: MKL's real FFT is about 3x slower on odd sizes (3375 vs 3360). With the
    default ``multiple_of = 1`` this is the smallest even 7-smooth length.
    """
    limit = 2 * (-(-min_length // multiple_of)) + 2  # a power of two always fits below it
    best = None
    for q in _smooth_numbers(limit):
        m = multiple_of * q
        if m >= min_length and m % 2 == 0 and (best is None or m < best):
            best = m
    return best if best is not None else 2 * multiple_of * limit


def _smooth_numbers(limit: int) -> list[int]:
    """All 2^a 3^b 5^c 7^d <= limit."""
    numbers = [1]
    for prime in (2, 3, 5, 7):
        numbers = [n * prime**k for n in numbers for k in range(64) if n * prime**k <= limit]
    return numbers


@eager_under_compile  # a cache lookup: torch.compile must call it, not trace it
def wavelet_spectra(n_samples: int, num_scales: int, lowest_scale: float, step: float,
                    device: torch.device) -> tuple[torch.Tensor, int]:
    """Spectra of the circularly centred kernels, complex64 ``(S, M // 2 + 1)``, and ``M``."""
    return _wavelet_spectra(n_samples, num_scales, lowest_scale, step, device)


@lru_cache(maxsize=32)
def _wavelet_spectra(n_samples: int, num_scales: int, lowest_scale: float, step: float,
                     device: torch.device) -> tuple[torch.Tensor, int]:
    """Computed once per (length, scales, device): kernel spectra in float64, kept complex64."""
    half = (ricker_kernel_length(num_scales, n_samples, lowest_scale, step) - 1) // 2
    fft_len = fast_fft_length(n_samples + half)
    spectra = centred_kernel_spectra(num_scales, n_samples, lowest_scale, step, fft_len)
    return torch.from_numpy(spectra[:, : fft_len // 2 + 1].astype(np.complex64)).to(device), fft_len


def centred_kernel_spectra(num_scales: int, n_samples: int, lowest_scale: float, step: float,
                           fft_len: int) -> np.ndarray:
    """Full float64 DFT ``(S, fft_len)`` of the kernels placed circularly around index 0.

    Multiplying a view's spectrum by it and inverting gives the "same" convolution on samples
    ``0 .. L-1`` whenever ``fft_len >= L + h``. The kernels are even, so the spectra are real up
    to round-off.
    """
    kernels = ricker_kernels(num_scales, n_samples, lowest_scale, step)  # (S, n)
    half = (kernels.shape[1] - 1) // 2
    circular = np.zeros((num_scales, fft_len), dtype=np.float64)  # (S, M)
    circular[:, : half + 1] = kernels[:, half:]  # t = 0 .. half at indices 0 .. half
    circular[:, fft_len - half:] = kernels[:, :half]  # t = -half .. -1 wrap to the end
    return np.fft.fft(circular, axis=-1)  # (S, M)


def signal_views(x: torch.Tensor) -> torch.Tensor:
    """``[x, d1, d2]`` of windows ``x (B, L)`` as ``(B, 3, L)``.

    ``d1[0] = 0, d1[i] = x[i] - x[i-1]`` (backward difference); ``d2[i] = x[i+1] - 2 x[i] + x[i-1]``
    with replicate padding at both ends.
    """
    d1 = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], dim=1)  # (B, L)
    padded = F.pad(x[:, None, :], (1, 1), mode="replicate")[:, 0]  # (B, L + 2)
    d2 = padded[:, 2:] - 2.0 * x + padded[:, :-2]  # (B, L)
    return torch.stack([x, d1, d2], dim=1)  # (B, 3, L)


def window_rows(x: torch.Tensor, name: str = "cwt_wrap") -> torch.Tensor:
    """``(B, L)`` or ``(B, 1, L)`` windows as ``(B, L)``; ValueError for another shape."""
    if x.dim() == 3 and x.shape[1] == 1:
        x = x[:, 0]  # (B, L)
    if x.dim() != 2:
        raise ValueError(f"{name} expects (B, L) or (B, 1, L), got shape {tuple(x.shape)}")
    return x


def wide_dtype(device: torch.device) -> torch.dtype:
    """float64 for the views and their forward FFT (float32 on MPS, which has no float64)."""
    return torch.float32 if device.type == "mps" else torch.float64


@eager_under_compile
def cwt_wrap(x: torch.Tensor, num_scales: int = 64, lowest_scale: float = 0.1,
             step: float = 1.0) -> torch.Tensor:
    """Raw Ricker CWT coefficients of the three views, float32 ``(B, 3, S, L)``.

    ``x`` is ``(B, L)`` or ``(B, 1, L)``. Runs on ``x``'s device in float32 even under autocast.
    Always eager: ``torch.compile`` leaves it out of the graph (complex FFTs break graphs and
    the cached wavelet spectra are state), so one clean break replaces the FFT's several.
    """
    x = window_rows(x)
    n_samples = x.shape[-1]
    # Views and their forward FFT in float64 (cheap: B x 3 rows) so that every frequency bin is
    # right to float32 precision; then the per-scale product and inverse FFT in float32.
    with torch.autocast(device_type=x.device.type, enabled=False):
        spectra, fft_len = wavelet_spectra(n_samples, int(num_scales), float(lowest_scale),
                                            float(step), x.device)
        views_f = torch.fft.rfft(signal_views(x.to(wide_dtype(x.device))), n=fft_len, dim=-1)
        return synthesize(views_f.to(torch.complex64), spectra, fft_len, n_samples,
                          differentiable=torch.is_grad_enabled() and x.requires_grad)


def synthesize(views_f: torch.Tensor, spectra: torch.Tensor, fft_len: int, n_samples: int,
               dc_shift: torch.Tensor | None = None, differentiable: bool = False
               ) -> torch.Tensor:
    """``irfft(views_f x spectra)`` cropped to ``L``: float32 ``(B, 3, S, L)``.

    Args:
        views_f: ``(B, 3, F)`` complex64 spectra of the views at length ``fft_len``.
        spectra: ``(S, F)`` complex64 wavelet spectra (:func:`wavelet_spectra`).
        dc_shift: ``(B, 3)`` float32 subtracted from every coefficient of that sample and
            view (through the DC bin of the product: no extra pass over the output), or None.
        differentiable: True keeps to one batched product that autograd can follow.
    """
    B, V, n_freq = views_f.shape
    chunk = max(1, CHUNK_BYTES // (V * spectra.shape[0] * n_freq * views_f.element_size()))
    if views_f.device.type == "cpu" and chunk < B and not differentiable:
        return _inverse_in_chunks(views_f, spectra, fft_len, n_samples, chunk, dc_shift)
    prod = views_f[:, :, None, :] * spectra  # (B, 3, S, F)
    if dc_shift is not None:
        prod[..., 0] -= fft_len * dc_shift[..., None]  # irfft divides bin 0 by fft_len
    coeffs = torch.fft.irfft(prod, n=fft_len, dim=-1)  # (B, 3, S, M)
    return coeffs[..., :n_samples]  # (B, 3, S, L), a view


def _inverse_in_chunks(views_f: torch.Tensor, spectra: torch.Tensor, fft_len: int,
                       n_samples: int, chunk: int, dc_shift: torch.Tensor | None
                       ) -> torch.Tensor:
    """CPU path for big batches: multiply and invert ``chunk`` windows at a time.

    One reused product buffer below glibc's mmap threshold replaces a (B, 3, S, F) temporary, so
    peak memory is about half the one-shot path's (165 MB less at 64 x 3 x 64 x 3000) and the
    result is contiguous. Speed is about the same (benchmarks/bench_cwt.py).
    """
    B, V, n_freq = views_f.shape
    S = spectra.shape[0]
    out = torch.empty(B, V, S, n_samples)  # (B, 3, S, L)
    buffer = torch.empty(chunk, V, S, n_freq, dtype=torch.complex64)  # (b, 3, S, F)
    for start in range(0, B, chunk):
        n = min(chunk, B - start)
        torch.mul(views_f[start:start + n, :, None, :], spectra, out=buffer[:n])
        if dc_shift is not None:
            buffer[:n, ..., 0] -= fft_len * dc_shift[start:start + n, :, None]
        out[start:start + n] = torch.fft.irfft(buffer[:n], n=fft_len, dim=-1)[..., :n_samples]
    return out


def normalize_scalogram(imgs: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """Z-score each sample and view over (scale, time) in float32; ``(B, 3, S, L)`` in and out.

    ``inplace=True`` overwrites a float32 ``imgs`` (saves one scalogram-sized allocation).
    """
    imgs = imgs.float()
    std, mean = torch.std_mean(imgs, dim=(-2, -1), keepdim=True, correction=0)  # (B, 3, 1, 1)
    if inplace:
        return imgs.sub_(mean).div_(std.clamp_min(STD_FLOOR))
    return (imgs - mean) / std.clamp_min(STD_FLOOR)


def standardize_windows(x: torch.Tensor) -> torch.Tensor:
    """Per-window z-score in float32: ``(B, L)`` (or ``(B, 1, L)``) to ``(B, L)``; std >= 1e-5.

    ``(B, C, L)`` with ``C > 1`` stays ``(B, C, L)``, each channel z-scored on its own.
    """
    if x.dim() == 3 and x.shape[1] == 1:
        x = x[:, 0]  # (B, L)
    std, mean = torch.std_mean(x.float(), dim=-1, keepdim=True, correction=0)  # (B, 1) each
    return (x.float() - mean) / std.clamp_min(STD_FLOOR)
