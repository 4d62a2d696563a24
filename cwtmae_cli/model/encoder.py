"""The CWT-MAE-RoPE encoder, shared by pretraining (``CWT_MAE_RoPE``) and fine-tuning.

Window ``(B, L)`` -> Ricker scalogram of ``[x, d1, d2]`` z-scored per sample and view
``(B, 3, S, L)`` -> patch tokens ``(B, N, D)`` + absolute position embedding -> (optionally a subset
of kept tokens) -> ``[CLS] + tokens`` -> pre-LN blocks with RoPE on q, k and tensorized MLPs ->
LayerNorm.

With ``in_channels = C > 1`` a window is ``(B, C, L)``: each channel gets its own three views,
z-scored on their own, and the ``3 C`` scalogram planes (channel-major: ``c0 x, c0 d1, c0 d2, c1 x,
...``) are the image channels of the patch embedding, so the token grid and everything after it
are those of one channel (``docs/model.md``).
"""

from __future__ import annotations

import torch
from torch import nn

from cwtmae_cli.errors import ConfigError
from cwtmae_cli.model.direct_tokens import (
    TokenFilters,
    build_token_filters,
    direct_patch_embedding,
    filter_bytes,
)
from cwtmae_cli.model.layers import Block, PatchEmbed
from cwtmae_cli.model.rope import RotaryEmbedding, check_rope_head_dim
from cwtmae_cli.model.scalogram import normalized_cwt

# Where the direct token path measured faster than the scalogram on the CPU
# (benchmarks/bench_tokens.py, docs/performance.md): composed filters of at most this size (tiny's
# 10.5 MiB, 31.6 MiB with 3 channels; small's 267 MiB were slower at every batch up to 32) and
# at least DIRECT_MIN_WINDOWS[threads] windows in the batch, for torch's intra-op thread count.
# Thread counts not in the table were not measured (a 2-core machine): the scalogram, as before.
DIRECT_FILTER_MAX_BYTES = 64 << 20
DIRECT_MIN_WINDOWS = {1: 4, 2: 16}


def direct_tokens_pay(filter_bytes: int, n_windows: int, threads: int) -> bool:
    """True where the direct token path measured faster than building the scalogram on the
    CPU: filters of ``filter_bytes``, a batch of ``n_windows``, ``threads`` intra-op threads."""
    min_windows = DIRECT_MIN_WINDOWS.get(threads)
    return (filter_bytes <= DIRECT_FILTER_MAX_BYTES and min_windows is not None
            and n_windows >= min_windows)


