"""RoPE cos/sin tables against angles written out by hand (float64 reference)."""

from __future__ import annotations

import math

import torch

from cwtmae_cli.model.rope import RotaryEmbedding


def test_axial_tables_hold_row_and_column_angles_of_each_token() -> None:
    """head_dim 8, theta 100: P = 2 pairs per axis, inverse frequencies 100^(-j/2) = 1, 0.1.
    CLS sits at (0, 0); patch (r, c) at (r + 1, c + 1); channels [row, col, row, col]."""
    grid_h, grid_w, theta = 2, 3, 100.0
    cos, sin = RotaryEmbedding(8, "axial", theta).tables(grid_h, grid_w)
    inv_freq = [theta ** (-j / 2) for j in range(2)]
    positions = [(0, 0)] + [(r + 1, c + 1) for r in range(grid_h) for c in range(grid_w)]
    for token, (row, col) in enumerate(positions):
        angles = [row * f for f in inv_freq] + [col * f for f in inv_freq]  # (4,)
        angles = angles + angles  # rotate_half pairs channel j with j + 4
        expected_cos = torch.tensor([math.cos(a) for a in angles])
        expected_sin = torch.tensor([math.sin(a) for a in angles])
        torch.testing.assert_close(cos[token], expected_cos, rtol=0, atol=1e-6)
        torch.testing.assert_close(sin[token], expected_sin, rtol=0, atol=1e-6)


def test_1d_tables_turn_token_n_by_n_times_each_frequency() -> None:
    theta = 50.0
    cos, sin = RotaryEmbedding(4, "1d", theta).tables(2, 2)  # CLS + 4 patches
    inv_freq = torch.tensor([theta ** (-j / 2) for j in range(2)], dtype=torch.float64)
    angles = torch.arange(5, dtype=torch.float64)[:, None] * inv_freq  # (5, 2)
    angles = torch.cat([angles, angles], dim=1)  # (5, 4)
    torch.testing.assert_close(cos, angles.cos().float(), rtol=0, atol=1e-6)
    torch.testing.assert_close(sin, angles.sin().float(), rtol=0, atol=1e-6)
