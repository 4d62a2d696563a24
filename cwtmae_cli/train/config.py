"""Run configuration: frozen dataclasses resolved as defaults < ``--config FILE.toml`` < flags,
written to the run's ``config.json`` and every checkpoint's ``meta.json`` (read by ``--resume``).
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from cwtmae_cli.data.split import SPLIT_CODES
from cwtmae_cli.errors import ConfigError, UsageError
from cwtmae_cli.runtime.precision import PRECISIONS, resolve_precision

PRESET_NAMES = ("tiny", "small", "base")


@dataclass(frozen=True)
class TrainConfig:
    """What both commands share. Exactly one of ``epochs`` / ``steps`` gives the schedule length."""

    data: str | None = None  # store path; resolved to an absolute path before training
    workdir: str | None = None
    out: str | None = None  # run folder; default runs/<command>-<UTC stamp>
    resume: str | None = None  # checkpoint or run folder to continue
    channel: int | str = 0  # store channel: index or name
    epochs: int | None = None
    steps: int | None = None
    batch_size: int = 64  # global batch, split evenly across ranks
    lr: float = 3e-4  # peak learning rate (of the head / last layer when layer decay is on)
    weight_decay: float = 0.05
    warmup_fraction: float = 0.05  # of the total steps
    min_lr_ratio: float = 0.01  # cosine floor, as a fraction of each group's peak rate
    grad_clip: float = 1.0  # max global grad norm; 0 turns clipping off
    gpus: int = 1  # processes to run (one per GPU, or CPU processes with --device cpu)
    device: str = "auto"
    seed: int = 0
    save_every: int = 1000  # steps between checkpoints (plus one at the end)
    log_every: int = 10  # steps between metrics.jsonl lines
    compile: bool = False
    precision: str = "auto"  # bf16 | fp32 | auto; a run's config holds the resolved one
    dist_timeout_s: float = 600.0  # a collective that waits longer than this fails the run

    command = "train"
    default_epochs = 10

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (tuples become lists), with the command name."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
        return {"command": self.command, **out}

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    @property
    def total_steps_fixed(self) -> bool:
        return self.steps is not None


@dataclass(frozen=True)
class PretrainConfig(TrainConfig):
    """``cwtmae pretrain``: self-supervised MAE training on unlabelled windows."""

    model: str = "base"  # preset: tiny | small | base
    mask_ratio: float | None = None  # None keeps the preset's (0.75)
    mask_mode: str = "random"  # random | time
    splits: tuple[str, ...] = ("train",)
    lr: float = 3e-4

    command, default_epochs = "pretrain", 20


@dataclass(frozen=True)
class FinetuneConfig(TrainConfig):
    """``cwtmae finetune``: a classifier on the labelled train split, selected on validation."""

    pretrained: str | None = None  # MAE checkpoint (or run folder = its latest)
    model: str | None = None  # preset, only with --from-scratch and no --pretrained
    # mlp (512-wide residual MLP) outweighs a tiny encoder ~5x; 100 steps from scratch on
    # separable data: mlp 68-74 % at lr 5e-4..3e-3, cot 88-97 % at 3e-3 (seeds 0-2)
    head: str = "cot"  # cot | mlp
    classes: int | None = None  # must equal the store's number of label names
    layer_decay: float = 0.75  # lr scale = decay ** (num_layers - 1 - layer_id)
    class_weights: bool = False  # inverse-frequency weights from the train split
    balanced_sampling: bool = False  # batches drawn class-balanced (data/store/balanced.py)
    balance_power: float = 1.0  # with balanced_sampling: class shares ~ n ** (1 - power)
    label_smoothing: float = 0.1
    freeze_encoder: bool = False  # linear probing: train the head (and final norm) only
    from_scratch: bool = False  # random encoder init (ablation)
    dropout: float = 0.1
    eval_every: int | None = None  # steps between validations; None = once per epoch + at the end
    context: int = 1  # windows seen per classified window, centred on it (odd); 1 = no context
    # Suits several epochs of a pretrained small/base model. A tiny model from scratch over
    # ~100-150 steps needs ~3e-3 (5e-4 reached ~70 % on separable data in 100 steps).
    lr: float = 5e-4

    command = "finetune"
    default_epochs = 10


CONFIG_CLASSES: dict[str, type[TrainConfig]] = {"pretrain": PretrainConfig,
                                                 "finetune": FinetuneConfig}


def _type_name(tp: Any) -> str:
    """``int | None`` -> ``"int | None"``; ``tuple[str, ...]`` -> ``"tuple[str, ...]"``."""
    if typing.get_origin(tp) in (types.UnionType, typing.Union):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is tuple:
        return "tuple[" + ", ".join(
            "..." if a is Ellipsis else _type_name(a) for a in typing.get_args(tp)
        ) + "]"
    return "None" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _coerce(key: str, value: Any, tp: Any, source: str) -> Any:
    """Check one value against its field's type (resolved with ``typing.get_type_hints``)."""
    union = typing.get_origin(tp) in (types.UnionType, typing.Union)
    options = typing.get_args(tp) if union else (tp,)
    if value is None:
        if type(None) in options:
            return None
        raise ConfigError(f"{source}: `{key}` cannot be empty")
    bad = ConfigError(f"{source}: `{key}` must be {_type_name(tp)}, got {value!r}")
    if any(typing.get_origin(o) is tuple for o in options):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
            raise bad
        return tuple(v.strip() for v in items if v.strip())
    if isinstance(value, bool):  # bool is an int subclass: only a bool field takes one
        if bool in options:
            return value
        raise bad
    if int in options and isinstance(value, int):
        return value
    if float in options and isinstance(value, (int, float)):
        return float(value)
    if str in options and isinstance(value, str):
        return value
    raise bad


