"""Configuration: defaults < TOML < flags, epochs/steps exclusivity, clear errors."""

from __future__ import annotations

import pytest

from cwtmae_cli.errors import ConfigError, UsageError
from cwtmae_cli.train.config import (
    FinetuneConfig,
    PretrainConfig,
    config_from_dict,
    resolve_config,
    resolved_settings,
)


def test_flags_override_toml_which_overrides_defaults(tmp_path) -> None:
    toml = tmp_path / "run.toml"
    toml.write_text(
        "lr = 0.01\nbatch-size = 16\nsteps = 50\n[pretrain]\nmask_ratio = 0.5\n"
        '[finetune]\nhead = "mlp"\n'
    )
    config = resolve_config(PretrainConfig, {"batch_size": 8}, toml)
    assert (config.lr, config.batch_size, config.mask_ratio) == (0.01, 8, 0.5)
    assert (config.steps, config.epochs) == (50, None)
    assert config.weight_decay == PretrainConfig().weight_decay
    # epochs on the command line replaces the file's steps instead of clashing with it
    config = resolve_config(PretrainConfig, {"epochs": 2}, toml)
    assert (config.steps, config.epochs) == (None, 2)
    assert resolve_config(FinetuneConfig, {}, toml).head == "mlp"


def test_neither_epochs_nor_steps_uses_the_command_default() -> None:
    assert resolve_config(PretrainConfig, {}).epochs == PretrainConfig.default_epochs
    assert resolve_config(FinetuneConfig, {}).epochs == FinetuneConfig.default_epochs


def test_round_trip_through_json_dict() -> None:
    config = resolve_config(FinetuneConfig, {"steps": 7, "head": "mlp", "channel": "Fpz-Cz"})
    assert config_from_dict(config.to_dict()) == config
    pre = resolve_config(PretrainConfig, {"splits": "train,val", "steps": 3})
    assert pre.splits == ("train", "val")
    assert config_from_dict(pre.to_dict()) == pre


@pytest.mark.parametrize(
    ("flags", "error", "match"),
    [
        ({"epochs": 1, "steps": 2}, UsageError, "either --epochs or --steps"),
        ({"batch_size": 5, "gpus": 2}, UsageError, "divide evenly"),
        ({"model": "huge"}, UsageError, "tiny, small, base"),
        ({"splits": "train,holdout"}, UsageError, "unknown split `holdout`"),
        ({"lr": "fast"}, ConfigError, "`lr` must be float"),
        ({"bogus": 1}, ConfigError, "unknown setting `bogus`"),
    ],
)
def test_bad_settings_name_the_flag(flags, error, match) -> None:
    with pytest.raises(error, match=match):
        resolve_config(PretrainConfig, flags)


def test_bad_toml_names_the_file(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("lr = = 1")
    with pytest.raises(ConfigError, match="bad.toml is not valid TOML"):
        resolve_config(PretrainConfig, {}, bad)
    with pytest.raises(ConfigError, match="no config file"):
        resolve_config(PretrainConfig, {}, tmp_path / "missing.toml")


def _no_unresolved(value) -> bool:
    """True when no value, however deep, is None or ``auto``."""
    if isinstance(value, dict):
        return all(_no_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_unresolved(v) for v in value)
    return value is not None and value != "auto"


def test_resolved_settings_hold_the_values_in_force() -> None:
    config = resolve_config(PretrainConfig, {"epochs": 3, "model": "tiny"})
    assert (config.device, config.mask_ratio, config.steps) == ("auto", None, None)
    model_config = {"signal_len": 3000, "mask_ratio": 0.75, "embed_dim": 64}
    resolved = resolved_settings(
        config,
        device="cpu",
        world_size=1,
        steps_per_epoch=4,
        total_steps=12,
        model_config=model_config,
        preset="tiny",
        channel_name="EEG Fpz-Cz",
    )
    assert _no_unresolved(resolved), resolved
    assert (resolved["channel"], resolved["channel_name"]) == (0, "EEG Fpz-Cz")
    assert (resolved["device"], resolved["mask_ratio"]) == ("cpu", 0.75)
    assert (resolved["steps"], resolved["epochs"], resolved["steps_per_epoch"]) == (12, 3.0, 4)
    assert resolved["model_config"] == model_config and resolved["world_size"] == 1
    assert "resume" not in resolved  # a new run resumes nothing: left out, not null


def test_resolved_finetune_settings_name_the_preset_and_the_validation_interval() -> None:
    config = resolve_config(FinetuneConfig, {"steps": 10, "from_scratch": True})
    resolved = resolved_settings(
        config,
        device="cuda:0",
        world_size=1,
        steps_per_epoch=4,
        total_steps=10,
        model_config={"num_classes": 5},
        preset="base",
    )
    assert _no_unresolved(resolved), resolved
    assert (resolved["model"], resolved["eval_every"], resolved["epochs"]) == ("base", 4, 2.5)
    assert "pretrained" not in resolved
