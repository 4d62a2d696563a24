"""What fine-tuning switches really do: class weights and label smoothing in the loss (against a
NumPy reference), their wiring from the config, and gradient clipping in the engine's step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from stand_ins import LayeredNet, write_sine_store
from torch import nn

from cwtmae_cli.train.config import FinetuneConfig
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.engine import Engine
from cwtmae_cli.train.finetune import (
    ClassifierObjective,
    build_finetune_job,
    inverse_frequency_weights,
    plan_finetune,
)
from cwtmae_cli.train.job import TrainJob

LOGITS = np.array([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [0.0, 0.0, 3.0], [1.0, -2.0, 0.5]])
TARGETS = np.array([0, 2, 2, 1])


class FixedLogits(nn.Module):
    """A 'model' that returns the same logits whatever the input."""

    def __init__(self, logits: np.ndarray) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits


def reference_loss(weights: np.ndarray, smoothing: float) -> float:
    """Weighted, label-smoothed cross-entropy: the smoothed target puts 1 - e + e/K on the true
    class and e/K on the others; each sample's term is weighted by its true class's weight and the
    sum divided by the sum of those weights."""
    log_p = LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))  # (N, K)
    k = LOGITS.shape[1]
    target = np.full(LOGITS.shape, smoothing / k)
    target[np.arange(len(TARGETS)), TARGETS] += 1 - smoothing
    per_sample = -(target * weights[None, :] * log_p).sum(axis=1)
    return float(per_sample.sum() / weights[TARGETS].sum())


@pytest.mark.parametrize(
    ("weights", "smoothing"),
    [(None, 0.0), (np.array([0.5, 2.0, 1.0]), 0.0), (None, 0.2), (np.array([3.0, 1.0, 0.25]), 0.1)],
)
def test_objective_loss_uses_class_weights_and_label_smoothing(weights, smoothing) -> None:
    w = None if weights is None else torch.tensor(weights, dtype=torch.float32)
    objective = ClassifierObjective(FixedLogits(LOGITS), w, smoothing)
    out = objective(torch.zeros(4, 10), torch.tensor(TARGETS))
    expected = reference_loss(np.ones(3) if weights is None else weights, smoothing)
    assert out["loss"].item() == pytest.approx(expected, rel=1e-6)
    assert out["accuracy"].item() == pytest.approx(0.5)  # argmax 0, 1, 2, 0 vs 0, 2, 2, 1


def test_the_reference_itself_moves_with_each_switch() -> None:
    plain = reference_loss(np.ones(3), 0.0)
    assert reference_loss(np.array([0.5, 2.0, 1.0]), 0.0) != pytest.approx(plain, rel=1e-3)
    assert reference_loss(np.ones(3), 0.2) != pytest.approx(plain, rel=1e-3)


@pytest.mark.parametrize(("class_weights", "smoothing"), [(True, 0.3), (False, 0.0)])
def test_finetune_job_passes_the_configured_weights_and_smoothing(tmp_path, class_weights,
                                                                  smoothing) -> None:
    store = write_sine_store(tmp_path / "sine.zarr", n_per_class=8)
    flags = {"data": str(store), "workdir": str(tmp_path), "out": str(tmp_path / "run"),
             "from_scratch": True, "model": "tiny", "steps": 1, "batch_size": 4,
             "device": "cpu", "class_weights": class_weights, "label_smoothing": smoothing}
    job = build_finetune_job(plan_finetune(flags), DistContext.single(torch.device("cpu")))
    objective = job.objective
    assert objective.label_smoothing == smoothing
    if class_weights:
        expected = inverse_frequency_weights(job.train_set.labels, 3)
        assert objective.class_weights is not None
        assert torch.equal(objective.class_weights, expected)
        assert not torch.equal(expected, torch.ones(3))  # the train split is not balanced
    else:
        assert objective.class_weights is None


class SumOfParameters(nn.Module):
    """loss = 10 * (sum of every parameter): each gradient entry is exactly 10."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": 10.0 * sum(p.sum() for p in self.model.parameters())}


class Windows:
    in_memory = True

    def __len__(self) -> int:
        return 8

    def get_batch(self, positions):
        n = len(positions)
        return torch.zeros(n, 4), torch.zeros(n, dtype=torch.long)


@pytest.mark.parametrize("grad_clip", [0.5, 0.0])
def test_gradient_clipping_scales_the_global_norm_when_on(grad_clip: float) -> None:
    net = LayeredNet()
    n_params = sum(p.numel() for p in net.parameters())
    job = TrainJob(model=net, objective=SumOfParameters(net), train_set=Windows(),
                   meta={"kind": "classifier", "model_config": {}})
    config = FinetuneConfig(steps=1, batch_size=4, grad_clip=grad_clip, device="cpu", log_every=1)
    summary = Engine(config, job, DistContext.single(torch.device("cpu")), run=None).fit()
    grads = torch.cat([p.grad.flatten() for p in net.parameters()])  # left by the one step
    raw_norm = 10.0 * math.sqrt(n_params)
    if grad_clip:
        assert summary["train"]["grad_norm"] == pytest.approx(raw_norm, rel=1e-5)  # before
        assert grads.norm().item() == pytest.approx(grad_clip, rel=1e-5)  # after clipping
        torch.testing.assert_close(grads, torch.full_like(grads, grad_clip / math.sqrt(n_params)))
    else:
        torch.testing.assert_close(grads, torch.full_like(grads, 10.0))


@pytest.mark.parametrize("balanced", [True, False])
def test_balanced_sampling_reaches_the_engines_sampler(tmp_path, balanced: bool) -> None:
    store = write_sine_store(tmp_path / "sine.zarr", n_per_class=8)
    flags = {"data": str(store), "workdir": str(tmp_path), "out": str(tmp_path / "run"),
             "from_scratch": True, "model": "tiny", "steps": 1, "batch_size": 4,
             "device": "cpu", "balanced_sampling": balanced}
    plan = plan_finetune(flags)
    ctx = DistContext.single(torch.device("cpu"))
    job = build_finetune_job(plan, ctx)
    engine = Engine(plan.config, job, ctx, run=None)
    labels = np.asarray(job.train_set.labels)
    if balanced:
        np.testing.assert_array_equal(job.balanced_labels, labels)
        np.testing.assert_array_equal(engine.sampler.class_labels, labels)
        draws = np.concatenate([_epoch(engine.sampler, e) for e in range(200)])
        np.testing.assert_allclose(np.bincount(labels[draws]) / len(draws), 1 / 3, atol=0.03)
    else:
        assert job.balanced_labels is None and engine.sampler.class_labels is None
        assert sorted(_epoch(engine.sampler, 0)) == list(range(len(labels)))  # a permutation


def _epoch(sampler, epoch: int) -> np.ndarray:
    sampler.set_epoch(epoch)
    return sampler.global_order()


def test_the_balance_power_reaches_the_engines_sampler(tmp_path) -> None:
    store = write_sine_store(tmp_path / "sine.zarr", n_per_class=8)
    flags = {"data": str(store), "workdir": str(tmp_path), "out": str(tmp_path / "run"),
             "from_scratch": True, "model": "tiny", "steps": 1, "batch_size": 4,
             "device": "cpu", "balanced_sampling": True, "balance_power": 0.5}
    plan = plan_finetune(flags)
    ctx = DistContext.single(torch.device("cpu"))
    job = build_finetune_job(plan, ctx)
    engine = Engine(plan.config, job, ctx, run=None)
    assert plan.config.balance_power == job.balance_power == engine.sampler.balance_power == 0.5