def read_toml(path: Path, cls: type[TrainConfig]) -> dict[str, Any]:
    """The settings of a ``--config`` TOML file, checked against ``cls``'s fields."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no config file at {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    # A [pretrain] / [finetune] table may hold this command's settings; top-level keys are shared.
    section = raw.pop(cls.command, {})
    for other in CONFIG_CLASSES:
        raw.pop(other, None)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{cls.command}] must be a table")
    return check_settings({**raw, **section}, cls, source=str(path))


def check_settings(settings: dict[str, Any], cls: type[TrainConfig], source: str) -> dict:
    """Normalise keys (dashes -> underscores), reject unknown keys, coerce the values."""
    hints = typing.get_type_hints(cls)
    field_types = {f.name: hints[f.name] for f in fields(cls)}
    checked = {}
    for key, value in settings.items():
        name = key.replace("-", "_")
        if name not in field_types:
            command, known = cls.command, ", ".join(sorted(field_types))
            raise ConfigError(f"{source}: unknown setting `{key}` for {command}; known: {known}")
        checked[name] = _coerce(name, value, field_types[name], source)
    return checked


def resolve_config(
    cls: type[TrainConfig], flags: dict[str, Any], config_file: Path | None = None
) -> TrainConfig:
    """Defaults < ``config_file`` < ``flags`` (flags holding only options the user gave).

    ``epochs`` and ``steps`` exclude each other: a layer that sets one clears the other from the
    layers below it; a layer that sets both is an error. Neither anywhere -> ``default_epochs``.
    """
    layers = []
    if config_file is not None:
        layers.append(read_toml(config_file, cls))
    layers.append(check_settings({k: v for k, v in flags.items() if v is not None}, cls, "flags"))
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer.get("epochs") is not None and layer.get("steps") is not None:
            raise UsageError("give either --epochs or --steps, not both")
        if "epochs" in layer or "steps" in layer:
            merged.pop("epochs", None)
            merged.pop("steps", None)
        merged.update(layer)
    if merged.get("epochs") is None and merged.get("steps") is None:
        merged["epochs"] = cls.default_epochs
    config = cls(**merged)
    validate(config)
    return config


def resolved_settings(
    config: TrainConfig,
    *,
    device: str,
    world_size: int,
    steps_per_epoch: int,
    total_steps: int,
    model_config: dict[str, Any],
    preset: str | None,
    channel_name: str | None = None,
) -> dict[str, Any]:
    """What a run really uses, for its ``config.json``: every setting with ``auto`` and the
    "not given" ``None`` replaced by the value in force (the device used, the schedule in both
    steps and epochs, the preset, the mask ratio and validation interval, the model's full
    constructor config). A setting that does not apply (``resume`` of a new run, ``pretrained``
    from scratch) is left out rather than written as null."""
    settings = config.to_dict()
    settings.update(
        device=device,
        world_size=world_size,
        steps=total_steps,
        epochs=round(total_steps / steps_per_epoch, 4),
        steps_per_epoch=steps_per_epoch,
        model=preset if preset is not None else settings.get("model"),
        model_config=dict(model_config),
        channel_name=channel_name,  # the store channel --channel (an index or a name) picked
        precision=resolve_precision(config.precision, torch.device(device)),  # never "auto"
    )
    if "mask_ratio" in settings:
        settings["mask_ratio"] = model_config["mask_ratio"]
    if settings.get("eval_every", 0) is None:  # validation once per epoch (and at the end)
        settings["eval_every"] = steps_per_epoch
    return {key: value for key, value in settings.items() if value is not None}


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild a configuration from ``config.json`` / a checkpoint's ``run_config``."""
    command = data.get("command")
    if command not in CONFIG_CLASSES:
        raise ConfigError(f"run config has unknown command {command!r}")
    cls = CONFIG_CLASSES[command]
    settings = {k: v for k, v in data.items() if k != "command"}
    return cls(**check_settings(settings, cls, source=f"{command} run config"))


