"""AdamW with parameter groups: no weight decay on biases, norms, tokens and position
embeddings, and (for fine-tuning) layer-wise learning-rate decay over the encoder blocks.

Each group carries ``base_lr`` (its own peak rate = ``lr * lr_scale``); the schedule multiplies
that, so layer-wise decay really gives every layer its own rate (the seed trained them all at one).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _in_no_decay_set(name: str, no_decay: set[str]) -> bool:
    """``name`` or a dotted suffix of it is listed (``blocks.0.norm.weight`` ~ ``norm.weight``)."""
    parts = name.split(".")
    return any(".".join(parts[i:]) in no_decay for i in range(len(parts)))


def param_groups(
    model: nn.Module, lr: float, weight_decay: float, layer_decay: float | None = None
) -> list[dict[str, Any]]:
    """Trainable parameters grouped by (layer, decay or not).

    ``layer_decay`` needs ``model.layer_id(name)`` and ``model.num_layers``; a parameter of layer
    ``i`` gets ``lr_scale = layer_decay ** (num_layers - 1 - i)`` (the head keeps the full rate).
    Biases and other 1-D parameters never decay, nor do the names ``model.no_weight_decay()`` lists.
    """
    no_decay = set(model.no_weight_decay()) if hasattr(model, "no_weight_decay") else set()
    use_layers = layer_decay is not None and layer_decay != 1.0
    num_layers = int(model.num_layers) if use_layers else 1
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        decays = param.ndim > 1 and not _in_no_decay_set(name, no_decay)
        layer = int(model.layer_id(name)) if use_layers else 0
        scale = float(layer_decay ** (num_layers - 1 - layer)) if use_layers else 1.0
        key = (layer, decays)
        if key not in groups:
            groups[key] = {
                "params": [],
                "names": [],
                "weight_decay": weight_decay if decays else 0.0,
                "layer_id": layer,
                "lr_scale": scale,
                "base_lr": lr * scale,
                "lr": lr * scale,
            }
        groups[key]["params"].append(param)
        groups[key]["names"].append(name)
    if not groups:
        raise ValueError("the model has no trainable parameters")
    return [groups[k] for k in sorted(groups)]


def build_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float,
    layer_decay: float | None = None,
    betas: tuple[float, float] = (0.9, 0.95),
) -> torch.optim.AdamW:
    """AdamW over :func:`param_groups`, one multi-tensor update per step instead of a Python loop
    over the parameters: the fused kernel on CUDA, ``foreach`` elsewhere (torch picks the loop on
    CPU by default). The same update up to float round-off."""
    groups = param_groups(model, lr, weight_decay, layer_decay)
    on_cuda = all(p.is_cuda for group in groups for p in group["params"])
    kernel = {"fused": True} if on_cuda else {"foreach": True}
    return torch.optim.AdamW(groups, lr=lr, betas=betas, **kernel)
