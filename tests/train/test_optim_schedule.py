"""Parameter groups (no decay, layer-wise decay) and the warm-up + cosine schedule."""

from __future__ import annotations

import math

import pytest
import torch
from stand_ins import LayeredNet

from cwtmae_cli.train.optim import build_optimizer, param_groups
from cwtmae_cli.train.schedule import WarmupCosine


def _group_of(groups: list[dict], name: str) -> dict:
    return next(g for g in groups if name in g["names"])


def test_no_weight_decay_on_biases_norms_and_listed_names() -> None:
    groups = param_groups(LayeredNet(), lr=1e-3, weight_decay=0.05)
    assert _group_of(groups, "blocks.0.weight")["weight_decay"] == 0.05
    for name in ("blocks.0.bias", "norm.weight", "norm.bias", "pos_embed", "head.bias"):
        assert _group_of(groups, name)["weight_decay"] == 0.0, name
    names = [n for g in groups for n in g["names"]]
    assert sorted(names) == sorted(n for n, _ in LayeredNet().named_parameters())


def test_layer_decay_scales_each_layer_geometrically() -> None:
    net = LayeredNet(depth=3)  # num_layers = 5
    groups = param_groups(net, lr=1.0, weight_decay=0.0, layer_decay=0.5)
    assert _group_of(groups, "head.weight")["base_lr"] == 1.0
    assert _group_of(groups, "blocks.2.weight")["base_lr"] == 0.5
    assert _group_of(groups, "blocks.0.weight")["base_lr"] == 0.125
    assert _group_of(groups, "embed.weight")["base_lr"] == 0.0625


def test_scheduler_keeps_per_group_rates_apart_through_training() -> None:
    net = LayeredNet(depth=3)
    opt = build_optimizer(net, lr=1e-2, weight_decay=0.05, layer_decay=0.5)
    sched = WarmupCosine(opt, total_steps=20, warmup_steps=4, min_lr_ratio=0.0)
    for _ in range(7):
        net(torch.randn(2, 4)).sum().backward()
        opt.step()
        sched.step()
    rates = {g["names"][0]: g["lr"] for g in opt.param_groups}
    factor = sched.factor(7)
    assert rates["head.weight"] == pytest.approx(1e-2 * factor)
    assert rates["blocks.0.weight"] == pytest.approx(1e-2 * 0.125 * factor)
    assert rates["embed.weight"] == pytest.approx(1e-2 * 0.0625 * factor)
    assert rates["head.weight"] / rates["embed.weight"] == pytest.approx(16.0)


def test_warmup_then_cosine_to_floor() -> None:
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    sched = WarmupCosine(opt, total_steps=11, warmup_steps=2, min_lr_ratio=0.1)
    seen = []
    for _ in range(11):
        seen.append(opt.param_groups[0]["lr"])
        sched.step()
    assert seen[0] == pytest.approx(1.0) and seen[1] == pytest.approx(2.0)
    assert seen[2] == pytest.approx(2.0)  # cosine starts at the peak
    mid = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5))
    assert seen[6] == pytest.approx(2.0 * mid)
    assert seen[10] == pytest.approx(0.2)
    assert all(a >= b for a, b in zip(seen[2:], seen[3:], strict=False))


def test_scheduler_state_round_trip_continues_the_same_curve() -> None:
    def make() -> tuple[torch.optim.Optimizer, WarmupCosine]:
        opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        return opt, WarmupCosine(opt, total_steps=30, warmup_steps=3, min_lr_ratio=0.0)

    opt_a, a = make()
    for _ in range(12):
        a.step()
    opt_b, b = make()
    b.load_state_dict(a.state_dict())
    assert opt_b.param_groups[0]["lr"] == opt_a.param_groups[0]["lr"]
    with pytest.raises(ValueError, match="schedule length"):
        WarmupCosine(opt_b, total_steps=31, warmup_steps=3).load_state_dict(a.state_dict())


def test_optimizer_is_multi_tensor_and_updates_as_the_plain_loop() -> None:
    torch.manual_seed(0)
    net, twin = LayeredNet(depth=2), LayeredNet(depth=2)
    twin.load_state_dict(net.state_dict())
    fast = build_optimizer(net, lr=1e-2, weight_decay=0.05, layer_decay=0.5)
    assert fast.defaults["foreach"] is True  # parameters on the CPU: foreach, not the loop
    plain = torch.optim.AdamW(param_groups(twin, 1e-2, 0.05, 0.5), lr=1e-2, betas=(0.9, 0.95),
                              foreach=False)
    for _ in range(5):
        x = torch.randn(3, 4)
        for model, opt in ((net, fast), (twin, plain)):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
    for (name, a), (_, b) in zip(net.named_parameters(), twin.named_parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7, msg=name)
