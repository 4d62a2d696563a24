"""Strict loading of pretrained encoder weights, with position-embedding interpolation.

A source is a checkpoint folder holding ``model.safetensors``, a ``.safetensors`` file, or a
state dict (an MAE's, a classifier's, or an encoder's own keys). Every encoder key must be present
and, after ``pos_embed`` is resized to the new patch grid (and a single-channel patch kernel
widened to the model's channels, :func:`widen_patch_kernel`), shaped right; anything else raises
CheckpointError naming the keys. Nothing is ever loaded partially.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from cwtmae_cli.errors import CheckpointError

ENCODER_PREFIX = "encoder."
GRID_KEY = "grid_size"
PATCH_KERNEL = "patch_embed.proj.weight"  # (D, 3 C, pf, pt): C channels' three views
WEIGHTS_FILE = "model.safetensors"  # a checkpoint folder's weights (runtime.checkpoint writes it)


def _weights_file(path: Path) -> Path:
    if path.is_dir():
        weights = path / WEIGHTS_FILE
        if not weights.is_file():
            raise CheckpointError(f"no {WEIGHTS_FILE} in {path}; give a checkpoint folder "
                                  "(runs/.../checkpoints/step-...) or a .safetensors file")
        return weights
    if not path.exists():
        raise CheckpointError(f"pretrained weights not found: {path}")
    if path.suffix != ".safetensors":
        raise CheckpointError(f"{path} is not a .safetensors file or a checkpoint folder; "
                              "only safetensors weights are loaded")
    return path


def read_state_dict(source: str | Path | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors of ``source`` (folder, .safetensors file, or a state dict returned as is)."""
    if isinstance(source, dict):
        return source
    from safetensors.torch import load_file

    weights = _weights_file(Path(source))
    try:
        return load_file(str(weights))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"cannot read {weights}: {exc}") from exc


def read_model_config(source: str | Path | dict) -> dict:
    """``model_config`` from the ``meta.json`` next to the weights, or ``{}`` if there is none."""
    if isinstance(source, dict):
        return {}
    path = Path(source)
    meta_path = (path if path.is_dir() else path.parent) / "meta.json"
    if not meta_path.is_file():
        return {}
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {meta_path}: {exc}") from exc
    config = meta.get("model_config", {})
    return dict(config) if isinstance(config, dict) else {}


