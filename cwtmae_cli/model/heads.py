"""Classification heads on encoder patch tokens ``(B, N, D)`` -> logits ``(B, num_classes)``."""

from __future__ import annotations

import torch
from torch import nn


class LatentReasoningHead(nn.Module):
    """Latent reasoning ("CoT") head.

    ``num_reasoning_tokens`` learnable tokens (N(0, 0.02)) cross-attend to the patch tokens
    (residual + LayerNorm), self-attend among themselves (residual + LayerNorm), go through a 4x
    FFN (residual + LayerNorm), are averaged and mapped to logits.
    """

    def __init__(self, embed_dim: int, num_classes: int, num_heads: int,
                 num_reasoning_tokens: int = 8, dropout: float = 0.1) -> None:
        super().__init__()
        self.reasoning_tokens = nn.Parameter(torch.zeros(1, num_reasoning_tokens, embed_dim))
        nn.init.normal_(self.reasoning_tokens, std=0.02)
        self.cross_attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=dropout,
                                                batch_first=True)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.self_attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=dropout,
                                               batch_first=True)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dim, 4 * embed_dim), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(4 * embed_dim, embed_dim),
        )
        self.norm3 = nn.LayerNorm(embed_dim)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(embed_dim, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens (B, N, D)`` -> logits ``(B, num_classes)``."""
        t = self.reasoning_tokens.expand(tokens.shape[0], -1, -1)  # (B, R, D)
        attended, _ = self.cross_attn(t, tokens, tokens, need_weights=False)  # (B, R, D)
        t = self.norm1(t + self.dropout(attended))
        attended, _ = self.self_attn(t, t, t, need_weights=False)  # (B, R, D)
        t = self.norm2(t + self.dropout(attended))
        t = self.norm3(t + self.dropout(self.ffn(t)))
        return self.fc(t.mean(dim=1))  # (B, num_classes)


class ResidualBlock(nn.Module):
    """``x + Dropout(Linear(GELU(Linear(LN(x)))))``."""

    def __init__(self, dim: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.dropout(self.fc2(self.act(self.fc1(self.norm(x)))))


class ResidualMLPHead(nn.Module):
    """Mean over patch tokens -> LN -> Linear(D, hidden) -> GELU -> Dropout -> residual blocks
    -> LN -> Linear(hidden, num_classes)."""

    def __init__(self, embed_dim: int, num_classes: int, hidden_dim: int = 512,
                 num_res_blocks: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        self.norm_in = nn.LayerNorm(embed_dim)
        self.fc_in = nn.Linear(embed_dim, hidden_dim)
        self.act = nn.GELU()
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(ResidualBlock(hidden_dim, dropout)
                                    for _ in range(num_res_blocks))
        self.norm_out = nn.LayerNorm(hidden_dim)
        self.fc = nn.Linear(hidden_dim, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens (B, N, D)`` -> logits ``(B, num_classes)``."""
        x = self.dropout(self.act(self.fc_in(self.norm_in(tokens.mean(dim=1)))))  # (B, hidden)
        for block in self.blocks:
            x = block(x)
        return self.fc(self.norm_out(x))
