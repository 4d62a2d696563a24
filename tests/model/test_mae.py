"""CWT_MAE_RoPE: fidelity to the seed's size, masking, losses, gradients, configuration errors."""

from __future__ import annotations

import pytest
import torch

from cwtmae_cli.errors import ConfigError
from cwtmae_cli.model import CWT_MAE_RoPE, build_mae, standardize_windows
from cwtmae_cli.model.masking import random_masking, time_masking

# a small geometry that still has several rows and columns: 4 x 10 grid of 3 * 2 * 20 values
MINI = dict(signal_len=200, cwt_scales=8, patch_size_time=20, patch_size_freq=2, embed_dim=32,
            depth=2, num_heads=2, decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=2)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_default_model_has_the_seed_parameter_count() -> None:
    with torch.device("meta"):
        model = CWT_MAE_RoPE()
    assert n_params(model) == 95_618_954
    assert n_params(model.encoder) == 64_996_608
    assert n_params(model) - n_params(model.encoder) == 30_622_346


@pytest.mark.slow
def test_default_forward_shapes() -> None:
    torch.manual_seed(0)
    model = CWT_MAE_RoPE()
    with torch.no_grad():
        loss, pred_spec, pred_time, imgs = model(torch.randn(1, 3000))
    assert loss.shape == () and torch.isfinite(loss)
    assert pred_spec.shape == (1, 960, 600)
    assert pred_time.shape == (1, 3000)
    assert imgs.shape == (1, 3, 64, 3000)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"signal_len": 3001}, r"signal_len \(3001\) must be a multiple of patch_size_time \(50\)"),
        ({"cwt_scales": 62}, r"cwt_scales \(62\) must be a multiple of patch_size_freq \(4\)"),
        ({"embed_dim": 770}, r"embed_dim \(770\) must be divisible by num_heads \(12\)"),
        ({"embed_dim": 120}, r"head dim \(10\) must be a multiple of 4 for rope='axial'"),
        ({"decoder_embed_dim": 500}, r"decoder_embed_dim \(500\) must be divisible"),
        ({"mask_ratio": 1.0}, r"mask_ratio must be in \[0, 1\), got 1.0"),
        ({"mask_mode": "blocks"}, r"mask_mode must be one of random, time, got 'blocks'"),
        ({"rope": "2d"}, r"rope must be one of axial, 1d, got '2d'"),
        ({"depth": 0}, r"depth must be a positive integer, got 0"),
    ],
)
def test_bad_geometry_is_a_config_error_with_expected_and_got(overrides: dict, message: str
                                                              ) -> None:
    with torch.device("meta"), pytest.raises(ConfigError, match=message):
        CWT_MAE_RoPE(**overrides)


def test_head_dim_ten_is_fine_for_1d_rope() -> None:
    with torch.device("meta"):
        CWT_MAE_RoPE(embed_dim=120, rope="1d")


def test_wrong_input_length_names_the_expected_shape() -> None:
    model = CWT_MAE_RoPE(**MINI)
    with pytest.raises(ConfigError, match=r"\(B, 200\).*got \(2, 300\)"):
        model(torch.randn(2, 300))


@pytest.mark.parametrize(("n_patches", "ratio"), [(960, 0.75), (120, 0.6), (40, 0.9), (7, 0.5)])
def test_random_masking_keeps_int_n_times_one_minus_ratio(n_patches: int, ratio: float) -> None:
    torch.manual_seed(0)
    ids_keep, mask, ids_restore = random_masking(5, n_patches, ratio)
    n_keep = int(n_patches * (1 - ratio))
    assert ids_keep.shape == (5, n_keep)
    assert torch.equal(mask.sum(1), torch.full((5,), float(n_patches - n_keep)))
    assert torch.all(torch.gather(mask, 1, ids_keep) == 0)  # kept patches are marked 0
    for row in range(5):
        assert len(set(ids_keep[row].tolist())) == n_keep
    if n_patches > 100:
        assert not torch.equal(mask[0], mask[1])  # per-sample masks
    shuffled = torch.argsort(ids_restore, dim=1)
    identity = torch.arange(n_patches).expand(5, -1)
    assert torch.equal(torch.gather(shuffled, 1, ids_restore), identity)


