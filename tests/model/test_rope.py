"""Rotary position embedding: relative-offset property, table growth, dtype, errors."""

from __future__ import annotations

import pytest
import torch

from cwtmae_cli.errors import ConfigError
from cwtmae_cli.model.rope import RotaryEmbedding, apply_rope


def scores(rope: RotaryEmbedding, grid_h: int, grid_w: int, q: torch.Tensor, k: torch.Tensor
           ) -> torch.Tensor:
    """``(T, T)`` scores of the same q and k vectors placed at every token position."""
    cos, sin = rope.tables(grid_h, grid_w)
    T = cos.shape[0]
    qs = apply_rope(q.expand(1, 1, T, -1), cos, sin)[0, 0]  # (T, hd)
    ks = apply_rope(k.expand(1, 1, T, -1), cos, sin)[0, 0]
    return qs @ ks.T


def test_axial_score_depends_only_on_row_and_column_offsets() -> None:
    torch.manual_seed(0)
    grid_h, grid_w, hd = 5, 7, 16
    rope = RotaryEmbedding(hd, "axial")
    q, k = torch.randn(hd), torch.randn(hd)
    s = scores(rope, grid_h, grid_w, q, k)[1:, 1:]  # patches only, token n = r * W + c
    by_offset: dict[tuple[int, int], list[float]] = {}
    for i in range(grid_h * grid_w):
        for j in range(grid_h * grid_w):
            offset = (j // grid_w - i // grid_w, j % grid_w - i % grid_w)
            by_offset.setdefault(offset, []).append(float(s[i, j]))
    for values in by_offset.values():
        assert max(values) - min(values) < 1e-4
    means = {o: sum(v) / len(v) for o, v in by_offset.items()}
    # and the offsets are told apart: rows and columns both matter
    assert abs(means[(1, 0)] - means[(0, 0)]) > 1e-3
    assert abs(means[(0, 1)] - means[(0, 0)]) > 1e-3
    assert abs(means[(1, 0)] - means[(0, 1)]) > 1e-3


def test_axial_is_not_the_flattened_index() -> None:
    """(0, W) apart in 1-D index terms is one row down: axial and 1d scores must differ."""
    torch.manual_seed(1)
    q, k = torch.randn(16), torch.randn(16)
    axial = scores(RotaryEmbedding(16, "axial"), 3, 4, q, k)
    flat = scores(RotaryEmbedding(16, "1d"), 3, 4, q, k)
    assert not torch.allclose(axial, flat, atol=1e-3)


def test_1d_score_depends_only_on_the_flattened_offset() -> None:
    torch.manual_seed(2)
    q, k = torch.randn(8), torch.randn(8)
    s = scores(RotaryEmbedding(8, "1d"), 3, 5, q, k)
    for offset in (0, 1, 4, 9):
        diag = torch.diagonal(s, offset)
        assert diag.max() - diag.min() < 1e-4


def test_cls_is_position_zero_and_tables_are_float32() -> None:
    for mode in ("axial", "1d"):
        cos, sin = RotaryEmbedding(16, mode).tables(4, 6)
        assert cos.dtype == sin.dtype == torch.float32
        assert cos.shape == sin.shape == (1 + 24, 16)
        assert torch.equal(cos[0], torch.ones(16)) and torch.equal(sin[0], torch.zeros(16))
        assert not torch.equal(cos[1], torch.ones(16))  # first patch is not at position 0


def test_tables_grow_for_longer_inputs_and_stay_consistent() -> None:
    for mode in ("axial", "1d"):
        rope = RotaryEmbedding(16, mode)
        small_cos, small_sin = rope.tables(2, 10)
        before = rope.capacity
        big_cos, big_sin = rope.tables(3, 400)
        assert rope.capacity > before and rope.capacity >= 401
        assert big_cos.shape == (1 + 1200, 16)
        again_cos, _ = rope.tables(2, 10)  # same positions, same values after growth
        torch.testing.assert_close(again_cos, small_cos, rtol=0, atol=0)
        if mode == "axial":  # patch (1, 3) in a 2 x 10 grid and in a 3 x 400 grid: same angles
            torch.testing.assert_close(big_cos[1 + 1 * 400 + 3], small_cos[1 + 1 * 10 + 3])
            torch.testing.assert_close(big_sin[1 + 1 * 400 + 3], small_sin[1 + 1 * 10 + 3])


def test_rotation_runs_in_float32_and_keeps_dtype_and_norm() -> None:
    rope = RotaryEmbedding(16, "axial")
    cos, sin = rope.tables(4, 4)
    x = torch.randn(2, 3, 17, 16)
    out = apply_rope(x, cos, sin)
    torch.testing.assert_close(out.norm(dim=-1), x.norm(dim=-1))  # a rotation
    assert apply_rope(x.bfloat16(), cos, sin).dtype == torch.bfloat16
    per_sample = (cos.expand(2, -1, -1), sin.expand(2, -1, -1))  # (B, T, hd) tables
    torch.testing.assert_close(apply_rope(x, *per_sample), out)


@pytest.mark.parametrize(("head_dim", "mode"), [(6, "axial"), (7, "1d"), (8, "spiral")])
def test_unsuitable_head_dim_or_mode_is_a_config_error(head_dim: int, mode: str) -> None:
    with pytest.raises(ConfigError):
        RotaryEmbedding(head_dim, mode)
