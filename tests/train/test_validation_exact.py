"""Fine-tuning's validation pass, exactly: confusion orientation and the loss's denominator."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import balanced_accuracy_score
from torch import nn

from cwtmae_cli.model import standardize_windows
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.validation import make_validate

Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 0, 1, 1, 2, 2])  # balanced accuracy (3/4 + 1/2 + 1) / 3 = 0.75


class SpikeWindows:
    """Window ``i`` is zero but for a spike at sample ``Y_PRED[i]``: a model reading the first
    three (z-scored) samples as logits predicts exactly ``Y_PRED``."""

    def __init__(self) -> None:
        self.x = torch.zeros(len(Y_TRUE), 8)
        self.x[torch.arange(len(Y_TRUE)), torch.as_tensor(Y_PRED)] = 1.0
        self.x += 0.01 * torch.arange(8.0)  # distinct values, spike still the maximum

    def __len__(self) -> int:
        return len(Y_TRUE)

    def get_batch(self, positions):
        idx = torch.as_tensor(np.asarray(positions))
        return self.x[idx], torch.as_tensor(Y_TRUE)[idx]


class FirstSamples(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 3.0 * x[:, :3]  # (B, 3) logits


def test_validation_scores_rows_as_truth_and_averages_the_loss_over_windows() -> None:
    data, model = SpikeWindows(), FirstSamples()
    validate = make_validate(data, n_classes=3, batch_size=2)  # 4 batches of 2, 2, 2, 1
    scores = validate(model, DistContext.single(torch.device("cpu")))
    assert scores["n_windows"] == 7
    assert scores["accuracy"] == 5 / 7
    assert balanced_accuracy_score(Y_TRUE, Y_PRED) == 0.75
    assert abs(scores["balanced_accuracy"] - 0.75) < 1e-12  # transposed counts give 2/3
    logits = model(standardize_windows(data.x))  # (7, 3) one batch of everything
    assert torch.equal(logits.argmax(dim=1), torch.as_tensor(Y_PRED))
    expected_loss = F.cross_entropy(logits, torch.as_tensor(Y_TRUE)).item()
    assert abs(scores["loss"] - expected_loss) < 1e-6
