"""Patch tokens straight from the signal against the materialised scalogram path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cwtmae_cli.model import TF_MAE_Classifier, standardize_windows
from cwtmae_cli.model import encoder as encoder_module
from cwtmae_cli.model.cwt import ricker_kernels
from cwtmae_cli.model.direct_tokens import build_token_filters, direct_patch_embedding
from cwtmae_cli.model.encoder import CWTEncoder
from cwtmae_cli.model.presets import PRESETS

ENCODER_KEYS = ("signal_len", "cwt_scales", "patch_size_time", "patch_size_freq", "embed_dim",
                "num_heads")
# odd ones: a prime patch width (no 7-smooth FFT length is a multiple of it), and a kernel as
# long as the window (n = L + 1, h = L / 2)
ODD_GEOMETRIES = {
    "prime-width": dict(signal_len=231, cwt_scales=6, patch_size_time=11, patch_size_freq=2,
                        embed_dim=16, num_heads=2),
    "kernel-as-long-as-window": dict(signal_len=128, cwt_scales=20, patch_size_time=16,
                                     patch_size_freq=4, embed_dim=16, num_heads=2),
}


def preset_encoder(name: str, in_channels: int = 1) -> CWTEncoder:
    geometry = ODD_GEOMETRIES.get(name) or {k: PRESETS[name][k] for k in ENCODER_KEYS}
    torch.manual_seed(0)
    encoder = CWTEncoder(**geometry, depth=1, in_channels=in_channels).eval()
    torch.nn.init.normal_(encoder.patch_embed.proj.bias, std=0.5)  # a bias that shows
    return encoder


def windows(n: int, channels: int, n_samples: int, seed: int = 0) -> torch.Tensor:
    """Standardised random walks with rhythms, a spike and a flat channel: ``(n, C, L)``."""
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=(n, channels, n_samples)), axis=-1)
    x += 3 * np.sin(np.arange(n_samples) * rng.uniform(0.05, 1.0, size=(n, channels, 1)))
    x[0, 0, n_samples // 2] += 40.0
    if channels > 1:
        x[-1, -1] = 0.0
    std = x.std(axis=-1, keepdims=True)
    x = (x - x.mean(axis=-1, keepdims=True)) / np.where(std > 0, std, 1.0)
    return torch.from_numpy(x).float()


def reference_embedding(encoder: CWTEncoder, x: torch.Tensor) -> torch.Tensor:
    """float64, from SPEC §2: views, direct "same" convolution, z-score per (window, image
    channel), then the patch convolution: ``(B, D, grid_h, grid_w)``."""
    x64 = x.double().numpy()  # (B, C, L)
    d1 = np.concatenate([np.zeros_like(x64[..., :1]), np.diff(x64, axis=-1)], axis=-1)
    padded = np.concatenate([x64[..., :1], x64, x64[..., -1:]], axis=-1)
    d2 = padded[..., 2:] - 2 * x64 + padded[..., :-2]
    views = np.stack([x64, d1, d2], axis=2).reshape(x.shape[0], -1, x.shape[-1])  # (B, 3C, L)
    kernels = ricker_kernels(encoder.cwt_scales, x.shape[-1])  # (S, n)
    half = (kernels.shape[1] - 1) // 2
    full = np.stack([[[np.convolve(v, k) for k in kernels] for v in row] for row in views])
    coeffs = full[..., half:half + x.shape[-1]]  # (B, 3C, S, L)
    mean = coeffs.mean(axis=(-2, -1), keepdims=True)
    std = np.maximum(coeffs.std(axis=(-2, -1), keepdims=True), 1e-5)
    proj = encoder.patch_embed.proj
    return F.conv2d(torch.from_numpy((coeffs - mean) / std), proj.weight.detach().double(),
                    proj.bias.detach().double(), stride=proj.stride)


def reference_tokens(encoder: CWTEncoder, x: torch.Tensor) -> torch.Tensor:
    """float64 ``encoder.tokens(x)``: the reference embedding, LayerNorm, position embedding."""
    norm = encoder.patch_embed.norm
    conv = reference_embedding(encoder, x)  # (B, D, grid_h, grid_w)
    tokens = F.layer_norm(conv.flatten(2).transpose(1, 2), norm.normalized_shape,
                          norm.weight.detach().double(), norm.bias.detach().double(), norm.eps)
    return tokens + encoder.pos_embed.detach().double()[:, 1:]


def rel_error(y: torch.Tensor, ref: torch.Tensor) -> float:
    return float((y.detach().double() - ref).norm() / ref.norm())


@pytest.mark.parametrize(("name", "channels"), [
    ("tiny", 1), ("tiny", 2), ("tiny", 3), ("small", 1), ("prime-width", 2),
    ("kernel-as-long-as-window", 1),
    pytest.param("base", 1, marks=pytest.mark.slow),
])
def test_direct_embedding_equals_the_scalogram_path(name: str, channels: int) -> None:
    encoder = preset_encoder(name, channels)
    x = windows(3, channels, encoder.signal_len)
    reference = reference_embedding(encoder, x)
    filters = build_token_filters(encoder.patch_embed.proj.weight, encoder.signal_len,
                                  encoder.cwt_scales)
    direct = direct_patch_embedding(x, filters, encoder.patch_embed.proj.bias)
    with torch.no_grad():
        materialised = encoder.patch_embed.proj(encoder.images(x))
    assert direct.shape == reference.shape == materialised.shape
    assert direct.dtype == torch.float32
    assert rel_error(direct, reference) <= 1e-5
    assert rel_error(materialised, reference) <= 1e-5  # the path it replaces, for scale
    assert rel_error(direct, materialised.double()) <= 1e-5
    with torch.no_grad():
        tokens = encoder.tokens(x if channels > 1 else x[:, 0])  # LayerNorm, position too
    assert rel_error(tokens, reference_tokens(encoder, x)) <= 1e-5


def test_tokens_take_the_direct_path_only_for_inference_on_small_filters(monkeypatch) -> None:
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)  # the rule's thread count
    tiny, small = preset_encoder("tiny"), preset_encoder("small")
    x = windows(encoder_module.DIRECT_MIN_WINDOWS[1], 1, 3000)[:, 0]
    with torch.no_grad():
        assert tiny.uses_direct_tokens(x)
        assert not small.uses_direct_tokens(x)  # 267 MiB of filters: slower up to batch 32
        torch.testing.assert_close(tiny.tokens(x), tiny.embed(tiny.images(x)),
                                   rtol=1e-5, atol=1e-5)
    assert not tiny.uses_direct_tokens(x)  # gradients wanted through the patch kernel
    tiny.patch_embed.requires_grad_(False)  # a frozen encoder (finetune --freeze-encoder)
    assert tiny.uses_direct_tokens(x)
    assert not tiny.uses_direct_tokens(x.clone().requires_grad_())
    tiny.direct_tokens = False
    assert not tiny.uses_direct_tokens(x)
    with torch.no_grad():
        small.direct_tokens = True
        assert small.uses_direct_tokens(x)
        assert not tiny.double().uses_direct_tokens(x.double())  # float32 kernels only


def test_filters_follow_the_kernel_when_it_changes_in_place() -> None:
    """An optimizer step or a checkpoint load changes the kernel in place: the next tokens
    must be those of the new kernel, not of cached filters."""
    encoder = preset_encoder("tiny")
    encoder.direct_tokens = True  # 2 windows: the rule alone would build the scalogram
    x = windows(2, 1, 3000)
    with torch.no_grad():
        before = encoder.tokens(x[:, 0])
        encoder.patch_embed.proj.weight.mul_(-0.5).add_(0.01)
        after = encoder.tokens(x[:, 0])
    assert rel_error(after, reference_tokens(encoder, x)) <= 1e-5
    assert rel_error(before, reference_tokens(encoder, x)) > 0.1


def test_validation_and_evaluation_see_the_same_numbers(monkeypatch) -> None:
    """Training's validation runs the model under no_grad, evaluate/predict under
    inference_mode: both must take the same path and give the same logits, bit for bit."""
    from cwtmae_cli.evaluate.inference import predict_proba

    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)  # batches of 4: the direct path
    calls = []
    real = encoder_module.direct_patch_embedding
    monkeypatch.setattr(encoder_module, "direct_patch_embedding",
                        lambda *a: calls.append(1) or real(*a))
    torch.manual_seed(0)
    model = TF_MAE_Classifier(None, num_classes=3, **{k: PRESETS["tiny"][k]
                                                     for k in ENCODER_KEYS}, depth=1).eval()
    x = windows(4, 1, 3000)[:, 0]
    with torch.no_grad():  # as train/validation.py: standardised, then the model
        validation = torch.softmax(model(standardize_windows(x)).float(), dim=-1).numpy()
    evaluation = predict_proba(model, 4, lambda i: x[torch.from_numpy(i)], batch_size=4)
    assert len(calls) == 2
    np.testing.assert_array_equal(validation, evaluation)


TINY_BYTES = {channels: preset_encoder("tiny", channels).token_filter_bytes()
              for channels in (1, 3)}


@pytest.mark.parametrize(("filters", "n_windows", "threads", "direct"), [
    ("tiny", 1, 1, False), ("tiny", 3, 1, False), ("tiny", 4, 1, True), ("tiny", 32, 1, True),
    ("tiny", 8, 2, False), ("tiny", 15, 2, False), ("tiny", 16, 2, True), ("tiny", 256, 2, True),
    ("tiny", 64, 3, False), ("tiny", 64, 16, False),  # not measured: the scalogram
    ("tiny x3", 4, 1, True), ("tiny x3", 16, 2, True), ("tiny x3", 8, 2, False),
    ("small", 1, 1, False), ("small", 32, 1, False), ("small", 512, 2, False),
])
def test_the_direct_path_is_chosen_only_where_it_measured_faster(
        filters: str, n_windows: int, threads: int, direct: bool) -> None:
    """The table of docs/performance.md: tiny from 4 windows with one thread, from 16 with two;
    small (267 MiB of filters) never; other thread counts were not measured."""
    nbytes = {"tiny": TINY_BYTES[1], "tiny x3": TINY_BYTES[3],
              "small": preset_encoder("small").token_filter_bytes()}[filters]
    assert encoder_module.direct_tokens_pay(nbytes, n_windows, threads) is direct


@pytest.mark.parametrize(("n_windows", "threads", "direct"),
                         [(3, 1, False), (4, 1, True), (15, 2, False), (16, 2, True),
                          (32, 4, False)])
def test_the_encoder_asks_the_rule_with_its_batch_and_torchs_threads(
        monkeypatch, n_windows: int, threads: int, direct: bool) -> None:
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    tiny = preset_encoder("tiny")
    for x in (torch.zeros(n_windows, 3000), torch.zeros(n_windows, 1, 3000)):
        with torch.no_grad():
            assert tiny.uses_direct_tokens(x) is direct
    tiny.direct_tokens = True  # forced: whatever the batch and the threads
    with torch.no_grad():
        assert tiny.uses_direct_tokens(torch.zeros(1, 3000))
