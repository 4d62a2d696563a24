"""Transformer building blocks: patch embedding, low-rank MLP, RoPE attention, pre-LN block.

Attribute names are stable on purpose: checkpoint keys are built from them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cwtmae_cli.model.rope import apply_rope

RopeTables = tuple[torch.Tensor, torch.Tensor]


class PatchEmbed(nn.Module):
    """Scalogram ``(B, 3, S, L)`` to patch tokens ``(B, N, D)``, ``N = (S / pf) * (L / pt)``.

    One ``Conv2d(3, D, kernel=stride=(pf, pt))`` then LayerNorm; tokens are in row-major order
    over the ``(grid_h, grid_w)`` = (frequency, time) grid.
    """

    def __init__(self, patch_size: tuple[int, int], embed_dim: int, in_chans: int = 3) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        return self.finish(self.proj(imgs))

    def finish(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution's output ``(B, D, grid_h, grid_w)`` to normalised tokens (B, N, D)."""
        x = x.flatten(2).transpose(1, 2)  # (B, N, D)
        return self.norm(x)


class TensorizedLinear(nn.Module):
    """Low-rank linear map ``u(v(x))``: ``v = Linear(in, r, bias=False)``, ``u = Linear(r, out)``.

    ``r = max(32, int(min(in, out) * rank_ratio))``.
    """

    def __init__(self, in_features: int, out_features: int, rank_ratio: float = 0.5) -> None:
        super().__init__()
        self.rank = max(32, int(min(in_features, out_features) * rank_ratio))
        self.v = nn.Linear(in_features, self.rank, bias=False)
        self.u = nn.Linear(self.rank, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.u(self.v(x))


class Mlp(nn.Module):
    """``fc1 -> GELU -> fc2``; dense (``rank_ratio=None``) or tensorized (low-rank) linears."""

    def __init__(self, dim: int, hidden_dim: int, rank_ratio: float | None = None) -> None:
        super().__init__()
        if rank_ratio is None:
            self.fc1: nn.Module = nn.Linear(dim, hidden_dim)
            self.fc2: nn.Module = nn.Linear(hidden_dim, dim)
        else:
            self.fc1 = TensorizedLinear(dim, hidden_dim, rank_ratio)
            self.fc2 = TensorizedLinear(hidden_dim, dim, rank_ratio)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    """Multi-head self-attention with RoPE on q and k (``qkv`` without bias, ``proj`` with bias)."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, rope: RopeTables | None = None) -> torch.Tensor:
        """``x (B, T, D)``; ``rope`` = (cos, sin), each ``(T, hd)`` or ``(B, T, hd)``."""
        B, T, D = x.shape
        qkv = self.qkv(x).reshape(B, T, 3, self.num_heads, self.head_dim)  # (B, T, 3, h, hd)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, h, T, hd)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        x = F.scaled_dot_product_attention(q, k, v)  # (B, h, T, hd)
        x = x.transpose(1, 2).reshape(B, T, D)  # (B, T, D)
        return self.proj(x)


class Block(nn.Module):
    """Pre-LN transformer block: ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``.

    ``mlp_rank_ratio`` set: tensorized MLP (encoder); ``None``: dense MLP (decoder).
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0,
                 mlp_rank_ratio: float | None = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), mlp_rank_ratio)

    def forward(self, x: torch.Tensor, rope: RopeTables | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), rope)
        return x + self.mlp(self.norm2(x))


def init_weights(module: nn.Module) -> None:
    """MAE-style init: xavier-uniform linears and convs, zero biases, unit LayerNorms."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        nn.init.xavier_uniform_(module.weight.view(module.weight.shape[0], -1))
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
