"""``CWT_MAE_RoPE``: masked-autoencoder pretraining on Ricker scalograms of windows.

With ``in_channels = C > 1`` the windows are ``(B, C, L)``: every patch's target holds the
``3 C`` planes of all channels and the time head reconstructs each channel, so the loss covers all.

``forward`` = scalogram -> ``random_masking`` (or time-column masking) -> ``forward_encoder`` ->
``forward_decoder`` -> ``forward_loss_spec`` + ``time_loss_weight * forward_loss_time``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cwtmae_cli.errors import ConfigError
from cwtmae_cli.model.cwt import standardize_windows
from cwtmae_cli.model.encoder import CWTEncoder
from cwtmae_cli.model.layers import Block, init_weights
from cwtmae_cli.model.masking import MASK_MODES, random_masking, time_masking
from cwtmae_cli.model.params import no_weight_decay_names
from cwtmae_cli.model.rope import RotaryEmbedding, check_rope_head_dim


class CWT_MAE_RoPE(nn.Module):  # noqa: N801 - the seed's public name
    """CWT masked autoencoder with RoPE; ``.config`` holds every constructor argument.

    Shapes at defaults: input ``(B, 3000)``; ``N = 16 x 60 = 960`` patches of ``3 * 4 * 50 = 600``
    values. ``forward`` returns ``(loss (), pred_spec (B, 960, 600), pred_time (B, 3000),
    imgs (B, 3, 64, 3000))``.
    """

    def __init__(self, signal_len: int = 3000, cwt_scales: int = 64, patch_size_time: int = 50,
                 patch_size_freq: int = 4, embed_dim: int = 768, depth: int = 12,
                 num_heads: int = 12, decoder_embed_dim: int = 512, decoder_depth: int = 8,
                 decoder_num_heads: int = 16, mask_ratio: float = 0.75,
                 mlp_rank_ratio: float = 0.5, time_loss_weight: float = 1.0,
                 mask_mode: str = "random", rope: str = "axial", rope_theta: float = 10000.0,
                 decoder_mlp_ratio: float = 4.0, in_channels: int = 1) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            k: v for k, v in locals().items() if k not in ("self", "__class__")
        }
        if not 0.0 <= float(mask_ratio) < 1.0:
            raise ConfigError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
        if mask_mode not in MASK_MODES:
            raise ConfigError(f"mask_mode must be one of {', '.join(MASK_MODES)}, "
                              f"got {mask_mode!r}")
        if decoder_embed_dim % decoder_num_heads != 0:
            raise ConfigError(f"decoder_embed_dim ({decoder_embed_dim}) must be divisible by "
                              f"decoder_num_heads ({decoder_num_heads})")
        check_rope_head_dim(decoder_embed_dim // decoder_num_heads, rope, "decoder")
        self.encoder = CWTEncoder(signal_len, cwt_scales, patch_size_time, patch_size_freq,
                                  embed_dim, depth, num_heads, mlp_rank_ratio, rope, rope_theta,
                                  in_channels)
        self.mask_ratio = float(mask_ratio)
        self.mask_mode = mask_mode
        self.time_loss_weight = float(time_loss_weight)
        self.patch_size = (patch_size_freq, patch_size_time)
        grid_h, grid_w = self.encoder.grid_h, self.encoder.grid_w
        n_tokens = 1 + self.encoder.num_patches

        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        self.decoder_pos_embed = nn.Parameter(torch.zeros(1, n_tokens, decoder_embed_dim))
        self.decoder_rope = RotaryEmbedding(decoder_embed_dim // decoder_num_heads, rope,
                                            rope_theta, grid=(grid_h, grid_w))
        self.decoder_blocks = nn.ModuleList(
            Block(decoder_embed_dim, decoder_num_heads, mlp_ratio=decoder_mlp_ratio)
            for _ in range(decoder_depth)
        )
        self.decoder_norm = nn.LayerNorm(decoder_embed_dim)
        self.decoder_pred_spec = nn.Linear(decoder_embed_dim,
                                           3 * in_channels * patch_size_freq * patch_size_time)
        # one token per time column: a conv spanning all grid_h frequency rows
        self.time_reducer = nn.Conv2d(decoder_embed_dim, decoder_embed_dim, (grid_h, 1))
        self.decoder_pred_time = nn.Linear(decoder_embed_dim, in_channels * patch_size_time)

        self.apply(init_weights)
        self.encoder.init_tokens()
        nn.init.normal_(self.mask_token, std=0.02)
        nn.init.normal_(self.decoder_pos_embed, std=0.02)

    # ----------------------------------------------------------------------------------------
    def patchify(self, imgs: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, L)`` to ``(B, N, 3 * pf * pt)``, values in (channel, freq, time) order."""
        B, C, S, L = imgs.shape
        pf, pt = self.patch_size
        x = imgs.reshape(B, C, S // pf, pf, L // pt, pt)  # (B, C, gh, pf, gw, pt)
        x = x.permute(0, 2, 4, 1, 3, 5)  # (B, gh, gw, C, pf, pt)
        return x.reshape(B, (S // pf) * (L // pt), C * pf * pt)  # (B, N, 3 pf pt)

    def forward_encoder(self, imgs: torch.Tensor, mask_ratio: float
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Embed, mask and encode.

        Args:
            imgs: normalised scalogram ``(B, 3, S, L)``.
            mask_ratio: fraction of patches to remove.
        Returns:
            latent ``(B, 1 + K, D)`` (CLS first), mask ``(B, N)`` (0 is keep, 1 is remove),
            ids_restore ``(B, N)`` (position of each patch in the shuffled order).
        """
        tokens = self.encoder.embed(imgs)  # (B, N, D)
        if self.mask_mode == "time":
            ids_keep, mask, ids_restore = time_masking(
                tokens.shape[0], self.encoder.grid_h, self.encoder.grid_w, mask_ratio,
                tokens.device)
        else:
            ids_keep, mask, ids_restore = random_masking(
                tokens.shape[0], tokens.shape[1], mask_ratio, tokens.device)
        kept = torch.gather(tokens, 1, ids_keep[..., None].expand(-1, -1, tokens.shape[-1]))
        latent = self.encoder(kept, ids_keep)  # (B, 1 + K, D)
        return latent, mask, ids_restore

    def forward_decoder(self, latent: torch.Tensor, ids_restore: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruct all patches and the time signal.

        Args:
            latent: ``(B, 1 + K, D)`` from ``forward_encoder``.
            ids_restore: ``(B, N)``.
        Returns:
            pred_spec ``(B, N, 3 C pf pt)``, pred_time ``(B, L)`` (``(B, C, L)`` for C > 1).
        """
        x = self.decoder_embed(latent)  # (B, 1 + K, Dd)
        B, n_kept, Dd = x.shape[0], x.shape[1] - 1, x.shape[2]
        n_patches = ids_restore.shape[1]
        masked = self.mask_token.expand(B, n_patches - n_kept, -1)  # (B, N - K, Dd)
        shuffled = torch.cat([x, masked], dim=1)  # (B, 1 + N, Dd): CLS, kept, mask tokens
        # one gather unshuffles the patches and keeps CLS first (index 0 -> 0, patch n -> 1 + r)
        order = F.pad(ids_restore + 1, (1, 0))  # (B, 1 + N)
        x = torch.gather(shuffled, 1, order[..., None].expand(-1, -1, Dd))  # (B, 1 + N, Dd)
        x = x + self.decoder_pos_embed
        grid_h, grid_w = self.encoder.grid_h, self.encoder.grid_w
        rope = self.decoder_rope.tables(grid_h, grid_w, x.device)  # (1 + N, hd) each
        for block in self.decoder_blocks:
            x = block(x, rope)
        x = self.decoder_norm(x)[:, 1:]  # (B, N, Dd), CLS dropped
        pred_spec = self.decoder_pred_spec(x)  # (B, N, 3 pf pt)
        grid = x.transpose(1, 2).reshape(B, Dd, grid_h, grid_w)  # (B, Dd, gh, gw)
        columns = F.gelu(self.time_reducer(grid))  # (B, Dd, 1, gw)
        columns = columns.flatten(2).transpose(1, 2)  # (B, gw, Dd)
        pred_time = self.decoder_pred_time(columns)  # (B, gw, C pt)
        if self.encoder.in_channels == 1:
            return pred_spec, pred_time.reshape(B, -1)  # (B, gw * pt) = (B, L)
        pred_time = pred_time.reshape(B, grid_w, self.encoder.in_channels, -1).transpose(1, 2)
        return pred_spec, pred_time.reshape(B, self.encoder.in_channels, -1)  # (B, C, L)

    def forward_loss_spec(self, imgs: torch.Tensor, pred_spec: torch.Tensor,
                          mask: torch.Tensor) -> torch.Tensor:
        """MSE per patch (mean over its ``3 pf pt`` values), averaged over masked patches only.

        ``imgs (B, 3, S, L)``, ``pred_spec (B, N, 3 pf pt)``, ``mask (B, N)`` (1 = masked).
        Zero when nothing is masked.
        """
        B, C, S, L = imgs.shape
        pf, pt = self.patch_size
        gh, gw = S // pf, L // pt
        # compare in the scalogram's own layout: both sides are views, so the target is never
        # copied into patch order (patchify would); the squared error is the only new tensor
        target = imgs.reshape(B, C, gh, pf, gw, pt)  # a view of the contiguous scalogram
        pred = pred_spec.reshape(B, gh, gw, C, pf, pt).permute(0, 3, 1, 4, 2, 5)  # as target
        per_patch = (pred.float() - target).pow(2).mean(dim=(1, 3, 5))  # (B, gh, gw)
        per_patch = per_patch.reshape(B, gh * gw)  # (B, N), row-major as the patches
        return (per_patch * mask).sum() / mask.sum().clamp_min(1.0)

    def forward_loss_time(self, x: torch.Tensor, pred_time: torch.Tensor) -> torch.Tensor:
        """MSE over all samples between ``pred_time`` (``(B, L)`` or ``(B, C, L)``) and the input
        z-scored per window and channel."""
        return F.mse_loss(pred_time.float(), standardize_windows(x))

    def forward_with_parts(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything one pretraining step computes, for logging.

        ``x (B, L)`` or ``(B, 1, L)`` -> dict with ``loss``, ``loss_spec``, ``loss_time`` (scalars),
        ``pred_spec (B, N, 3 pf pt)``, ``pred_time (B, L)``, ``imgs (B, 3, S, L)``, ``mask (B, N)``.
        """
        imgs = self.encoder.images(x)  # (B, 3, S, L), also checks the shape
        latent, mask, ids_restore = self.forward_encoder(imgs, self.mask_ratio)
        pred_spec, pred_time = self.forward_decoder(latent, ids_restore)
        loss_spec = self.forward_loss_spec(imgs, pred_spec, mask)
        loss_time = self.forward_loss_time(x, pred_time)
        loss = loss_spec + self.time_loss_weight * loss_time
        return {"loss": loss, "loss_spec": loss_spec, "loss_time": loss_time,
                "pred_spec": pred_spec, "pred_time": pred_time, "imgs": imgs, "mask": mask}

    def forward(self, x: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x (B, L)`` -> ``(loss, pred_spec (B, N, 3 pf pt), pred_time (B, L), imgs)``."""
        parts = self.forward_with_parts(x)
        return parts["loss"], parts["pred_spec"], parts["pred_time"], parts["imgs"]

    def no_weight_decay(self) -> set[str]:
        """Parameter names without weight decay: biases, norms, tokens, position embeddings."""
        return no_weight_decay_names(self)
