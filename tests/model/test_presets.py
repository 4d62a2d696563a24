"""Contract tests over every preset: config round trip, forward shapes, finite loss, gradients."""

from __future__ import annotations

import json

import pytest
import torch

from cwtmae_cli.errors import ConfigError
from cwtmae_cli.model import PRESETS, CWT_MAE_RoPE, TF_MAE_Classifier, build_mae

# "base" is covered by test_mae.py (parameter count, one forward); "small" takes seconds
SMALL_PRESETS = [
    pytest.param(name, marks=pytest.mark.slow) if name == "small" else name
    for name in PRESETS if name != "base"
]


def test_base_preset_is_the_spec_default() -> None:
    with torch.device("meta"):
        default, base = CWT_MAE_RoPE(), build_mae("base")
    assert base.config == default.config


@pytest.mark.parametrize("name", SMALL_PRESETS)
def test_preset_forward_shapes_finite_and_gradients(name: str) -> None:
    torch.manual_seed(0)
    model = build_mae(name)
    cfg = model.config
    batch = 2
    x = torch.randn(batch, cfg["signal_len"])
    loss, pred_spec, pred_time, imgs = model(x)
    grid = (cfg["cwt_scales"] // cfg["patch_size_freq"]) * (
        cfg["signal_len"] // cfg["patch_size_time"]
    )
    assert loss.shape == ()
    assert torch.isfinite(loss)
    assert pred_spec.shape == (batch, grid, 3 * cfg["patch_size_freq"] * cfg["patch_size_time"])
    assert pred_time.shape == (batch, cfg["signal_len"])
    assert imgs.shape == (batch, 3, cfg["cwt_scales"], cfg["signal_len"])
    loss.backward()
    no_grad = [
        n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert no_grad == []


@pytest.mark.parametrize("name", SMALL_PRESETS)
def test_config_is_json_and_rebuilds_the_same_model(name: str) -> None:
    model = build_mae(name, mask_mode="time", rope="1d")
    cfg = json.loads(json.dumps(model.config))
    rebuilt = CWT_MAE_RoPE(**cfg)
    assert rebuilt.config == model.config
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()
    }
    rebuilt.load_state_dict(model.state_dict(), strict=True)


@pytest.mark.parametrize("name", SMALL_PRESETS)
@pytest.mark.parametrize("use_cot", [True, False])
def test_classifier_from_preset_config(name: str, use_cot: bool) -> None:
    mae = build_mae(name)
    clf = TF_MAE_Classifier(mae.state_dict(), num_classes=3, use_cot=use_cot, **mae.config)
    x = torch.randn(2, mae.config["signal_len"])
    logits = clf(x)
    assert logits.shape == (2, 3)
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(p.grad is not None for p in clf.parameters())
    rebuilt = TF_MAE_Classifier(None, **clf.config)
    rebuilt.load_state_dict(clf.state_dict(), strict=True)


def test_unknown_preset_and_override_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown model preset 'huge'"):
        build_mae("huge")
    with pytest.raises(ConfigError, match="bogus"):
        build_mae("tiny", bogus=1)
