"""CWTEncoder's own steps, exactly: patch tokens plus their position embedding."""

from __future__ import annotations

import torch

from cwtmae_cli.model.encoder import CWTEncoder


def test_patch_n_gets_position_embedding_n_plus_one() -> None:
    """Token 0 of ``pos_embed`` is CLS's; patch ``n`` (row-major) adds entry ``n + 1``."""
    torch.manual_seed(0)
    encoder = CWTEncoder(signal_len=40, cwt_scales=4, patch_size_time=10, patch_size_freq=2,
                         embed_dim=8, depth=1, num_heads=2)
    encoder.init_tokens()
    imgs = torch.randn(2, 3, 4, 40)
    with torch.no_grad():
        added = encoder.embed(imgs) - encoder.patch_embed(imgs)  # (B, N, D)
    expected = encoder.pos_embed[:, 1:].detach().expand(2, -1, -1)  # (B, N, D)
    torch.testing.assert_close(added, expected)
