"""Linear warm-up then cosine decay, over the whole run's length (``--steps`` or ``--epochs``).

The rate at optimizer step ``s`` (0-based) of a group with peak ``base_lr`` is
``base_lr * factor(s)``: ``(s + 1) / warmup_steps`` during warm-up, then a cosine from 1 down to
``min_lr_ratio`` at the last step. Resume restores ``step`` and so continues the same curve.
"""

from __future__ import annotations

import math
from typing import Any

import torch


class WarmupCosine:
    """Sets every param group's ``lr`` from its own ``base_lr``; call :meth:`step` after
    ``optimizer.step()``. ``state_dict`` is plain ints/floats (loads with ``weights_only``)."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        total_steps: int,
        warmup_steps: int,
        min_lr_ratio: float = 0.0,
    ) -> None:
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        self.optimizer = optimizer
        self.total_steps = int(total_steps)
        self.warmup_steps = max(0, min(int(warmup_steps), self.total_steps - 1))
        self.min_lr_ratio = float(min_lr_ratio)
        self.last_step = 0  # the next optimizer step to be taken
        for group in optimizer.param_groups:
            group.setdefault("base_lr", group["lr"])
        self._apply()

    def factor(self, step: int) -> float:
        """Multiplier of the peak rate at optimizer step ``step``."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - 1 - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine

    def _apply(self) -> None:
        f = self.factor(self.last_step)
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * f

    def step(self) -> None:
        self.last_step += 1
        self._apply()

    def current_lrs(self) -> list[float]:
        return [float(g["lr"]) for g in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {
            "last_step": self.last_step,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "min_lr_ratio": self.min_lr_ratio,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["total_steps"]) != self.total_steps:
            raise ValueError(
                f"schedule length differs: checkpoint {state['total_steps']}, "
                f"now {self.total_steps}"
            )
        self.last_step = int(state["last_step"])
        self.warmup_steps = int(state["warmup_steps"])
        self.min_lr_ratio = float(state["min_lr_ratio"])
        self._apply()
