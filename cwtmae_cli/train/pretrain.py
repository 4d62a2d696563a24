"""``cwtmae pretrain``: masked-autoencoder training of ``CWT_MAE_RoPE`` on a store's windows.

Uses the train split unless ``splits`` widens it (test only when asked); labels are ignored.
At the end rank 0 writes ``reconstruction.png`` into the run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from cwtmae_cli.data.readers.channels import slot_names
from cwtmae_cli.data.split import SPLIT_CODES
from cwtmae_cli.errors import DataError
from cwtmae_cli.runtime.checkpoint import read_meta
from cwtmae_cli.runtime.loading import load_weights
from cwtmae_cli.train.config import PretrainConfig
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.job import Events, TrainJob, standardized_batch
from cwtmae_cli.train.launch import launch
from cwtmae_cli.train.plan import RunPlan, plan_run
from cwtmae_cli.train.rundir import RunDir
from cwtmae_cli.train.worker import run_worker
from cwtmae_cli.wording import plural

FIGURE_FILE = "reconstruction.png"


class MAEObjective(nn.Module):
    """``forward(x, y)`` -> ``{"loss", "loss_spec", "loss_time"}`` (labels unused)."""

    def __init__(self, mae: nn.Module) -> None:
        super().__init__()
        self.mae = mae

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = self.mae.forward_with_parts(x)
        return {k: parts[k] for k in ("loss", "loss_spec", "loss_time")}


def split_ids(names: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(SPLIT_CODES[name] for name in names)


def _alternatives(slots: list[str]) -> list[str] | list[list[str]]:
    """The names each slot tries: a list for one slot (as ever), a list per slot for several."""
    if len(slots) == 1:
        return slot_names(slots[0])
    return [slot_names(slot) for slot in slots]


def preprocessing_meta(dataset: Any, model_config: dict[str, Any]) -> dict[str, Any]:
    """How windows were made and fed to the model: what evaluate/predict must reproduce."""
    from cwtmae_cli.data.window_policy import WindowPolicy

    policy = WindowPolicy.from_dict(getattr(dataset, "window_policy", None), dataset.window_s)
    return {
        "fs_hz": dataset.fs_hz,
        "window_s": dataset.window_s,
        "window_policy": policy.to_dict(),
        "n_samples": dataset.n_samples,
        "channel": dataset.channel_name,  # the store's slot: "MLII", "V1|V2|V4|V5"; "A,B" for 2
        "channels": list(dataset.channel_names),  # the slots, in the model's channel order
        "channel_alternatives": _alternatives(dataset.channel_names),
        "cwt_scales": model_config["cwt_scales"],
        "standardize": "per-window-zscore",
    }


def seen_of(dataset: Any, splits: tuple[str, ...]) -> dict[str, Any]:
    """The ``seen`` list (runtime/seen.py) of a ``WindowDataset``'s windows, the store's
    ``splits``."""
    from cwtmae_cli.data.store.schema import open_store
    from cwtmae_cli.runtime.seen import seen_entry

    recordings = open_store(dataset.store_path).recordings
    return seen_entry(dataset.store_path, recordings, dataset.recording, splits)


def plan_pretrain(flags: dict[str, Any], config_file: Path | None = None) -> RunPlan:
    """Resolve and check a pretraining run (nothing is written)."""
    from cwtmae_cli.data.store.loader import WindowDataset

    plan = plan_run(PretrainConfig, flags, config_file)
    config = plan.config
    dataset = WindowDataset(
        plan.store, splits=split_ids(config.splits), channel=config.channel, in_memory=False
    )
    if len(dataset) < config.batch_size:
        raise DataError(
            f"store {plan.store} has {plural(len(dataset), 'window')} in "
            f"{'split' if len(config.splits) == 1 else 'splits'} "
            f"{','.join(config.splits)}, fewer than one batch of {config.batch_size}; "
            "lower --batch-size or widen --splits"
        )
    return plan


def mae_meta(model: nn.Module, dataset: Any, preset: str | None, store: Path,
             splits: tuple[str, ...] = ("train",)) -> dict[str, Any]:
    """What a pretraining checkpoint's meta.json says about the job (see ``checkpoint_meta``),
    with the recordings of ``dataset`` (the store's ``splits``) it reconstructs (``seen``)."""
    return {
        "kind": "mae",
        "preset": preset,
        "model_config": model.config,
        "preprocessing": preprocessing_meta(dataset, model.config),
        "store": str(store),
        "seen": {"pretraining": seen_of(dataset, splits)},
    }


def build_pretrain_job(plan: RunPlan, ctx: DistContext) -> TrainJob:
    """The MAE (from the preset, or rebuilt from the checkpoint being resumed) and its data."""
    from cwtmae_cli.data.store.loader import WindowDataset
    from cwtmae_cli.model import CWT_MAE_RoPE, build_mae

    config = plan.config
    assert isinstance(config, PretrainConfig)
    dataset = WindowDataset(plan.store, splits=split_ids(config.splits), channel=config.channel)
    if plan.resume_ckpt is not None:
        meta = read_meta(Path(plan.resume_ckpt))
        model = CWT_MAE_RoPE(**meta["model_config"])
        load_weights(model, Path(plan.resume_ckpt), meta)
    else:
        overrides: dict[str, Any] = {"signal_len": dataset.n_samples, "mask_mode": config.mask_mode,
                                     "in_channels": len(dataset.channels)}
        if config.mask_ratio is not None:
            overrides["mask_ratio"] = config.mask_ratio
        model = build_mae(config.model, **overrides)
    model.to(ctx.device)
    meta = mae_meta(model, dataset, config.model, plan.store, config.splits)
    return TrainJob(model=model, objective=MAEObjective(model), train_set=dataset, meta=meta)


def finish_pretrain(job: TrainJob, run: RunDir) -> dict[str, Any]:
    """Write the reconstruction figure of the first training window (and give it to
    TensorBoard when the run writes event files)."""
    from cwtmae_cli.train.figure import reconstruction_figure

    device = next(job.model.parameters()).device
    x, _ = standardized_batch(job, [0], device)
    figure = reconstruction_figure(job.model, x, job.train_set.fs_hz)
    path = run.path / FIGURE_FILE
    figure.savefig(path, dpi=90)
    if run.tensorboard is not None:
        run.tensorboard.figure("reconstruction", figure)
    return {"figure": str(path)}


def pretrain_worker(plan: RunPlan, ctx: DistContext, events: Events | None) -> dict[str, Any]:
    return run_worker(plan, ctx, events, build_pretrain_job, finish_pretrain)


def run_pretrain(plan: RunPlan, events: Events | None = None) -> dict[str, Any]:
    """Train ``plan`` on ``--gpus`` processes (or join torchrun); rank 0's summary."""
    config = plan.config
    return launch(pretrain_worker, plan, config.gpus, config.device, config.dist_timeout_s, events)
