"""What a training command hands the shared step loop (:mod:`cwtmae_cli.train.engine`).

A :class:`TrainJob` holds the model (what checkpoints hold), an *objective* module wrapping it
(``forward(x, y) -> {"loss": ..., other scalars}``, the module DDP wraps, so gradients sync
whatever the model's method names), the train windows, the checkpoint meta and, for
fine-tuning, a validation function and the metric that selects ``checkpoints/best``. The batch
and autocast helpers here are the ones the loop uses, so that a command's own passes (validation,
the pretraining figure) see the model exactly as training does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from cwtmae_cli.runtime.precision import autocast  # noqa: F401 - the loop's, re-exported
from cwtmae_cli.train.distributed import DistContext

Events = Callable[[str, dict[str, Any]], None]
Validate = Callable[[nn.Module, DistContext], dict[str, float]]


@dataclass
class TrainJob:
    """What one command trains; see the module docstring."""

    model: nn.Module
    objective: nn.Module
    train_set: Any  # cwtmae_cli.data.store.loader.WindowDataset
    meta: dict[str, Any]
    layer_decay: float | None = None
    validate: Validate | None = None
    select_metric: str | None = None  # higher is better
    balanced_labels: Any = None  # class per train window: draw classes equally often
    balance_power: float = 1.0  # ... or in proportion to n ** (1 - power) (data/store/balanced.py)
    extra_summary: dict[str, Any] = field(default_factory=dict)


def standardized_batch(
    job: TrainJob, positions: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows at dataset ``positions``, z-scored per window: x (B, L) float32, y (B,) int64."""
    from cwtmae_cli.model import standardize_windows

    x, y = job.train_set.get_batch(positions)
    if device.type == "cuda":  # page-locked, so the copy below really is asynchronous
        x, y = x.pin_memory(), y.pin_memory()
    x = standardize_windows(x.to(device, non_blocking=True))
    return x, y.to(device, non_blocking=True)
