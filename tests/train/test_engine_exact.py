"""The engine's schedule length and warm-up, exactly (no training: the constructor decides)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stand_ins import LayeredNet

from cwtmae_cli.train.config import FinetuneConfig
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.engine import Engine
from cwtmae_cli.train.job import TrainJob


class SixteenWindows:
    in_memory = True

    def __init__(self) -> None:
        self.x = torch.zeros(16, 4)
        self.labels = np.arange(16) % 3

    def __len__(self) -> int:
        return 16

    def get_batch(self, positions):
        idx = torch.as_tensor(np.asarray(positions))
        return self.x[idx], torch.as_tensor(self.labels)[idx]


@pytest.mark.parametrize(("length", "total", "warmup"),
                         [({"steps": 20}, 20, 5), ({"epochs": 3}, 12, 3)])  # fmt: skip
def test_warmup_is_a_fraction_of_the_whole_run(length: dict, total: int, warmup: int) -> None:
    """16 windows in batches of 4: 4 steps per epoch. A quarter of the run warms up."""
    net = LayeredNet()
    job = TrainJob(model=net, objective=net, train_set=SixteenWindows(), meta={})
    config = FinetuneConfig(**length, batch_size=4, warmup_fraction=0.25, device="cpu")
    engine = Engine(config, job, DistContext.single(torch.device("cpu")), run=None)
    assert engine.steps_per_epoch == 4
    assert engine.total_steps == engine.scheduler.total_steps == total
    assert engine.scheduler.warmup_steps == warmup
