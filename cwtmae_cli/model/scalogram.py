"""The encoder's input: the z-scored Ricker scalogram, built in one pass.

``normalized_cwt(x)`` equals ``normalize_scalogram(cwt_wrap(x))`` (each sample and view z-scored
over (scale, time), population std clamped at 1e-5) to float32 round-off, without the z-score's
passes over the ``(B, 3, S, L)`` tensor: the mean and the std of every view come from the view and
its spectrum (``scalogram_moments``), ``1 / std`` scales the view's spectrum before the product
with the wavelet spectra, and ``mean / std`` leaves through the DC bin of that product, so the
inverse FFT writes the normalised coefficients directly. On the CPU the per-view z-score of a
materialised scalogram cost more than the transform (``std_mean`` over 576,000 values per
window); here it costs a few float64 operations on ``B x 3`` rows.
"""

from __future__ import annotations

import torch

from cwtmae_cli.model.cwt import (
    STD_FLOOR,
    signal_views,
    synthesize,
    wavelet_spectra,
    wide_dtype,
    window_rows,
)
from cwtmae_cli.model.eager import eager_under_compile
from cwtmae_cli.model.scalogram_moments import moment_fft_length, moment_tables, view_moments


def view_statistics(views: torch.Tensor, num_scales: int, lowest_scale: float, step: float,
                    spectrum: torch.Tensor | None = None, fft_len: int | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and clamped population std of each view's scalogram: ``(..., L)`` -> ``(...)`` x 2.

    ``views`` are float64 (float32 on MPS). ``spectrum`` may pass the views' rfft at
    ``fft_len`` when that length is one the moments can use (``>= L + n - 1``).
    """
    n_samples = views.shape[-1]
    needed = moment_fft_length(n_samples, num_scales, lowest_scale, step)
    if spectrum is None or fft_len is None or fft_len < needed:
        spectrum, fft_len = torch.fft.rfft(views, n=needed, dim=-1), needed
    tables = moment_tables(n_samples, num_scales, lowest_scale, step, fft_len, views.device)
    mean, variance = view_moments(views, spectrum, tables)
    return mean, variance.sqrt().clamp_min(STD_FLOOR)


@eager_under_compile  # complex FFTs and cached tables, as cwt_wrap
def normalized_cwt(x: torch.Tensor, num_scales: int = 64, lowest_scale: float = 0.1,
                   step: float = 1.0) -> torch.Tensor:
    """Z-scored Ricker CWT of the three views, float32 ``(B, 3, S, L)``, ``x (B, L)``.

    The z-score is per sample and view over (scale, time), as ``normalize_scalogram``; runs in
    float32 whatever autocast says.
    """
    x = window_rows(x, "normalized_cwt")
    n_samples = x.shape[-1]
    with torch.autocast(device_type=x.device.type, enabled=False):
        spectra, fft_len = wavelet_spectra(n_samples, int(num_scales), float(lowest_scale),
                                            float(step), x.device)
        views = signal_views(x.to(wide_dtype(x.device)))  # (B, 3, L)
        views_f = torch.fft.rfft(views, n=fft_len, dim=-1)  # (B, 3, F)
        mean, std = view_statistics(views, int(num_scales), float(lowest_scale), float(step),
                                    views_f, fft_len)  # (B, 3) each
        scaled = (views_f / std[..., None]).to(torch.complex64)  # (B, 3, F)
        return synthesize(scaled, spectra, fft_len, n_samples, (mean / std).float(),
                          differentiable=torch.is_grad_enabled() and x.requires_grad)
