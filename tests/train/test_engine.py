"""Engine behaviour that needs no real data: real classifier parameter groups, a non-finite loss,
frozen encoders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stand_ins import FourValueWindows, LayeredNet
from torch import nn

from cwtmae_cli.errors import TrainingError
from cwtmae_cli.model import TF_MAE_Classifier, preset_config
from cwtmae_cli.train.config import FinetuneConfig
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.engine import Engine
from cwtmae_cli.train.job import TrainJob
from cwtmae_cli.train.optim import param_groups


class ExplodingObjective(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": self.model(x).sum() * float("nan")}


def test_real_classifier_groups_follow_layer_decay_and_no_decay_rules() -> None:
    model = TF_MAE_Classifier(None, num_classes=3, **preset_config("tiny"))
    groups = param_groups(model, lr=1.0, weight_decay=0.05, layer_decay=0.5)
    n = model.num_layers
    by_name = {name: g for g in groups for name in g["names"]}
    assert by_name["encoder.patch_embed.proj.weight"]["base_lr"] == pytest.approx(0.5 ** (n - 1))
    assert by_name["encoder.blocks.0.attn.qkv.weight"]["base_lr"] == pytest.approx(0.5 ** (n - 2))
    head_weights = [k for k in by_name if k.startswith("head.") and k.endswith("weight")]
    assert all(by_name[k]["base_lr"] == 1.0 for k in head_weights)
    for name in ("encoder.pos_embed", "encoder.cls_token", "head.reasoning_tokens"):
        assert by_name[name]["weight_decay"] == 0.0, name
    assert by_name["encoder.blocks.0.attn.qkv.weight"]["weight_decay"] == 0.05
    assert len(by_name) == sum(1 for _ in model.parameters())


def test_a_non_finite_loss_stops_training_with_a_training_error() -> None:
    net = LayeredNet()
    job = TrainJob(
        model=net,
        objective=ExplodingObjective(net),
        train_set=FourValueWindows(),
        meta={"kind": "classifier", "model_config": {}},
    )
    config = FinetuneConfig(steps=3, batch_size=4, device="cpu")
    engine = Engine(config, job, DistContext.single(torch.device("cpu")), run=None)
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(TrainingError, match="became nan at step 1; lower --lr"):
        engine.fit()
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_too_few_windows_for_one_batch_is_a_training_error() -> None:
    net = LayeredNet()
    job = TrainJob(
        model=net, objective=ExplodingObjective(net), train_set=FourValueWindows(3), meta={}
    )
    with pytest.raises(TrainingError, match="do not fill one batch of 4"):
        Engine(
            FinetuneConfig(steps=1, batch_size=4),
            job,
            DistContext.single(torch.device("cpu")),
            run=None,
        )


def test_class_weights_are_inverse_frequency() -> None:
    from cwtmae_cli.train.finetune import inverse_frequency_weights

    weights = inverse_frequency_weights(np.array([0, 0, 0, 0, 0, 0, 1, 1]), n_classes=3)
    # N / (K n_k): 8 / (3 * 6), 8 / (3 * 2); a class absent from the train split gets 1
    assert weights.tolist() == pytest.approx([8 / 18, 8 / 6, 1.0])