def check_geometry(signal_len: int, cwt_scales: int, patch_size_time: int, patch_size_freq: int,
                   embed_dim: int, num_heads: int, rope: str, where: str = "encoder") -> None:
    """Raise ConfigError (expected vs got) for a shape that cannot be patched or split in heads."""
    for name, value in (("signal_len", signal_len), ("cwt_scales", cwt_scales),
                        ("patch_size_time", patch_size_time), ("patch_size_freq", patch_size_freq),
                        ("embed_dim", embed_dim), ("num_heads", num_heads)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if signal_len % patch_size_time != 0:
        raise ConfigError(f"signal_len ({signal_len}) must be a multiple of "
                          f"patch_size_time ({patch_size_time})")
    if cwt_scales % patch_size_freq != 0:
        raise ConfigError(f"cwt_scales ({cwt_scales}) must be a multiple of "
                          f"patch_size_freq ({patch_size_freq})")
    if embed_dim % num_heads != 0:
        raise ConfigError(f"{where} embed_dim ({embed_dim}) must be divisible by "
                          f"num_heads ({num_heads})")
    check_rope_head_dim(embed_dim // num_heads, rope, where)


class CWTEncoder(nn.Module):
    """Scalogram patch encoder with CLS token, learnable position embedding and RoPE.

    Parameters: ``patch_embed``, ``cls_token (1, 1, D)``, ``pos_embed (1, 1 + N, D)``,
    ``blocks``, ``norm``. The buffer ``grid_size`` = ``(grid_h, grid_w)`` travels in the state dict
    so that a classifier can interpolate ``pos_embed`` from any saved grid.
    """

    def __init__(self, signal_len: int = 3000, cwt_scales: int = 64, patch_size_time: int = 50,
                 patch_size_freq: int = 4, embed_dim: int = 768, depth: int = 12,
                 num_heads: int = 12, mlp_rank_ratio: float = 0.5, rope: str = "axial",
                 rope_theta: float = 10000.0, in_channels: int = 1) -> None:
        super().__init__()
        check_geometry(signal_len, cwt_scales, patch_size_time, patch_size_freq, embed_dim,
                       num_heads, rope)
        for name, value in (("depth", depth), ("in_channels", in_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        self.in_channels = in_channels
        self.signal_len = signal_len
        self.cwt_scales = cwt_scales
        self.grid_h = cwt_scales // patch_size_freq
        self.grid_w = signal_len // patch_size_time
        self.num_patches = self.grid_h * self.grid_w
        self.embed_dim = embed_dim
        self.depth = depth
        self.patch_embed = PatchEmbed((patch_size_freq, patch_size_time), embed_dim,
                                      in_chans=3 * in_channels)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.num_patches, embed_dim))
        self.rope = RotaryEmbedding(embed_dim // num_heads, rope, rope_theta,
                                    grid=(self.grid_h, self.grid_w))
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio=4.0, mlp_rank_ratio=mlp_rank_ratio)
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.register_buffer("grid_size", torch.tensor([self.grid_h, self.grid_w]))
        self.direct_tokens: bool | None = None  # see uses_direct_tokens; not saved
        self._token_filters: tuple[torch.Tensor, TokenFilters] | None = None  # (kernel, filters)

    def _rows(self, x: torch.Tensor) -> torch.Tensor:
        """Windows ``(B, L)`` or ``(B, C, L)`` checked and laid out as ``(B, C, L)``."""
        C, shape = self.in_channels, tuple(x.shape)
        fits = (x.dim() == 3 and shape[1] == C) or (x.dim() == 2 and C == 1)
        if not fits or shape[-1] != self.signal_len:
            raise ConfigError(f"input windows must be (B, {C}, {self.signal_len})"
                              f"{f' or (B, {self.signal_len})' if C == 1 else ''}, got {shape}")
        return x.reshape(-1, C, self.signal_len)  # (B, C, L)

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """Windows ``(B, L)`` or ``(B, C, L)`` to the normalised scalogram ``(B, 3 C, S, L)``."""
        x = self._rows(x).reshape(-1, self.signal_len)  # (B C, L): each window's channels in a row
        imgs = normalized_cwt(x, self.cwt_scales)  # (B C, 3, S, L), z-scored in one pass
        if self.in_channels == 1:
            return imgs  # (B, 3, S, L)
        return imgs.reshape(-1, 3 * self.in_channels, *imgs.shape[-2:])  # (B, 3 C, S, L), a view

    def embed(self, imgs: torch.Tensor) -> torch.Tensor:
        """Scalogram ``(B, 3 C, S, L)`` to patch tokens with position embedding ``(B, N, D)``."""
        return self.patch_embed(imgs) + self.pos_embed[:, 1:]

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Windows ``(B, L)`` or ``(B, C, L)`` to embedded patch tokens ``(B, N, D)`` (+ pos_embed).

        ``embed(images(x))``, or the same tokens computed from the signal without the scalogram
        (``direct_tokens.py``) where :meth:`uses_direct_tokens` says so. Either way the result is
        the same to float32 round-off; every inference path (validation, evaluate, predict,
        embed) goes through here, so they share one rule and one set of numerics.
        """
        if not self.uses_direct_tokens(x):
            return self.embed(self.images(x))
        conv = direct_patch_embedding(self._rows(x), self.token_filters(),
                                      self.patch_embed.proj.bias)  # (B, D, grid_h, grid_w)
        return self.patch_embed.finish(conv) + self.pos_embed[:, 1:]

    def uses_direct_tokens(self, x: torch.Tensor) -> bool:
        """True where :meth:`tokens` skips the scalogram: a float32 patch kernel, no gradient
        wanted through the patch embedding, and either ``direct_tokens`` is True or (``None``,
        the default) the windows are on the CPU where :func:`direct_tokens_pay` says the direct
        path measured faster (filter size, windows in the batch, torch's thread count)."""
        proj = self.patch_embed.proj
        wants_grad = torch.is_grad_enabled() and (
            x.requires_grad or any(p.requires_grad for p in proj.parameters()))
        if wants_grad or self.direct_tokens is False or proj.weight.dtype != torch.float32:
            return False
        return bool(self.direct_tokens) or (x.device.type == "cpu" and direct_tokens_pay(
            self.token_filter_bytes(), x.shape[0], torch.get_num_threads()))

    def token_filter_bytes(self) -> int:
        """Size of the composed filters of this geometry (:func:`direct_tokens.filter_bytes`)."""
        return filter_bytes(self.embed_dim, 3 * self.in_channels, self.patch_embed.patch_size,
                            self.signal_len, self.cwt_scales)

    def token_filters(self) -> TokenFilters:
        """The composed filters of the current patch kernel, rebuilt whenever the kernel's values
        differ from those they were built from (an optimizer step, a load, a move)."""
        weight = self.patch_embed.proj.weight.detach()
        cached = self._token_filters
        same = cached is not None and (cached[0].shape, cached[0].dtype, cached[0].device) == (
            weight.shape, weight.dtype, weight.device)
        if not same or not torch.equal(cached[0], weight):
            with torch.inference_mode(False):  # plain tensors, usable outside inference mode
                bank = build_token_filters(weight, self.signal_len, self.cwt_scales)
                self._token_filters = (weight.clone(), bank)
        return self._token_filters[1]

    def forward(self, tokens: torch.Tensor, ids_keep: torch.Tensor | None = None) -> torch.Tensor:
        """Run the blocks on (kept) patch tokens.

        Args:
            tokens: ``(B, K, D)`` embedded patch tokens (``K = N`` when nothing is masked).
            ids_keep: ``(B, K)`` patch index of each kept token, or None for all ``N`` in order.
        Returns:
            ``(B, 1 + K, D)``: CLS then the tokens, after the final LayerNorm.
        """
        B = tokens.shape[0]
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(B, -1, -1)  # (B, 1, D)
        x = torch.cat([cls, tokens], dim=1)  # (B, 1 + K, D)
        cos, sin = self.rope.tables(self.grid_h, self.grid_w, x.device)  # (1 + N, hd)
        if ids_keep is not None:
            index = torch.cat([torch.zeros_like(ids_keep[:, :1]), ids_keep + 1], dim=1)  # (B, 1+K)
            cos, sin = cos[index], sin[index]  # (B, 1 + K, hd): each token's own position
        for block in self.blocks:
            x = block(x, (cos, sin))
        return self.norm(x)

    def init_tokens(self) -> None:
        """N(0, 0.02) for the CLS token and the position embedding."""
        nn.init.normal_(self.cls_token, std=0.02)
        nn.init.normal_(self.pos_embed, std=0.02)
