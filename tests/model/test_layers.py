"""Transformer layers: RoPE attention is relative (q and k both rotated); MAE-style init."""

from __future__ import annotations

import pytest
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


def test_patch_embedding_gets_xavier_on_its_flattened_kernel_and_zero_biases() -> None:
    """As MAE does: xavier-uniform of the (D, 3 pf pt) matrix, bound sqrt(6 / (600 + 768)) at
    the base geometry (a 4-D xavier would use fan_out = 768 * 200 and start ~10x smaller)."""
    import math

    from cwtmae_cli.model import CWT_MAE_RoPE

    torch.manual_seed(0)
    model = CWT_MAE_RoPE(embed_dim=768, depth=1, num_heads=12, decoder_embed_dim=32,
                         decoder_depth=1, decoder_num_heads=2)
    weight = model.encoder.patch_embed.proj.weight  # (768, 3, 4, 50)
    bound = math.sqrt(6 / (3 * 4 * 50 + 768))
    assert weight.abs().max() <= bound
    assert weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert torch.equal(model.encoder.patch_embed.proj.bias, torch.zeros(768))
    assert torch.equal(model.time_reducer.bias, torch.zeros(32))


def test_head_dropout_defaults_to_0_1_in_both_heads() -> None:
    from cwtmae_cli.model import TF_MAE_Classifier, preset_config

    for use_cot in (True, False):
        clf = TF_MAE_Classifier(None, num_classes=2, use_cot=use_cot, **preset_config("tiny"))
        rates = {m.p for m in clf.head.modules() if isinstance(m, torch.nn.Dropout)}
        if use_cot:
            rates |= {clf.head.cross_attn.dropout, clf.head.self_attn.dropout}
        assert rates == {0.1}, use_cot
