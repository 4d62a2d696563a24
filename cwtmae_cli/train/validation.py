"""Fine-tuning's validation: loss and confusion counts over the validation windows, summed over
ranks, then the summary scores (accuracy, balanced accuracy, macro-F1, kappa) that select the
best checkpoint."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.job import autocast


def make_validate(val_set: Any, n_classes: int, batch_size: int, precision: str = "fp32"):
    """Validation over rank-strided windows; loss and confusion counts summed over ranks.
    ``precision`` (resolved: bf16 or fp32) is training's, so selection sees its numerics."""
    from cwtmae_cli.metrics import summary_scores
    from cwtmae_cli.model import standardize_windows

    def validate(model: nn.Module, ctx: DistContext) -> dict[str, float]:
        positions = np.arange(ctx.rank, len(val_set), ctx.world_size)
        counts = torch.zeros(n_classes, n_classes, dtype=torch.float64, device=ctx.device)
        loss_sum = torch.zeros(2, dtype=torch.float64, device=ctx.device)  # [sum, n]
        for lo in range(0, len(positions), batch_size):
            x, y = val_set.get_batch(positions[lo : lo + batch_size])
            x, y = standardize_windows(x.to(ctx.device)), y.to(ctx.device)
            with autocast(ctx.device, precision):
                logits = model(x).float()  # (B, K)
            loss_sum[0] += F.cross_entropy(logits, y, reduction="sum").double()
            loss_sum[1] += len(y)
            pairs = y * n_classes + logits.argmax(dim=1)  # (B,) flat (true, predicted)
            counts += torch.bincount(pairs, minlength=n_classes**2).view(n_classes, n_classes)
        ctx.sum_(counts)
        ctx.sum_(loss_sum)
        matrix = counts.long().cpu().numpy()  # (K, K) rows true, columns predicted
        true, pred = np.nonzero(matrix)
        y_true = np.repeat(true, matrix[true, pred])
        y_pred = np.repeat(pred, matrix[true, pred])
        scores = summary_scores(y_true, y_pred, n_classes)
        scores["loss"] = float(loss_sum[0] / loss_sum[1])
        return scores

    return validate
