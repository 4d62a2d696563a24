"""Rotary position embedding (RoPE) for the patch grid, axial (2-D) or flattened (1-D).

Tokens are ``[CLS, patch (0, 0), patch (0, 1), ..., patch (H-1, W-1)]`` (row = frequency band,
column = time slot). ``rope="axial"`` gives CLS the position (0, 0) and patch ``(r, c)`` the
position ``(r + 1, c + 1)``; half of each head's rotary pairs turn with the row, half with the
column, so the score ``q_i . k_j`` depends only on the row and column offsets. ``rope="1d"`` rotates
every pair with the flattened index (CLS 0, patch ``n`` at ``n + 1``), as in the seed.

Angles are computed in float64 on the CPU and kept as float32 cos/sin tables, cached per device and
grown (doubled) when a longer grid asks for them; the rotation itself runs in float32 even when
q and k are bf16. A module built for one grid (``grid=(grid_h, grid_w)``, as the encoder and the
decoder are) also holds that grid's tables as non-persistent buffers: they move with the module,
stay out of the state dict, and are what ``tables`` returns for that grid, so ``torch.compile``
reads two buffers instead of tracing the caches (whose first fill failed a guard: a recompile).
"""

from __future__ import annotations

import torch
from torch import nn

from cwtmae_cli.errors import ConfigError

ROPE_MODES = ("axial", "1d")


def check_rope_head_dim(head_dim: int, mode: str, where: str = "attention") -> None:
    """Raise ConfigError unless ``head_dim`` splits into rotary pairs for ``mode``."""
    if mode not in ROPE_MODES:
        raise ConfigError(f"rope must be one of {', '.join(ROPE_MODES)}, got {mode!r}")
    multiple = 4 if mode == "axial" else 2
    if head_dim % multiple != 0:
        raise ConfigError(
            f"{where} head dim ({head_dim}) must be a multiple of {multiple} for rope={mode!r} "
            "(embed_dim / num_heads rotary pairs split between rows and columns)"
        )


class RotaryEmbedding(nn.Module):
    """cos/sin tables for a ``(grid_h, grid_w)`` patch grid plus CLS; holds no parameters.

    Args:
        head_dim: per-head channel count (even; a multiple of 4 for ``"axial"``).
        mode: ``"axial"`` or ``"1d"``.
        theta: base of the inverse frequencies ``theta ** (-2 j / dim_per_axis)``.
        grid: ``(grid_h, grid_w)`` whose tables are held as the buffers ``grid_cos`` and
            ``grid_sin`` (float32, ``(1 + grid_h * grid_w, head_dim)``), or None.
    """

    def __init__(self, head_dim: int, mode: str = "axial", theta: float = 10000.0,
                 grid: tuple[int, int] | None = None) -> None:
        super().__init__()
        check_rope_head_dim(head_dim, mode)
        self.head_dim = head_dim
        self.mode = mode
        self.theta = float(theta)
        n_pairs_axis = head_dim // 4 if mode == "axial" else head_dim // 2
        exponent = torch.arange(n_pairs_axis, dtype=torch.float64, device="cpu") / n_pairs_axis
        self._inv_freq = self.theta ** (-exponent)  # (P,) float64, CPU
        self._axis_tables: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}
        self._token_tables: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        self.grid: tuple[int, int] | None = None
        if grid is not None:  # on the CPU even under torch.device("meta"), as the cache
            cos, sin = self.tables(int(grid[0]), int(grid[1]), "cpu")  # (1 + N, head_dim) each
            self.register_buffer("grid_cos", cos, persistent=False)
            self.register_buffer("grid_sin", sin, persistent=False)
            self.grid = (int(grid[0]), int(grid[1]))

    @property
    def capacity(self) -> int:
        """Number of positions per axis the cached tables hold (0 before first use)."""
        if not self._axis_tables:
            return 0
        return next(iter(self._axis_tables.values()))[0].shape[0]

    def _axis(self, n_positions: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """cos, sin of ``position * inv_freq`` for positions ``0 .. >= n_positions - 1``: (T, P)."""
        cached = self._axis_tables.get(device)
        if cached is None or cached[0].shape[0] < n_positions:
            size = max(n_positions, 2 * cached[0].shape[0] if cached is not None else 64)
            pos = torch.arange(size, dtype=torch.float64, device="cpu")
            angles = pos[:, None] * self._inv_freq[None, :]  # (T, P) float64
            cached = (angles.cos().float().to(device), angles.sin().float().to(device))
            self._axis_tables[device] = cached
            self._token_tables = {k: v for k, v in self._token_tables.items() if k[2] != device}
        return cached

    def tables(self, grid_h: int, grid_w: int, device: torch.device | str = "cpu"
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """float32 ``(cos, sin)``, each ``(1 + grid_h * grid_w, head_dim)``, CLS first."""
        device = torch.device(device)
        if (grid_h, grid_w) == self.grid and self.grid_cos.device == device \
                and self.grid_cos.dtype == torch.float32:  # not after a .double()
            return self.grid_cos, self.grid_sin
        key = (grid_h, grid_w, device)
        if key in self._token_tables:
            return self._token_tables[key]
        n_tokens = 1 + grid_h * grid_w
        if self.mode == "1d":
            cos, sin = self._axis(n_tokens, device)
            cos, sin = cos[:n_tokens], sin[:n_tokens]  # (T, P)
        else:
            cos_ax, sin_ax = self._axis(max(grid_h, grid_w) + 1, device)
            rows = torch.arange(grid_h, device=device).repeat_interleave(grid_w) + 1  # (N,)
            cols = torch.arange(grid_w, device=device).repeat(grid_h) + 1  # (N,)
            zero = torch.zeros(1, dtype=torch.long, device=device)
            rows, cols = torch.cat([zero, rows]), torch.cat([zero, cols])  # (T,) CLS at (0, 0)
            cos = torch.cat([cos_ax[rows], cos_ax[cols]], dim=-1)  # (T, P_row + P_col)
            sin = torch.cat([sin_ax[rows], sin_ax[cols]], dim=-1)
        # rotate_half pairs channel j with channel j + head_dim / 2: repeat the angles twice
        result = (torch.cat([cos, cos], dim=-1), torch.cat([sin, sin], dim=-1))  # (T, head_dim)
        self._token_tables[key] = result
        return result


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``[x1, x2] -> [-x2, x1]`` on the last dimension."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x (B, heads, T, head_dim)`` by tables ``(T, head_dim)`` or ``(B, T, head_dim)``.

    The rotation runs in float32; the result has ``x``'s dtype. Same values as
    ``x * cos + rotate_half(x) * sin``, but the tables' two equal halves are read once and the
    negated, concatenated copy of ``x`` that ``rotate_half`` builds is never made (half the
    multiplications, one concatenation instead of a negation, a concatenation and a full-width
    product).
    """
    if cos.dim() == 3:
        cos, sin = cos[:, None], sin[:, None]  # (B, 1, T, head_dim) broadcast over heads
    half = x.shape[-1] // 2
    c, s = cos[..., :half], sin[..., :half]  # views: the tables repeat their angles twice
    x1, x2 = x[..., :half].float(), x[..., half:].float()  # (B, h, T, half) each
    out = torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)  # (B, h, T, head_dim)
    return out.to(x.dtype)
