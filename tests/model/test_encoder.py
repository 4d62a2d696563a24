"""CWTEncoder: the scalogram it builds (CWT at the configured scales, z-scored per sample and view)
and the positions RoPE gives kept tokens after masking."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cwtmae_cli.model.encoder import CWTEncoder

# 4 x 10 grid of 2 x 20 patches
SMALL = dict(signal_len=200, patch_size_time=20, patch_size_freq=2, embed_dim=32, depth=2,
             num_heads=2)


def ricker_scalogram(x: np.ndarray, num_scales: int) -> np.ndarray:
    """float64 reference from SPEC §2: views [x, d1, d2], "same" convolution with truncated Ricker
    kernels at scales 0.1, 1.1, ... (``n = ceil(10 s_max)`` taps, odd), then a z-score of each
    (sample, view) over (scale, time) with the population std. ``x (B, L)`` -> ``(B, 3, S, L)``."""
    d1 = np.concatenate([np.zeros_like(x[:, :1]), np.diff(x, axis=1)], axis=1)
    padded = np.concatenate([x[:, :1], x, x[:, -1:]], axis=1)
    d2 = padded[:, 2:] - 2 * x + padded[:, :-2]
    scales = 0.1 + np.arange(num_scales)
    n = int(np.ceil(10 * scales[-1] - 1e-9))
    n += 1 - n % 2
    t = np.arange(n) - (n - 1) / 2
    out = np.empty((x.shape[0], 3, num_scales, x.shape[1]))
    for b in range(x.shape[0]):
        for v, view in enumerate((x[b], d1[b], d2[b])):
            for k, s in enumerate(scales):
                psi = 2 / (np.sqrt(3 * s) * np.pi**0.25) * (1 - t**2 / s**2) * np.exp(
                    -(t**2) / (2 * s**2))
                out[b, v, k] = np.convolve(view, psi, mode="same")  # n < L: output length L
    mean = out.mean(axis=(2, 3), keepdims=True)
    std = out.std(axis=(2, 3), keepdims=True)  # ddof=0
    return (out - mean) / std


@pytest.mark.parametrize("cwt_scales", [8, 12])
def test_images_are_the_zscored_cwt_at_the_configured_scales(cwt_scales: int) -> None:
    encoder = CWTEncoder(cwt_scales=cwt_scales, **SMALL)
    rng = np.random.default_rng(cwt_scales)
    x = np.cumsum(rng.normal(size=(2, 200)), axis=1).astype(np.float32)
    imgs = encoder.images(torch.from_numpy(x))
    assert imgs.shape == (2, 3, cwt_scales, 200)
    expected = ricker_scalogram(x.astype(np.float64), cwt_scales)
    np.testing.assert_allclose(imgs.double().numpy(), expected, atol=2e-4, rtol=0)


def kept_forward(encoder: CWTEncoder, tokens: torch.Tensor, ids_keep: torch.Tensor
                 ) -> torch.Tensor:
    kept = torch.gather(tokens, 1, ids_keep[..., None].expand(-1, -1, tokens.shape[-1]))
    return encoder(kept, ids_keep)  # (B, 1 + K, D)


def test_all_patches_kept_in_order_equal_the_unmasked_pass() -> None:
    """ids_keep = 0..N-1 must put patch n at the same position as the unmasked pass (n + 1)."""
    torch.manual_seed(0)
    encoder = CWTEncoder(cwt_scales=8, **SMALL).eval()
    tokens = torch.randn(2, 40, 32)
    ids = torch.arange(40).expand(2, -1)
    torch.testing.assert_close(kept_forward(encoder, tokens, ids), encoder(tokens),
                               atol=1e-5, rtol=1e-5)


def test_kept_tokens_carry_their_own_patch_positions() -> None:
    """Shuffling the kept tokens (with their ids) shuffles the output the same way: each token is
    rotated by its real patch position, not by its place in the kept sequence. And the
    positions matter: the same tokens placed at other patches give other outputs."""
    torch.manual_seed(1)
    encoder = CWTEncoder(cwt_scales=8, **SMALL).eval()
    tokens = torch.randn(2, 40, 32)
    ids = torch.stack([torch.randperm(40)[:10] for _ in range(2)])  # (2, 10), per-sample
    out = kept_forward(encoder, tokens, ids)
    perm = torch.randperm(10)
    shuffled = kept_forward(encoder, tokens, ids[:, perm])
    torch.testing.assert_close(shuffled[:, 1:], out[:, 1:][:, perm], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(shuffled[:, 0], out[:, 0], atol=1e-5, rtol=1e-5)
    kept = torch.gather(tokens, 1, ids[..., None].expand(-1, -1, 32))
    moved = encoder(kept, (ids + 1) % 40)  # same tokens, one patch further on
    assert (moved - out).abs().max() > 1e-3
