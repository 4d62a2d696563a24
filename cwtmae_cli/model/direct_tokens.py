"""Patch tokens straight from the signal, never building the scalogram (inference).

Everything between a window and its patch tokens is linear but the z-score: the views
``[x, d1, d2]``, the Ricker CWT and the patch embedding ``Conv2d(3C, D, kernel=stride=(pf, pt))``.
For image channel ``k`` (view of one channel) with coefficients ``y_ks`` and z-score
``(y - mu_k) / sigma_k``, the embedding of patch (row ``r``, column ``c``) is

    token[d, r, c] = bias[d] + sum_k (raw_k[d, r, c] - mu_k * sum_ab W[d, k, a, b]) / sigma_k,
    raw_k[d, r, c] = sum_{a < pf, b < pt} W[d, k, a, b] y_{k, r pf + a}[c pt + b].

In the frequency domain (FFT length ``N``, a multiple of ``pt`` with ``N >= L + n - 1``), ``raw_k``
is the correlation of the view with a *composed filter*
``G_kdr(f) = sum_a Psi_{r pf + a}(f) conj(W^_dka(f))`` (wavelet spectrum times the conjugate
spectrum of one row of the patch kernel), read at ``t = c pt``. Reading every ``pt``-th sample of
a length-``N`` signal is an inverse FFT of length ``Q = N / pt`` of its spectrum folded ``pt``
times (``F(f') = sum_m Z(f' + m Q)``), so with the fold done on the filters' side

    F[b, f', (d, r)] = sum_{(k, m)} U[b, k, f' + m Q] / sigma_bk * G[k, d, r](f' + m Q)

is one batched complex matrix product over the ``Q // 2 + 1`` folded bins (contraction length
``3 C pt``), then an inverse rfft of length ``Q``. ``mu`` and ``sigma`` come from the views'
spectrum as in :mod:`cwtmae_cli.model.scalogram`. The filters (``TokenFilters``) depend on the
patch kernel only, so they are built once per set of weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cwtmae_cli.model.cwt import centred_kernel_spectra, signal_views, wide_dtype
from cwtmae_cli.model.eager import eager_under_compile
from cwtmae_cli.model.scalogram import view_statistics
from cwtmae_cli.model.scalogram_moments import moment_fft_length

WEIGHT_ROWS_PER_CHUNK = 16  # output channels whose filters are composed at a time (memory)


@dataclass(frozen=True)
class TokenFilters:
    """Composed, folded filters of one patch kernel.

    ``filters (Q // 2 + 1, K pt, D R)`` complex64 (already divided by ``pt``), ``weight_sums
    (D, K)`` float32 = ``sum_ab W``, ``fft_len = N``, ``grid = (R, grid_w)``.
    """

    filters: torch.Tensor
    weight_sums: torch.Tensor
    fft_len: int
    grid: tuple[int, int]
    scales: tuple[int, float, float]

    @property
    def nbytes(self) -> int:
        return self.filters.numel() * self.filters.element_size()


def filter_bytes(embed_dim: int, image_channels: int, patch_size: tuple[int, int],
                 n_samples: int, num_scales: int, lowest_scale: float = 0.1,
                 step: float = 1.0) -> int:
    """Size in bytes of the :class:`TokenFilters` of this geometry (complex64)."""
    pf, pt = patch_size
    fft_len = moment_fft_length(n_samples, num_scales, lowest_scale, step, multiple_of=pt)
    n_bins = fft_len // pt // 2 + 1
    return 8 * n_bins * image_channels * pt * embed_dim * (num_scales // pf)


def build_token_filters(weight: torch.Tensor, n_samples: int, num_scales: int,
                        lowest_scale: float = 0.1, step: float = 1.0) -> TokenFilters:
    """:class:`TokenFilters` of a patch kernel ``weight (D, K, pf, pt)``, composed in float64.

    The kernel rows' spectra are needed at the bins ``g = m Q + f'`` only: with ``g b / N =
    f' b / N + m b / pt`` they are a length-``pt`` DFT of the row times a twiddle per ``f'``.
    """
    D, K, pf, pt = weight.shape
    rows = num_scales // pf
    fft_len = moment_fft_length(n_samples, num_scales, lowest_scale, step, multiple_of=pt)
    n_fold = fft_len // pt  # Q
    n_bins = n_fold // 2 + 1
    bins = np.arange(pt)[:, None] * n_fold + np.arange(n_bins)[None, :]  # (pt, Q2): m Q + f'
    psi = centred_kernel_spectra(num_scales, n_samples, lowest_scale, step, fft_len)  # (S, N)
    psi = psi[:, bins].reshape(rows, pf, pt, n_bins).transpose(3, 2, 1, 0)  # (Q2, pt, pf, R)
    psi_t = torch.from_numpy(np.ascontiguousarray(psi) / pt).to(weight.device)  # 1/pt: fold
    turns = np.arange(n_bins)[:, None] * np.arange(pt)[None, :] / fft_len  # (Q2, pt): f' b / N
    twiddle = torch.from_numpy(np.exp(-2j * np.pi * turns)).to(weight.device)
    chunks = []
    with torch.no_grad():
        w64 = weight.detach().to(torch.float64)
        for start in range(0, D, WEIGHT_ROWS_PER_CHUNK):
            w = w64[start:start + WEIGHT_ROWS_PER_CHUNK]  # (d, K, pf, pt)
            w_hat = torch.fft.fft(w * twiddle[:, None, None, None, :], dim=-1)  # (Q2,d,K,pf,m)
            w_hat = w_hat.conj().permute(0, 4, 2, 1, 3)  # (Q2, pt, K, d, pf)
            composed = (w_hat.reshape(n_bins, pt, -1, pf) @ psi_t).to(torch.complex64)
            composed = composed.reshape(n_bins, pt, K, w.shape[0], rows).permute(0, 2, 1, 3, 4)
            chunks.append(composed)  # (Q2, K, pt, d, R)
        filters = torch.cat(chunks, dim=3).reshape(n_bins, K * pt, D * rows)  # (Q2, K pt, D R)
        weight_sums = w64.sum(dim=(2, 3)).float()  # (D, K)
    return TokenFilters(filters.contiguous(), weight_sums, fft_len, (rows, n_samples // pt),
                        (num_scales, float(lowest_scale), float(step)))


@eager_under_compile  # complex FFTs and products, as the CWT
def direct_patch_embedding(x: torch.Tensor, bank: TokenFilters, bias: torch.Tensor | None
                           ) -> torch.Tensor:
    """The patch convolution's output ``(B, D, R, grid_w)`` float32 for windows ``(B, C, L)``,
    as ``proj(normalized scalogram)`` would give it (before the LayerNorm)."""
    B, C, n_samples = x.shape
    n_bins, kp, dr = bank.filters.shape
    K, pt = 3 * C, kp // (3 * C)
    n_fold, (rows, grid_w) = bank.fft_len // pt, bank.grid
    with torch.autocast(device_type=x.device.type, enabled=False):
        views = signal_views(x.reshape(B * C, n_samples).to(wide_dtype(x.device)))  # (BC, 3, L)
        views = views.reshape(B, K, n_samples)  # (B, 3C, L), channel-major as the image planes
        spectrum = torch.fft.fft(views, n=bank.fft_len, dim=-1)  # (B, K, N), both halves
        mean, std = view_statistics(views, *bank.scales,
                                    spectrum[..., : bank.fft_len // 2 + 1], bank.fft_len)
        scaled = (spectrum / std[..., None]).to(torch.complex64)  # (B, K, N)
        folded = scaled.reshape(B, K, pt, n_fold)[..., :n_bins]  # (B, K, pt, Q2): f' + m Q
        folded = folded.permute(3, 0, 1, 2).reshape(n_bins, B, kp)  # (Q2, B, K pt)
        product = torch.bmm(folded, bank.filters)  # (Q2, B, D R)
        product = product.permute(1, 2, 0)  # (B, D R, Q2)
        raw = torch.fft.irfft(product, n=n_fold, dim=-1)[..., :grid_w]  # (B, D R, grid_w)
        raw = raw.reshape(B, -1, rows, grid_w)  # (B, D, R, grid_w)
        shift = (mean / std).float() @ bank.weight_sums.T  # (B, D): sum_k mu_k / sigma_k W_k
        if bias is not None:
            shift = shift - bias.float()
        return raw - shift[:, :, None, None]  # (B, D, R, grid_w)