def validate(config: TrainConfig) -> None:
    """Value checks that name the flag and the allowed values."""

    def need(ok: bool, message: str) -> None:
        if not ok:
            raise UsageError(message)

    need(config.epochs is None or config.epochs >= 1, "--epochs must be at least 1")
    need(config.steps is None or config.steps >= 1, "--steps must be at least 1")
    need(config.batch_size >= 1, "--batch-size must be at least 1")
    need(config.gpus >= 1, "--gpus must be at least 1")
    need(config.batch_size % config.gpus == 0,
         f"--batch-size {config.batch_size} is the global batch and must divide evenly "
         f"across --gpus {config.gpus}")
    need(config.lr > 0, "--lr must be positive")
    need(config.lr <= 1.0, f"--lr {config.lr:g} is not a learning rate AdamW can train with; "
         "use at most 1 (typical: 1e-4 to 3e-3)")
    need(config.precision in PRECISIONS, f"--precision must be one of {', '.join(PRECISIONS)}")
    need(config.save_every >= 1, "--save-every must be at least 1")
    need(config.log_every >= 1, "log_every must be at least 1")
    need(0.0 <= config.warmup_fraction < 1.0, "warmup_fraction must be in [0, 1)")
    need(config.grad_clip >= 0, "grad_clip must be >= 0")
    if isinstance(config, PretrainConfig):
        need(config.model in PRESET_NAMES, f"--model must be one of {', '.join(PRESET_NAMES)}")
        need(config.mask_mode in ("random", "time"), "--mask-mode must be random or time")
        need(
            config.mask_ratio is None or 0.0 < config.mask_ratio < 1.0,
            "--mask-ratio must be between 0 and 1",
        )
        need(len(config.splits) > 0, "--splits must name at least one split")
        for split in config.splits:
            need(split in SPLIT_CODES, f"--splits: unknown split `{split}`; use train, val, test")
    if isinstance(config, FinetuneConfig):
        need(config.head in ("cot", "mlp"), "--head must be cot or mlp")
        need(config.classes is None or config.classes >= 2, "--classes must be at least 2")
        need(0.0 < config.layer_decay <= 1.0, "--layer-decay must be in (0, 1]")
        need(0.0 <= config.label_smoothing < 1.0, "--label-smoothing must be in [0, 1)")
        need(not (config.class_weights and config.balanced_sampling), "--class-weights and "
             "--balanced-sampling both correct the class mix; choose one")
        need(0.0 < config.balance_power <= 1.0 and (config.balanced_sampling or config.balance_power
             == 1.0), "--balance-power must be in (0, 1] and needs --balanced-sampling")
        need(0.0 <= config.dropout < 1.0, "--dropout must be in [0, 1)")
        need(config.eval_every is None or config.eval_every >= 1, "--eval-every must be >= 1")
        need(config.model is None or config.model in PRESET_NAMES,
             f"--model must be one of {', '.join(PRESET_NAMES)}")
        need(config.context >= 1 and config.context % 2 == 1,
             f"--context must be an odd number of windows >= 1, got {config.context}")