def encoder_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Encoder tensors with the ``encoder.`` prefix stripped (or all keys if none carries it)."""
    if any(k.startswith(ENCODER_PREFIX) for k in state):
        return {k[len(ENCODER_PREFIX):]: v for k, v in state.items()
                if k.startswith(ENCODER_PREFIX)}
    return dict(state)


def interpolate_pos_embed(pos_embed: torch.Tensor, src_grid: tuple[int, int],
                          dst_grid: tuple[int, int]) -> torch.Tensor:
    """Resize ``(1, 1 + Hs Ws, D)`` to ``(1, 1 + Hd Wd, D)``: bicubic on the grid, CLS kept."""
    if tuple(src_grid) == tuple(dst_grid):
        return pos_embed
    cls, patches = pos_embed[:, :1], pos_embed[:, 1:]
    D = pos_embed.shape[-1]
    grid = patches.float().reshape(1, src_grid[0], src_grid[1], D).permute(0, 3, 1, 2)  # (1,D,H,W)
    grid = F.interpolate(grid, size=tuple(dst_grid), mode="bicubic", align_corners=False)
    patches = grid.permute(0, 2, 3, 1).reshape(1, dst_grid[0] * dst_grid[1], D)  # (1, N', D)
    return torch.cat([cls, patches.to(pos_embed.dtype)], dim=1)


def _source_grid(state: dict[str, torch.Tensor], dst_grid: tuple[int, int]) -> tuple[int, int]:
    if GRID_KEY in state:
        grid = [int(v) for v in state[GRID_KEY].flatten().tolist()]
        if len(grid) != 2 or min(grid) < 1:
            raise CheckpointError(f"encoder.{GRID_KEY} is {grid}; expected (rows, columns)")
        return grid[0], grid[1]
    n_src = state["pos_embed"].shape[1] - 1
    if n_src % dst_grid[0] == 0:  # same cwt_scales / patch_size_freq assumed
        return dst_grid[0], n_src // dst_grid[0]
    raise CheckpointError(f"cannot tell the patch grid of a pos_embed with {n_src} patches "
                          f"(no {GRID_KEY} entry); expected a multiple of {dst_grid[0]} rows")


def widen_patch_kernel(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """A single-channel patch kernel ``(D, 3, pf, pt)`` for ``in_channels`` channels:
    ``(D, 3 C, pf, pt)``, the kernel repeated per channel and scaled by ``1 / C``.

    On ``C`` identical channels the widened convolution gives exactly the single-channel output
    (up to float round-off), so a pretrained encoder starts where it was; each channel then
    contributes an equal share that fine-tuning can move apart.
    """
    return weight.repeat(1, in_channels, 1, 1) / in_channels


def _fit_patch_kernel(enc: dict[str, torch.Tensor], expected: dict[str, torch.Tensor],
                      origin: str) -> None:
    """Widen a single-channel ``patch_embed.proj.weight`` in place to the expected channels;
    CheckpointError for a multi-channel kernel whose channel count differs."""
    got, want = enc[PATCH_KERNEL].shape, expected[PATCH_KERNEL].shape
    if got == want or len(got) != 4 or got[0] != want[0] or got[2:] != want[2:]:
        return  # the same, or a mismatch of embed_dim / patch size that the shape check names
    if got[1] == 3 and want[1] % 3 == 0:
        enc[PATCH_KERNEL] = widen_patch_kernel(enc[PATCH_KERNEL], want[1] // 3)
        return
    raise CheckpointError(f"{origin} read {got[1] // 3} channels per window but this model reads "
                          f"{want[1] // 3}; give a single-channel encoder or one with "
                          f"{want[1] // 3} channels")


def _names(keys: list[str], limit: int = 6) -> str:
    shown = ", ".join(ENCODER_PREFIX + k for k in keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


def adapt_encoder_state(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor],
                        dst_grid: tuple[int, int], origin: str = "pretrained weights"
                        ) -> dict[str, torch.Tensor]:
    """Check ``state`` against the encoder's own ``expected`` state dict and fit ``pos_embed``.

    Returns a state dict ready for ``encoder.load_state_dict(..., strict=True)``.
    """
    enc = encoder_state(state)
    missing = sorted(k for k in expected if k not in enc and k != GRID_KEY)
    if missing:
        raise CheckpointError(f"{origin} lack encoder keys {_names(missing)}; give a CWT-MAE-RoPE "
                              "pretraining checkpoint of the same architecture")
    unexpected = sorted(k for k in enc if k not in expected)
    if unexpected:
        raise CheckpointError(f"{origin} have encoder keys this model does not: "
                              f"{_names(unexpected)}; depth or layout differ from the checkpoint")
    # The saved grid decides, not the token count: 16 x 60 and 32 x 30 both hold 960 patches.
    if GRID_KEY in enc or enc["pos_embed"].shape != expected["pos_embed"].shape:
        src_grid = _source_grid(enc, dst_grid)
        if enc["pos_embed"].shape[1] != 1 + src_grid[0] * src_grid[1]:
            raise CheckpointError(f"{origin}: encoder.pos_embed has {enc['pos_embed'].shape[1]} "
                                  f"tokens but its grid {src_grid} needs "
                                  f"{1 + src_grid[0] * src_grid[1]}")
        enc["pos_embed"] = interpolate_pos_embed(enc["pos_embed"], src_grid, dst_grid)
    _fit_patch_kernel(enc, expected, origin)
    wrong = [f"{ENCODER_PREFIX}{k} {tuple(enc[k].shape)} (expected {tuple(v.shape)})"
             for k, v in expected.items() if k != GRID_KEY and enc[k].shape != v.shape]
    if wrong:
        raise CheckpointError(f"{origin} have mis-shaped encoder weights: {'; '.join(wrong[:6])}"
                              f"{' ...' if len(wrong) > 6 else ''}; embed_dim, patch size or "
                              "head count differ from the checkpoint")
    enc[GRID_KEY] = expected[GRID_KEY]
    return enc
