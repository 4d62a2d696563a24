"""The one-pass z-scored scalogram and the moments it takes from the views' spectra."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cwtmae_cli.model.cwt import (
    cwt_wrap,
    normalize_scalogram,
    ricker_kernels,
    signal_views,
    wavelet_spectra,
)
from cwtmae_cli.model.scalogram import normalized_cwt, view_statistics

GEOMETRIES = [(3000, 64, 0.1, 1.0), (3000, 32, 0.1, 1.0), (300, 8, 0.1, 1.0),
              (128, 20, 0.1, 1.0), (640, 12, 0.5, 2.0), (517, 5, 0.1, 1.0), (100, 1, 0.1, 1.0)]


def direct_scalogram(views: np.ndarray, num_scales: int, lowest: float, step: float
                     ) -> np.ndarray:
    """float64 "same" convolution of ``views (B, V, L)`` with the truncated kernels, in NumPy."""
    kernels = ricker_kernels(num_scales, views.shape[-1], lowest, step)  # (S, n)
    half = (kernels.shape[1] - 1) // 2
    full = np.stack([[[np.convolve(v, k) for k in kernels] for v in row] for row in views])
    return full[..., half:half + views.shape[-1]]  # (B, V, S, L)


def view_rel_error(y: torch.Tensor, ref: np.ndarray) -> float:
    """max over (sample, view) of ``max |y - ref| / max |ref|``: float32 round-off scales with
    the largest coefficient of the view (a spike's z-score is in the hundreds)."""
    err = np.abs(y.double().numpy() - ref).max(axis=(-2, -1))
    return float((err / np.abs(ref).max(axis=(-2, -1))).max())


def edge_heavy_windows(n_samples: int) -> np.ndarray:
    """A random walk, a spike on the first sample, one on the last, a step: energy at the edges."""
    rng = np.random.default_rng(n_samples)
    x = np.zeros((4, n_samples))
    x[0] = np.cumsum(rng.normal(size=n_samples)) + 20.0
    x[1, 0] = 50.0
    x[2, -1] = -50.0
    x[3, : n_samples // 3] = 7.0
    return x + 0.1 * rng.normal(size=x.shape)


@pytest.mark.parametrize(("n_samples", "num_scales", "lowest", "step"), GEOMETRIES)
def test_moments_from_the_spectrum_equal_the_materialised_ones(n_samples, num_scales, lowest,
                                                               step) -> None:
    """Exact to float64 round-off, also with the CWT's own FFT length passed in (too short for
    plain Parseval: the function must not use it) and with all the energy at an edge."""
    views = signal_views(torch.from_numpy(edge_heavy_windows(n_samples)))  # (4, 3, L) float64
    coeffs = direct_scalogram(views.numpy(), num_scales, lowest, step)  # (4, 3, S, L)
    _, fft_len = wavelet_spectra(n_samples, num_scales, lowest, step, torch.device("cpu"))
    spectrum = torch.fft.rfft(views, n=fft_len)
    mean, std = view_statistics(views, num_scales, lowest, step, spectrum, fft_len)
    np.testing.assert_allclose(mean.numpy(), coeffs.mean(axis=(-2, -1)),
                               rtol=0, atol=1e-12 * np.abs(coeffs).max())
    np.testing.assert_allclose(std.numpy(), coeffs.std(axis=(-2, -1)), rtol=1e-11)


@pytest.mark.parametrize(("n_samples", "num_scales", "lowest", "step"), GEOMETRIES)
def test_one_pass_zscore_equals_the_transform_then_the_zscore(n_samples, num_scales, lowest,
                                                              step) -> None:
    x = torch.from_numpy(edge_heavy_windows(n_samples)).float()
    expected = normalize_scalogram(cwt_wrap(x, num_scales, lowest, step))
    out = normalized_cwt(x, num_scales, lowest, step)
    assert out.shape == expected.shape and out.dtype == torch.float32
    assert view_rel_error(out, expected.double().numpy()) <= 1e-6
    reference = direct_scalogram(signal_views(x.double()).numpy(), num_scales, lowest, step)
    reference = (reference - reference.mean(axis=(-2, -1), keepdims=True)) / reference.std(
        axis=(-2, -1), keepdims=True)
    assert view_rel_error(out, reference) <= 1e-5


def test_chunked_one_shot_and_autograd_paths_agree(monkeypatch) -> None:
    from cwtmae_cli.model import cwt as cwt_module

    x = torch.cumsum(torch.randn(5, 400), dim=1)
    one_shot = normalized_cwt(x, 6)  # 5 windows fit one chunk
    monkeypatch.setattr(cwt_module, "CHUNK_BYTES", 1)  # one window per chunk
    chunked = normalized_cwt(x, 6)
    assert chunked.is_contiguous()
    torch.testing.assert_close(chunked, one_shot, rtol=0, atol=0)
    leaf = x.clone().requires_grad_()
    differentiable = normalized_cwt(leaf, 6)
    torch.testing.assert_close(differentiable.detach(), one_shot, rtol=0, atol=1e-6)
    differentiable[:, 1].pow(2).sum().backward()
    assert leaf.grad is not None and torch.isfinite(leaf.grad).all()


def test_flat_windows_give_zeros_and_float32_under_autocast() -> None:
    """Flat views have std 0: clamped to 1e-5 as in ``normalize_scalogram``, no NaN."""
    x = torch.stack([torch.zeros(300), torch.full((300,), 4.0), torch.randn(300)])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = normalized_cwt(x, 8)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert torch.equal(out[0], torch.zeros_like(out[0]))
    assert out[1, 1:].abs().max() == 0  # a constant window: d1 and d2 vanish
    torch.testing.assert_close(out, normalize_scalogram(cwt_wrap(x, 8)), rtol=0, atol=2e-5)
