"""Transformer layers against hand-written references: multi-head attention, pre-LN residuals."""

from __future__ import annotations

import math

import torch

from cwtmae_cli.model.layers import Attention, Block


def reference_attention(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    """Softmax attention head by head from the raw ``qkv`` and ``proj`` weights: ``(B, T, D)``."""
    B, T, D = x.shape
    h, hd = attn.num_heads, attn.head_dim
    w_q, w_k, w_v = attn.qkv.weight.split(D, dim=0)  # each (D, D), rows = output channels
    heads = []
    for i in range(h):
        rows = slice(i * hd, (i + 1) * hd)
        q, k, v = x @ w_q[rows].T, x @ w_k[rows].T, x @ w_v[rows].T  # (B, T, hd) each
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd), dim=-1)  # (B, T, T)
        heads.append(weights @ v)  # (B, T, hd)
    return attn.proj(torch.cat(heads, dim=-1))  # heads side by side in channel order


def test_attention_without_rope_is_per_head_softmax_attention() -> None:
    torch.manual_seed(0)
    attn = Attention(dim=12, num_heads=3)
    x = torch.randn(2, 5, 12)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), reference_attention(attn, x))


def test_block_with_silenced_branches_is_the_identity() -> None:
    """Zero output layers in both branches: a pre-LN block must pass its input through."""
    torch.manual_seed(0)
    for rank_ratio in (None, 0.5):
        block = Block(dim=8, num_heads=2, mlp_ratio=2.0, mlp_rank_ratio=rank_ratio)
        last = block.mlp.fc2 if rank_ratio is None else block.mlp.fc2.u
        with torch.no_grad():
            for layer in (block.attn.proj, last):
                layer.weight.zero_()
                layer.bias.zero_()
            x = torch.randn(3, 4, 8)
            torch.testing.assert_close(block(x), x, rtol=0, atol=0)
