"""CWT_MAE_RoPE's decoder input, exactly: kept tokens back at their patch, mask tokens elsewhere."""

from __future__ import annotations

import torch

from cwtmae_cli.model import CWT_MAE_RoPE

MINI = dict(signal_len=200, cwt_scales=8, patch_size_time=20, patch_size_freq=2, embed_dim=32,
            depth=1, num_heads=2, decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=2)


def test_decoder_input_puts_each_kept_token_at_its_own_patch() -> None:
    torch.manual_seed(0)
    model = CWT_MAE_RoPE(**MINI).eval()
    seen: list[torch.Tensor] = []
    model.decoder_blocks[0].register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    with torch.no_grad():
        imgs = model.encoder.images(torch.randn(2, 200))
        latent, mask, ids_restore = model.forward_encoder(imgs, 0.6)  # (B, 1 + K, D) ...
        model.forward_decoder(latent, ids_restore)
        embedded = model.decoder_embed(latent)  # (B, 1 + K, Dd)
    n_patches, n_kept = ids_restore.shape[1], latent.shape[1] - 1
    ids_keep = torch.argsort(ids_restore, dim=1)[:, :n_kept]  # (B, K) patch of each kept token
    pos = model.decoder_pos_embed[0].detach()  # (1 + N, Dd)
    expected = model.mask_token.detach().expand(2, 1 + n_patches, -1) + pos  # (B, 1 + N, Dd)
    expected = expected.clone()
    expected[:, 0] = embedded[:, 0] + pos[0]
    for b in range(2):
        for j, patch in enumerate(ids_keep[b].tolist()):
            assert mask[b, patch] == 0
            expected[b, 1 + patch] = embedded[b, 1 + j] + pos[1 + patch]
    assert int(mask.sum()) == 2 * (n_patches - n_kept)
    torch.testing.assert_close(seen[0], expected)
