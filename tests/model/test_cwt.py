"""The CWT views transform against a float64 NumPy direct convolution written from SPEC §2."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cwtmae_cli.model import cwt_wrap, standardize_windows
from cwtmae_cli.model.cwt import normalize_scalogram, ricker_kernel_length, signal_views


def reference_views(x: np.ndarray) -> np.ndarray:
    """``[x, d1, d2]`` per SPEC: backward d1 with d1[0] = 0, central d2 with replicate padding."""
    d1 = np.concatenate([np.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], axis=1)
    padded = np.concatenate([x[:, :1], x, x[:, -1:]], axis=1)
    d2 = padded[:, 2:] - 2 * padded[:, 1:-1] + padded[:, :-2]
    return np.stack([x, d1, d2], axis=1)  # (B, 3, L)


def reference_cwt(x: np.ndarray, num_scales: int, lowest: float = 0.1, step: float = 1.0
                  ) -> np.ndarray:
    """float64 direct "same" convolution of the truncated Ricker kernels: ``(B, 3, S, L)``."""
    views = reference_views(x.astype(np.float64))
    n_samples = x.shape[-1]
    scales = lowest + step * np.arange(num_scales)
    n = int(np.ceil(min(10 * scales[-1], n_samples) - 1e-9))
    n = n if n % 2 else n + 1
    half = (n - 1) // 2
    t = np.arange(-half, half + 1, dtype=np.float64)
    s = scales[:, None]
    kernels = 2 / (np.sqrt(3 * s) * np.pi**0.25) * (1 - t**2 / s**2) * np.exp(-(t**2) / (2 * s**2))
    padded = np.pad(views, ((0, 0), (0, 0), (half, half)))  # zero padding: "same" alignment
    out = np.empty(views.shape[:2] + (num_scales, n_samples))
    for i in range(n_samples):  # out[..., i] = sum_j x[i + j - half] * psi(j - half)
        out[..., i] = padded[..., i:i + n] @ kernels[:, ::-1].T
    return out


def per_scale_rel_error(y: torch.Tensor, ref: np.ndarray) -> float:
    """max over (sample, view, scale) of ``max_t |y - ref| / max_t |ref|``."""
    err = np.abs(y.double().numpy() - ref).max(axis=-1)
    return float((err / np.abs(ref).max(axis=-1)).max())


@pytest.mark.parametrize(
    ("n_samples", "num_scales", "lowest", "step"),
    [(300, 8, 0.1, 1.0), (517, 5, 0.1, 1.0), (1000, 16, 0.1, 1.0), (128, 20, 0.1, 1.0),
     (640, 12, 0.5, 2.0)],
)
@pytest.mark.parametrize("kind", ["white", "random-walk"])
def test_cwt_matches_float64_direct_convolution(n_samples: int, num_scales: int, lowest: float,
                                                step: float, kind: str) -> None:
    rng = np.random.default_rng(n_samples + num_scales)
    x = rng.normal(size=(3, n_samples))
    if kind == "random-walk":
        x = np.cumsum(x, axis=1)
    x32 = x.astype(np.float32)
    y = cwt_wrap(torch.from_numpy(x32), num_scales, lowest, step)
    assert y.shape == (3, 3, num_scales, n_samples)
    assert y.dtype == torch.float32
    assert per_scale_rel_error(y, reference_cwt(x32, num_scales, lowest, step)) <= 1e-5


def test_kernel_length_is_odd_and_truncated_at_ten_times_the_largest_scale() -> None:
    assert ricker_kernel_length(64, 3000) == 631  # 10 * 63.1
    assert ricker_kernel_length(32, 3000) == 311  # 10 * 31.1
    assert ricker_kernel_length(4, 3000) == 31  # 10 * 3.1 = 31
    assert ricker_kernel_length(6, 3000) == 51
    assert ricker_kernel_length(20, 128) == 129  # capped at L, rounded up to odd
    assert ricker_kernel_length(64, 100, lowest_scale=0.25) == 101


def test_views_follow_the_spec_definitions() -> None:
    x = torch.tensor([[1.0, 4.0, 9.0, 16.0, 20.0]])
    views = signal_views(x)
    assert views.shape == (1, 3, 5)
    torch.testing.assert_close(views[0, 0], x[0])
    torch.testing.assert_close(views[0, 1], torch.tensor([0.0, 3.0, 5.0, 7.0, 4.0]))
    # d2[0] = x1 - 2 x0 + x0 (replicate), d2[4] = x4 - 2 x4 + x3
    torch.testing.assert_close(views[0, 2], torch.tensor([3.0, 2.0, 2.0, -3.0, -4.0]))


def test_accepts_channel_dimension_and_rejects_other_shapes() -> None:
    x = torch.randn(2, 1, 200)
    torch.testing.assert_close(cwt_wrap(x, 4), cwt_wrap(x[:, 0], 4))
    with pytest.raises(ValueError, match=r"\(B, L\)"):
        cwt_wrap(torch.randn(200), 4)


def test_float32_under_bf16_autocast_and_same_values() -> None:
    x = torch.randn(2, 400)
    plain = cwt_wrap(x, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        auto = cwt_wrap(x.bfloat16().float(), 8)
        from_bf16 = cwt_wrap(x.bfloat16(), 8)
    assert auto.dtype == torch.float32 and from_bf16.dtype == torch.float32
    torch.testing.assert_close(auto, cwt_wrap(x.bfloat16().float(), 8))
    assert (plain - auto).abs().max() < 0.05 * plain.abs().max()  # only bf16 input rounding


def test_linear_in_the_input() -> None:
    x, z = torch.randn(2, 300), torch.randn(2, 300)
    torch.testing.assert_close(cwt_wrap(2 * x + z, 6), 2 * cwt_wrap(x, 6) + cwt_wrap(z, 6),
                               atol=1e-4, rtol=1e-4)


def test_standardize_windows_is_a_per_window_zscore_with_std_floor() -> None:
    x = torch.stack([torch.arange(10.0) * 3 + 7, torch.full((10,), 5.0)])
    z = standardize_windows(x.double())
    assert z.dtype == torch.float32 and z.shape == (2, 10)
    torch.testing.assert_close(z[0].mean(), torch.tensor(0.0), atol=1e-6, rtol=0)
    torch.testing.assert_close(z[0].std(correction=0), torch.tensor(1.0))
    assert torch.equal(z[1], torch.zeros(10))  # flat window: std clamped, no NaN
    assert standardize_windows(x[:, None, :]).shape == (2, 10)


def test_normalize_scalogram_zscores_each_sample_and_view() -> None:
    imgs = torch.randn(2, 3, 4, 50) * torch.tensor([1.0, 10.0, 100.0])[:, None, None] + 3
    out = normalize_scalogram(imgs)
    torch.testing.assert_close(out.mean(dim=(-2, -1)), torch.zeros(2, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std(dim=(-2, -1), correction=0), torch.ones(2, 3))


def test_normalize_scalogram_uses_one_mean_and_population_std_per_sample_and_view() -> None:
    """Hand-computed: [[0, 2], [4, 6]] has mean 3 and population variance 5, so it becomes
    [[-3, -1], [1, 3]] / sqrt(5): rows keep their offsets (no per-scale z-score)."""
    block = torch.tensor([[0.0, 2.0], [4.0, 6.0]])
    imgs = torch.stack([torch.stack([block, 10 * block + 1, -block])] * 2)  # (2, 3, 2, 2)
    imgs[1] += 100.0  # another sample, another mean
    expected = torch.tensor([[-3.0, -1.0], [1.0, 3.0]]) / 5**0.5
    out = normalize_scalogram(imgs)
    for b in range(2):
        torch.testing.assert_close(out[b, 0], expected)
        torch.testing.assert_close(out[b, 1], expected)
        torch.testing.assert_close(out[b, 2], -expected)
    torch.testing.assert_close(normalize_scalogram(imgs.clone(), inplace=True), out)


def test_chunked_cpu_path_and_autograd_path_agree_with_the_reference(monkeypatch) -> None:
    from cwtmae_cli.model import cwt as cwt_module

    rng = np.random.default_rng(7)
    x32 = np.cumsum(rng.normal(size=(5, 400)), axis=1).astype(np.float32)
    ref = reference_cwt(x32, 6)
    monkeypatch.setattr(cwt_module, "CHUNK_BYTES", 1)  # one window per chunk
    chunked = cwt_wrap(torch.from_numpy(x32), 6)
    assert chunked.is_contiguous()
    assert per_scale_rel_error(chunked, ref) <= 1e-5
    x = torch.from_numpy(x32).requires_grad_()
    differentiable = cwt_wrap(x, 6)  # one batched product, autograd-friendly
    assert per_scale_rel_error(differentiable.detach(), ref) <= 1e-5
    differentiable.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.gpu
def test_cuda_transform_matches_the_cpu_one_and_stays_float32() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    x = torch.randn(4, 3000)
    cpu = cwt_wrap(x, 64)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        gpu = cwt_wrap(x.cuda(), 64)
    assert gpu.dtype == torch.float32 and gpu.device.type == "cuda"
    err = (gpu.cpu() - cpu).abs().amax(dim=-1) / cpu.abs().amax(dim=-1)
    assert float(err.max()) <= 1e-5


def test_wavelet_spectra_are_computed_once_per_length_scales_and_device() -> None:
    from cwtmae_cli.model.cwt import _wavelet_spectra

    _wavelet_spectra.cache_clear()
    x = torch.randn(2, 500)
    cwt_wrap(x, 8)
    cwt_wrap(x + 1, 8)
    assert _wavelet_spectra.cache_info().misses == 1 and _wavelet_spectra.cache_info().hits == 1
    cwt_wrap(torch.randn(2, 600), 8)  # another length: new spectra
    spectra, fft_len = _wavelet_spectra(600, 8, 0.1, 1.0, torch.device("cpu"))
    assert _wavelet_spectra.cache_info().misses == 2
    assert fft_len % 2 == 0 and fft_len >= 600 + (ricker_kernel_length(8, 600) - 1) // 2
    assert spectra.shape == (8, fft_len // 2 + 1) and spectra.dtype == torch.complex64