def test_time_masking_masks_whole_columns() -> None:
    torch.manual_seed(0)
    grid_h, grid_w, ratio = 4, 30, 0.75
    ids_keep, mask, _ = time_masking(6, grid_h, grid_w, ratio)
    grid = mask.reshape(6, grid_h, grid_w)  # row-major patch order
    assert torch.all(grid == grid[:, :1, :])  # every column is all kept or all masked
    kept_cols = (grid[:, 0] == 0).sum(1)
    assert torch.equal(kept_cols, torch.full((6,), int(grid_w * (1 - ratio))))
    assert ids_keep.shape == (6, grid_h * int(grid_w * (1 - ratio)))
    assert torch.all(torch.gather(mask, 1, ids_keep) == 0)


def test_model_mask_counts_and_encoder_sees_only_kept_tokens() -> None:
    torch.manual_seed(0)
    for mode, n_keep in (("random", int(40 * 0.25)), ("time", 4 * int(10 * 0.25))):
        model = CWT_MAE_RoPE(**MINI, mask_mode=mode)
        imgs = model.encoder.images(torch.randn(3, 200))
        latent, mask, ids_restore = model.forward_encoder(imgs, 0.75)
        assert latent.shape == (3, 1 + n_keep, 32)
        assert torch.equal(mask.sum(1), torch.full((3,), float(40 - n_keep)))
        assert ids_restore.shape == (3, 40)


def test_patchify_order_matches_the_patch_embedding() -> None:
    model = CWT_MAE_RoPE(**MINI)
    imgs = torch.randn(2, 3, 8, 200)
    proj = model.encoder.patch_embed.proj
    direct = proj(imgs).flatten(2).transpose(1, 2)  # (B, N, D) in token order
    via_patches = model.patchify(imgs) @ proj.weight.reshape(32, -1).T + proj.bias
    torch.testing.assert_close(via_patches, direct, atol=1e-5, rtol=1e-5)


def test_loss_spec_ignores_visible_patches_and_sees_masked_ones() -> None:
    torch.manual_seed(0)
    model = CWT_MAE_RoPE(**MINI)
    imgs = torch.randn(2, 3, 8, 200)
    pred = torch.randn(2, 40, 120)
    _, mask, _ = random_masking(2, 40, 0.5)
    base = model.forward_loss_spec(imgs, pred, mask)

    def bumped(patch: int) -> torch.Tensor:
        r, c = divmod(patch, 10)  # grid 4 x 10, patch 2 x 20
        changed = imgs.clone()
        changed[1, :, 2 * r:2 * r + 2, 20 * c:20 * c + 20] += 3.0
        return model.forward_loss_spec(changed, pred, mask)

    visible = int(torch.nonzero(mask[1] == 0)[0])
    masked = int(torch.nonzero(mask[1] == 1)[0])
    assert torch.equal(bumped(visible), base)
    assert not torch.allclose(bumped(masked), base)


def test_loss_time_compares_with_the_zscored_input() -> None:
    model = CWT_MAE_RoPE(**MINI)
    x = torch.randn(2, 200) * 40 + 7
    assert model.forward_loss_time(x, standardize_windows(x)) == 0
    assert model.forward_loss_time(x, standardize_windows(x) + 0.5) == pytest.approx(0.25)


def test_total_loss_is_spec_plus_weighted_time_and_forward_agrees() -> None:
    model = CWT_MAE_RoPE(**MINI, time_loss_weight=0.3)
    x = torch.randn(2, 200)
    torch.manual_seed(5)
    parts = model.forward_with_parts(x)
    torch.testing.assert_close(parts["loss"], parts["loss_spec"] + 0.3 * parts["loss_time"])
    assert parts["mask"].shape == (2, 40)
    torch.manual_seed(5)
    loss, pred_spec, pred_time, imgs = model(x)
    torch.testing.assert_close(loss, parts["loss"])
    torch.testing.assert_close(pred_spec, parts["pred_spec"])
    torch.testing.assert_close(imgs, parts["imgs"])


