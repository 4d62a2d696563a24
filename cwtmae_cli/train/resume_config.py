"""The configuration of a resumed run: its own saved settings, and only the flags that change
where and how it runs, never what it computes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from cwtmae_cli.errors import CheckpointError, UsageError
from cwtmae_cli.runtime.checkpoint import resolve_checkpoint
from cwtmae_cli.train.config import TrainConfig, check_settings, config_from_dict, validate

# Settings a resumed run may change: where and how it runs, not what it computes.
RESUMABLE_OVERRIDES = frozenset(
    {"gpus", "device", "compile", "dist_timeout_s", "workdir", "resume", "save_every", "log_every"}
)
PATH_SETTINGS = frozenset({"data", "out", "pretrained", "workdir", "resume"})


def _same_path(key: str, value: Any, old: Any) -> bool:
    """``--pretrained RUN`` repeated on ``--resume`` names the checkpoint the run resolved it to."""
    if Path(value).resolve() == Path(old).resolve():
        return True
    if key != "pretrained":
        return False
    try:
        return resolve_checkpoint(Path(value), prefer="latest").resolve() == Path(old).resolve()
    except CheckpointError:
        return False


def resume_config(
    cls: type[TrainConfig], saved: dict[str, Any], flags: dict[str, Any]
) -> TrainConfig:
    """The configuration of a run being resumed: its own saved settings, with only
    :data:`RESUMABLE_OVERRIDES` taken from ``flags``. A flag that would change what the run
    computes (``--lr``, ``--steps``, ...) is a UsageError rather than silently ignored."""
    config = config_from_dict(saved)
    if not isinstance(config, cls):
        raise UsageError(f"--resume: that is a {config.command} run, not a {cls.command} run")
    given = check_settings({k: v for k, v in flags.items() if v is not None}, cls, "flags")
    changes = {}
    for key, value in given.items():
        if key in RESUMABLE_OVERRIDES:
            changes[key] = value
            continue
        old = getattr(config, key)
        same = (
            _same_path(key, value, old)
            if key in PATH_SETTINGS and old is not None
            else value == old
        )
        if not same:
            flag = "--" + key.replace("_", "-")
            raise UsageError(
                f"{flag} {value} differs from the run being resumed ({old}); drop it to continue "
                "that run, or start a new run"
            )
    config = dataclasses.replace(config, **changes)
    validate(config)
    return config
