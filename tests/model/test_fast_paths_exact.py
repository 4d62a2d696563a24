"""The leaner paths of issue 16 give the values of the plain formulas they replace."""

from __future__ import annotations

import torch

from cwtmae_cli.model import CWT_MAE_RoPE
from cwtmae_cli.model.masking import random_masking, time_masking
from cwtmae_cli.model.rope import RotaryEmbedding, apply_rope, rotate_half

MINI = dict(signal_len=200, cwt_scales=8, patch_size_time=20, patch_size_freq=2, embed_dim=32,
            depth=1, num_heads=2, decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=2)


def test_apply_rope_is_the_rotate_half_formula_for_shared_and_per_sample_tables() -> None:
    torch.manual_seed(0)
    cos, sin = RotaryEmbedding(16, "axial").tables(3, 5)  # (16, 16)
    x = torch.randn(2, 4, 16, 16)
    torch.testing.assert_close(apply_rope(x, cos, sin), x * cos + rotate_half(x) * sin,
                               rtol=0, atol=0)
    index = torch.randint(0, 16, (2, 7))  # (B, T) per-sample positions, as with masking
    xs = torch.randn(2, 4, 7, 16)
    expected = xs * cos[index][:, None] + rotate_half(xs) * sin[index][:, None]
    torch.testing.assert_close(apply_rope(xs, cos[index], sin[index]), expected, rtol=0, atol=0)


def test_mask_is_one_exactly_where_a_patch_was_not_kept() -> None:
    torch.manual_seed(0)
    for ids_keep, mask, ids_restore in (random_masking(3, 40, 0.7), time_masking(3, 4, 10, 0.5)):
        expected = torch.ones(3, 40)
        expected.scatter_(1, ids_keep, 0.0)
        assert torch.equal(mask, expected)
        shuffled = torch.argsort(ids_restore, dim=1)
        assert torch.equal(shuffled[:, : ids_keep.shape[1]], ids_keep)


def test_loss_spec_equals_the_mse_against_the_patchified_target() -> None:
    torch.manual_seed(0)
    model = CWT_MAE_RoPE(**MINI)
    imgs = torch.randn(2, 3, 8, 200)
    pred = torch.randn(2, 40, 120)
    _, mask, _ = random_masking(2, 40, 0.6)
    per_patch = (pred - model.patchify(imgs)).pow(2).mean(dim=-1)  # (B, N)
    expected = (per_patch * mask).sum() / mask.sum()
    torch.testing.assert_close(model.forward_loss_spec(imgs, pred, mask), expected,
                               rtol=1e-6, atol=0)
