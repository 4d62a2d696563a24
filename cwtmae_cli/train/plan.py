"""Everything decided before any training process starts: the configuration, the store, the run
folder and, for ``--resume``, the checkpoint to continue. All checks that can fail on bad input
run here, before the run folder is created, so a bad command leaves nothing behind.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from cwtmae_cli.errors import CheckpointError, UsageError
from cwtmae_cli.runtime.checkpoint import read_meta, resolve_checkpoint
from cwtmae_cli.runtime.device import resolve_device
from cwtmae_cli.train.config import TrainConfig, resolve_config
from cwtmae_cli.train.resume_config import resume_config
from cwtmae_cli.train.rundir import CHECKPOINTS_DIR, check_new_run_dir
from cwtmae_cli.wording import plural
from cwtmae_cli.workdir import find_store, new_run_dir, resolve_workdir

KIND_OF_COMMAND = {"pretrain": "mae", "finetune": "classifier"}


@dataclass(frozen=True)
class RunPlan:
    """A resolved run: picklable, handed to every rank."""

    config: TrainConfig
    run_dir: str
    resume_ckpt: str | None = None
    notes: tuple[str, ...] = field(default=())  # what defaults picked, for the CLI to print
    warnings: tuple[str, ...] = field(default=())  # what makes the results doubtful, ditto
    # split code (0 train, 1 validation) -> store positions (int64 arrays) that replace the
    # store's split column; None reads the splits of the store (``cwtmae benchmark`` sets it)
    windows: Mapping[int, Any] | None = None

    @property
    def store(self) -> Path:
        return Path(str(self.config.data))


def display_path(path: Path, workdir: Path) -> str:
    """``path`` relative to the working folder when it lies inside it (for status lines)."""
    try:
        return str(path.resolve().relative_to(workdir.resolve()))
    except ValueError:
        return str(path)


def _resume_plan(
    cls: type[TrainConfig], flags: dict[str, Any], config_file: Path | None
) -> RunPlan:
    if config_file is not None:
        raise UsageError(
            "--config cannot be combined with --resume; the run's saved config is used"
        )
    ckpt = resolve_checkpoint(Path(flags["resume"]), prefer="latest")
    meta = read_meta(ckpt)
    if meta["kind"] != KIND_OF_COMMAND[cls.command]:
        raise CheckpointError(
            f"--resume {ckpt}: a {meta['kind']} checkpoint cannot continue `cwtmae {cls.command}`"
        )
    if ckpt.parent.name != CHECKPOINTS_DIR or ckpt.name == "best":
        raise CheckpointError(
            f"--resume {ckpt}: give a run folder or one of its checkpoints/step-* folders"
        )
    config = resume_config(cls, meta.get("run_config", {}), flags)
    run_dir = ckpt.parent.parent
    return RunPlan(
        config=config.replace(resume=str(ckpt)),
        run_dir=str(run_dir),
        resume_ckpt=str(ckpt),
        notes=(f"resuming {ckpt} at step {meta['step']}",),
    )


def main_process() -> bool:
    """False on the non-zero ranks of a torchrun launch (they plan but never write)."""
    return int(os.environ.get("RANK", "0")) == 0


def check_devices(config: TrainConfig) -> None:
    """The device exists, there are enough GPUs for ``--gpus``, and CPU processes do not
    outnumber the cores (UsageError)."""
    device = resolve_device(config.device)
    if device.type == "cuda" and config.gpus > torch.cuda.device_count():
        raise UsageError(
            f"--gpus {config.gpus} but only {plural(torch.cuda.device_count(), 'CUDA device')} "
            f"{'is' if torch.cuda.device_count() == 1 else 'are'} visible"
        )
    cores = os.cpu_count() or 1
    most = max(2, cores)  # two gloo processes are fine anywhere (tests, small checks)
    if device.type == "cpu" and config.gpus > most:
        raise UsageError(
            f"--gpus {config.gpus} CPU processes but this machine has "
            f"{plural(cores, 'CPU core')}; "
            f"use at most --gpus {most}"
        )


def plan_run(
    cls: type[TrainConfig], flags: dict[str, Any], config_file: Path | None = None
) -> RunPlan:
    """Resolve a new run (or a resumed one when ``flags["resume"]`` is set)."""
    if flags.get("resume") is not None:
        plan = _resume_plan(cls, flags, config_file)
        check_devices(plan.config)
        if not plan.store.exists():
            raise UsageError(f"the resumed run's store {plan.store} no longer exists")
        return _note_tensorboard(plan)
    config = resolve_config(cls, flags, config_file)
    check_devices(config)  # usage errors first, before any store is looked for
    workdir = resolve_workdir(Path(config.workdir) if config.workdir else None)
    notes = []
    store = find_store(workdir, Path(config.data) if config.data else None)
    if config.data is None:
        notes.append(f"using store {display_path(store, workdir)}")
    run_dir = Path(config.out) if config.out else new_run_dir(workdir, cls.command)
    if main_process():  # under torchrun, rank 0 may already have created it
        check_new_run_dir(run_dir)
    config = config.replace(
        data=str(store.resolve()), out=str(run_dir.resolve()), workdir=str(workdir.resolve())
    )
    plan = RunPlan(config=config, run_dir=str(run_dir.resolve()), notes=tuple(notes))
    return _note_tensorboard(plan)


def _note_tensorboard(plan: RunPlan) -> RunPlan:
    """The plan with one more note when the run will write no TensorBoard event files."""
    from dataclasses import replace

    from cwtmae_cli.train.tensorboard import tensorboard_missing

    missing = tensorboard_missing()
    return plan if missing is None else replace(plan, notes=(*plan.notes, missing))
