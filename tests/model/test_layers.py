"""Transformer layers: RoPE attention is relative (q and k both rotated); MAE-style init."""

from __future__ import annotations

import torch

from cwtmae_cli.model.layers import Attention
from cwtmae_cli.model.rope import RotaryEmbedding


def test_attention_rotates_q_and_k_so_a_common_shift_changes_nothing() -> None:
    """With q and k both rotated, scores depend on position offsets only: moving every token by
    the same number of positions leaves the output unchanged. Rotating only one of them (or
    neither) breaks this or makes RoPE a no-op."""
    torch.manual_seed(0)
    attn = Attention(16, 2).eval()  # head_dim 8
    cos, sin = RotaryEmbedding(8, "1d").tables(1, 20)  # (21, 8): positions 0..20
    x = torch.randn(1, 6, 16)
    at_0 = attn(x, (cos[0:6], sin[0:6]))
    at_5 = attn(x, (cos[5:11], sin[5:11]))
    torch.testing.assert_close(at_5, at_0, atol=1e-5, rtol=1e-5)
    assert (at_0 - attn(x, None)).abs().max() > 1e-3  # and RoPE does act
