"""MAE masking of the patch grid: per-sample random patches, or whole time columns.

Both return ``(ids_keep (B, K), mask (B, N), ids_restore (B, N))`` where ``mask`` is 0 for kept and
1 for removed patches (in the original patch order) and ``ids_restore`` undoes the shuffle that puts
the kept patches first. Patches are indexed row-major over ``(grid_h, grid_w)``.
"""

from __future__ import annotations

import torch

MASK_MODES = ("random", "time")


def _from_noise(noise: torch.Tensor, n_keep: int
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep the ``n_keep`` patches with the lowest noise ``(B, N)``."""
    ids_shuffle = torch.argsort(noise, dim=1, stable=True)  # (B, N): ascending, kept first
    ids_restore = torch.argsort(ids_shuffle, dim=1)  # (B, N)
    ids_keep = ids_shuffle[:, :n_keep]  # (B, K)
    mask = (ids_restore >= n_keep).to(noise.dtype)  # (B, N) in patch order: 1 where removed
    return ids_keep, mask, ids_restore


def random_masking(batch_size: int, n_patches: int, mask_ratio: float,
                   device: torch.device | str = "cpu"
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample random masking (argsort of uniform noise); keeps ``int(N * (1 - mask_ratio))``."""
    n_keep = int(n_patches * (1 - mask_ratio))
    if mask_ratio == 0:
        ids = torch.arange(n_patches, device=device).expand(batch_size, -1)  # (B, N) identity
        return ids, torch.zeros(batch_size, n_patches, device=device), ids
    noise = torch.rand(batch_size, n_patches, device=device)  # (B, N)
    return _from_noise(noise, n_keep)


def time_masking(batch_size: int, grid_h: int, grid_w: int, mask_ratio: float,
                 device: torch.device | str = "cpu"
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mask whole time columns (all scales of a time slot); keeps ``int(W (1 - r))`` columns.

    A masked slot cannot leak through its other scales. ``K = grid_h * int(grid_w * (1 - r))``.
    """
    n_keep_cols = int(grid_w * (1 - mask_ratio))
    if mask_ratio == 0:
        return random_masking(batch_size, grid_h * grid_w, 0.0, device)
    col_noise = torch.rand(batch_size, grid_w, device=device)  # (B, W)
    noise = col_noise.repeat(1, grid_h)  # (B, H * W): patch (r, c) gets its column's noise
    # equal noise inside a column + stable sort: a column's patches stay together, kept whole
    return _from_noise(noise, n_keep_cols * grid_h)
