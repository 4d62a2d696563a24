"""The engine's checkpoint selection: ``checkpoints/best`` is the best validation, driven here by
scripted validation scores on a stand-in model."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from stand_ins import FourValueWindows, LayeredNet
from torch import nn

from cwtmae_cli.runtime.checkpoint import read_meta
from cwtmae_cli.runtime.loading import load_state_dict
from cwtmae_cli.train.config import FinetuneConfig
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.engine import Engine
from cwtmae_cli.train.job import TrainJob
from cwtmae_cli.train.rundir import RunDir


class CrossEntropy(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": F.cross_entropy(self.model(x), y)}


def scripted_validator(scores: list[float], snapshots: list[dict[str, torch.Tensor]]):
    """Validation that returns the next scripted macro-F1 and keeps the weights it was shown."""
    calls = iter(scores)

    def validate(model: nn.Module, ctx: DistContext) -> dict[str, float]:
        snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return {"macro_f1": next(calls), "loss": 0.0}

    return validate


def test_best_checkpoint_is_the_best_validation_not_the_last_or_the_worst(tmp_path) -> None:
    torch.manual_seed(0)
    scores = [0.5, 0.9, 0.3, 0.7]  # best at step 2, worst at 3, last at 4
    snapshots: list[dict[str, torch.Tensor]] = []
    net = LayeredNet()
    job = TrainJob(
        model=net,
        objective=CrossEntropy(net),
        train_set=FourValueWindows(),
        meta={"kind": "classifier", "model_config": net.config},
        validate=scripted_validator(scores, snapshots),
        select_metric="macro_f1",
    )
    config = FinetuneConfig(steps=4, batch_size=4, eval_every=1, lr=0.1, warmup_fraction=0.0,
                            device="cpu", log_every=1)
    run = RunDir.create(tmp_path / "run", config.to_dict())
    summary = Engine(config, job, DistContext.single(torch.device("cpu")), run).fit()

    assert len(snapshots) == 4
    assert summary["best"] == {"metric": "macro_f1", "value": 0.9, "step": 2}
    meta = read_meta(run.best_dir)
    assert meta["step"] == 2 and meta["metrics"]["macro_f1"] == 0.9
    best = load_state_dict(run.best_dir, meta)
    assert all(torch.equal(best[k], snapshots[1][k]) for k in snapshots[1])
    assert not all(torch.equal(best[k], snapshots[3][k]) for k in snapshots[3])  # weights moved
    flags = [r["best"] for r in run.read_metrics() if r["kind"] == "val"]
    assert flags == [True, True, False, False]