@pytest.mark.parametrize(("mask_mode", "rope"), [("random", "axial"), ("time", "1d")])
def test_backward_reaches_every_trainable_parameter(mask_mode: str, rope: str) -> None:
    torch.manual_seed(0)
    model = CWT_MAE_RoPE(**MINI, mask_mode=mask_mode, rope=rope)
    model(torch.randn(3, 200))[0].backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert missing == []


@pytest.mark.slow
def test_tiny_preset_learns_a_fixed_batch() -> None:
    torch.manual_seed(0)
    model = build_mae("tiny")
    t = torch.arange(3000) / 100.0
    x = torch.sin(2 * torch.pi * torch.rand(8, 1) * 10 * t) + 0.1 * torch.randn(8, 3000)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(20):
        torch.manual_seed(1)  # same masks every step: a pure fitting problem
        loss = model(x)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_no_weight_decay_names() -> None:
    model = CWT_MAE_RoPE(**MINI)
    names = model.no_weight_decay()
    params = dict(model.named_parameters())
    assert names <= set(params)
    for expected in ("encoder.cls_token", "encoder.pos_embed", "mask_token", "decoder_pos_embed",
                     "encoder.norm.weight", "encoder.blocks.0.attn.proj.bias",
                     "encoder.patch_embed.norm.weight", "decoder_pred_spec.bias"):
        assert expected in names
    for decayed in ("encoder.blocks.0.attn.qkv.weight", "encoder.blocks.1.mlp.fc1.v.weight",
                    "encoder.patch_embed.proj.weight", "time_reducer.weight",
                    "decoder_blocks.0.mlp.fc2.weight"):
        assert decayed not in names
    assert all(params[n].ndim > 1 for n in set(params) - names)


def test_bf16_autocast_keeps_scalogram_and_losses_float32() -> None:
    torch.manual_seed(0)
    model = CWT_MAE_RoPE(**MINI)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        parts = model.forward_with_parts(torch.randn(2, 200))
    assert parts["imgs"].dtype == torch.float32
    assert parts["loss"].dtype == torch.float32 and torch.isfinite(parts["loss"])
    assert parts["pred_spec"].dtype == torch.bfloat16  # the network itself does run in bf16
    parts["loss"].backward()


@pytest.mark.parametrize(("mask_mode", "ratio", "n_masked"),
                         [("random", 0.5, 20), ("random", 0.25, 10), ("time", 0.5, 20),
                          ("time", 0.7, 28)])
def test_forward_masks_the_models_own_mask_ratio(mask_mode: str, ratio: float, n_masked: int
                                                  ) -> None:
    """``forward`` (not an explicit ratio) removes ``mask_ratio`` of the 40 patches."""
    torch.manual_seed(0)
    model = CWT_MAE_RoPE(**MINI, mask_mode=mask_mode, mask_ratio=ratio)
    parts = model.forward_with_parts(torch.randn(3, 200))
    assert torch.equal(parts["mask"].sum(1), torch.full((3,), float(n_masked)))
    torch.testing.assert_close(
        parts["loss_spec"],
        model.forward_loss_spec(parts["imgs"], parts["pred_spec"], parts["mask"]))


def test_loss_spec_is_the_mean_over_masked_patches_of_the_per_patch_mse() -> None:
    """Hand-computed: target 0, every value of patch n predicted as c_n, so a patch's MSE is
    c_n^2. Masked: sample 0 patches 1, 5 (c = 1, 2); sample 1 patches 0, 2, 7 (c = 1, 1, 3).
    Sum 1 + 4 + 1 + 1 + 9 = 16 over 5 masked patches = 3.2; visible patches (c = 10) ignored."""
    model = CWT_MAE_RoPE(**MINI)
    imgs = torch.zeros(2, 3, 8, 200)
    c = torch.full((2, 40), 10.0)
    mask = torch.zeros(2, 40)
    for b, n, value in ((0, 1, 1.0), (0, 5, 2.0), (1, 0, 1.0), (1, 2, 1.0), (1, 7, 3.0)):
        c[b, n], mask[b, n] = value, 1.0
    pred = c[..., None].expand(-1, -1, 120)  # (2, 40, 3 * 2 * 20)
    assert model.forward_loss_spec(imgs, pred, mask).item() == pytest.approx(3.2, rel=1e-6)
    assert model.forward_loss_spec(imgs, pred, torch.zeros(2, 40)).item() == 0.0
