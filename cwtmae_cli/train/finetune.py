"""``cwtmae finetune``: ``TF_MAE_Classifier`` from a pretraining checkpoint, trained on the
labelled train split and selected on the validation split by macro-F1. The test split is never
read here.

Validation runs at the end of every epoch (every ``eval_every`` steps when that is set) and at
the last step; ``checkpoints/best`` holds the best one so far.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cwtmae_cli.data.split import TRAIN, VALIDATION
from cwtmae_cli.errors import CheckpointError, ConfigError, DataError
from cwtmae_cli.runtime.checkpoint import read_meta, resolve_checkpoint
from cwtmae_cli.runtime.loading import load_state_dict, load_weights
from cwtmae_cli.train.classifier_meta import classifier_meta, pretraining_seen
from cwtmae_cli.train.config import FinetuneConfig
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.job import Events, TrainJob
from cwtmae_cli.train.launch import launch
from cwtmae_cli.train.plan import RunPlan, display_path, plan_run
from cwtmae_cli.train.validation import make_validate
from cwtmae_cli.train.window_fit import pretrained_window_note
from cwtmae_cli.train.worker import run_worker
from cwtmae_cli.workdir import latest_run


class ClassifierObjective(nn.Module):
    """``forward(x, y)`` -> ``{"loss", "accuracy"}``: (weighted, smoothed) cross-entropy."""

    def __init__(
        self, model: nn.Module, class_weights: torch.Tensor | None, label_smoothing: float
    ) -> None:
        super().__init__()
        self.model = model
        self.label_smoothing = label_smoothing
        self.register_buffer("class_weights", class_weights, persistent=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.model(x).float()  # (B, K)
        loss = F.cross_entropy(
            logits, y, weight=self.class_weights, label_smoothing=self.label_smoothing
        )
        accuracy = (logits.argmax(dim=1) == y).float().mean()
        return {"loss": loss, "accuracy": accuracy.detach()}


def inverse_frequency_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """``N / (K n_k)`` per class (1 for a class absent from the train split), float32 (K,)."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)  # (K,)
    weights = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 1.0)
    return torch.tensor(weights, dtype=torch.float32)


def _default_pretrained(workdir: Path) -> Path:
    run = latest_run(workdir, "pretrain", finished=True)
    if run is None:
        raise CheckpointError(
            f"no finished pretraining run in {workdir / 'runs'}; run `cwtmae pretrain` first, "
            "pass --pretrained CKPT, or train without one with --from-scratch"
        )
    return run


def resolve_pretrained(workdir: Path, given: Path | None) -> Path:
    """The pretraining checkpoint to start from: ``given`` (a checkpoint, or a run folder = its
    latest) or the latest finished pretraining run under ``workdir``; checked readable."""
    ckpt, _ = _check_pretrained(given or _default_pretrained(Path(workdir)))
    return ckpt


def _split_windows(plan: RunPlan, split: int) -> Any:
    """The store positions that replace ``split`` of the store, or None (read the store's)."""
    return None if plan.windows is None else plan.windows[split]


def _check_pretrained(path: Path) -> tuple[Path, dict[str, Any]]:
    ckpt = resolve_checkpoint(path, prefer="latest")
    meta = read_meta(ckpt)
    if meta["kind"] != "mae":
        raise CheckpointError(
            f"{ckpt} is a fine-tuned classifier checkpoint; --pretrained needs a pretraining "
            "(MAE) checkpoint from `cwtmae pretrain`"
        )
    load_state_dict(ckpt, meta)  # readable and matching its checksum, before anything starts
    return ckpt, meta


def plan_finetune(
    flags: dict[str, Any], config_file: Path | None = None, windows: Any = None
) -> RunPlan:
    """Resolve and check a fine-tuning run: store labels and classes, the pretrained checkpoint.
    ``windows`` (``{TRAIN: positions, VALIDATION: positions}``) trains and validates on those store
    windows instead of the store's split column."""
    from dataclasses import replace

    plan = replace(plan_run(FinetuneConfig, flags, config_file), windows=windows)
    config = plan.config
    assert isinstance(config, FinetuneConfig)
    notes = list(plan.notes)
    train_set, val_set = _checked_windows(plan, config)
    names = train_set.label_names
    warnings = missing_class_warnings(names, train_set.labels, val_set.labels)
    changes: dict[str, Any] = {"classes": len(names)}
    if plan.resume_ckpt is None and (config.pretrained or not config.from_scratch):
        given = Path(config.pretrained) if config.pretrained else None
        ckpt = resolve_pretrained(Path(str(config.workdir)), given)
        if given is None:
            workdir = Path(str(config.workdir))
            notes.append(f"using pretrained checkpoint {display_path(ckpt, workdir)}")
        changes["pretrained"] = str(ckpt.resolve())
        note = pretrained_window_note(read_meta(ckpt), train_set.fs_hz, train_set.window_s,
                                      train_set.n_samples)
        notes += [note] if note else []
    if plan.resume_ckpt is None:
        config = config.replace(**changes)
    return replace(plan, config=config, notes=tuple(notes), warnings=tuple(warnings))


def _checked_windows(plan: RunPlan, config: FinetuneConfig) -> tuple[Any, Any]:
    """The labelled training and validation windows; DataError/ConfigError when the store has
    none, other classes than ``--classes``, or fewer training windows than one batch."""
    from cwtmae_cli.data.store.loader import WindowDataset

    def windows_of(split: int) -> Any:
        return WindowDataset(
            plan.store,
            splits=(split,),
            channel=config.channel,
            labelled_only=True,
            in_memory=False,
            positions=_split_windows(plan, split),
        )

    train_set = windows_of(TRAIN)
    names = train_set.label_names
    if not names or len(train_set) == 0:
        raise DataError(
            f"store {plan.store} has no labelled training windows; fine-tuning needs a labelled "
            "store (prepare one with a labelling recipe such as sleep-edf or mitdb-af)"
        )
    if config.classes is not None and config.classes != len(names):
        raise ConfigError(
            f"--classes {config.classes} but store {plan.store} has {len(names)} classes "
            f"({', '.join(names)}); pass --classes {len(names)} or leave it out"
        )
    val_set = windows_of(VALIDATION)
    if len(val_set) == 0:
        raise DataError(
            f"store {plan.store} has no labelled validation windows; the best checkpoint is "
            "chosen on them (prepare with a split that gives the validation part subjects)"
        )
    if len(train_set) < config.batch_size:
        raise DataError(
            f"store {plan.store} has {len(train_set)} labelled training windows, fewer than one "
            f"batch of {config.batch_size}; lower --batch-size"
        )
    return train_set, val_set


def missing_class_warnings(
    names: list[str], train_labels: np.ndarray, val_labels: np.ndarray
) -> list[str]:
    """What a class absent from the train or validation split does to a fine-tuning run."""
    lines = []
    for split, labels, consequence in (
        ("train", train_labels, "the model cannot learn to predict it"),
        (
            "validation",
            val_labels,
            "the best checkpoint is chosen by a macro-F1 that scores it 0 whatever the model does",
        ),
    ):
        counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(names))  # (K,)
        for k in np.flatnonzero(counts == 0):
            lines.append(f"the {split} split has no {names[k]} window: {consequence}")
    return lines


def _build_classifier(plan: RunPlan, train_set: Any, in_channels: int = 1
                      ) -> tuple[nn.Module, str | None]:
    from cwtmae_cli.data.context import window_stride_s
    from cwtmae_cli.model import preset_config
    from cwtmae_cli.model.context import build_classifier

    config = plan.config
    assert isinstance(config, FinetuneConfig)
    if plan.resume_ckpt is not None:
        meta = read_meta(Path(plan.resume_ckpt))
        model = build_classifier(None, **meta["model_config"])
        load_weights(model, Path(plan.resume_ckpt), meta)
        return model, meta.get("preset")
    head = {
        "num_classes": config.classes,
        "use_cot": config.head == "cot",
        "dropout": config.dropout,
    }
    if config.context > 1:  # the neighbours are one training-store stride apart
        head.update(context=config.context, context_stride_s=window_stride_s(train_set))
    n_samples = train_set.n_samples
    if config.pretrained and not config.from_scratch:
        preset = read_meta(Path(config.pretrained)).get("preset")
        return build_classifier(config.pretrained, signal_len=n_samples,
                                in_channels=in_channels, **head), preset
    if config.pretrained:  # --from-scratch with the pretrained run's architecture
        source = read_meta(Path(config.pretrained))
        encoder = {**source["model_config"], "signal_len": n_samples, "in_channels": in_channels}
        return build_classifier(None, **head, **encoder), source.get("preset")
    preset = config.model or "base"
    encoder = preset_config(preset, signal_len=n_samples, in_channels=in_channels)
    return build_classifier(None, **head, **encoder), preset


def build_finetune_job(plan: RunPlan, ctx: DistContext) -> TrainJob:
    """The classifier (pretrained, from scratch, or rebuilt for resume) and its data."""
    from cwtmae_cli.data.context import with_context
    from cwtmae_cli.data.store.loader import WindowDataset

    config = plan.config
    assert isinstance(config, FinetuneConfig)
    train_set = WindowDataset(
        plan.store,
        splits=(TRAIN,),
        channel=config.channel,
        labelled_only=True,
        positions=_split_windows(plan, TRAIN),
    )
    val_set = WindowDataset(
        plan.store,
        splits=(VALIDATION,),
        channel=config.channel,
        labelled_only=True,
        positions=_split_windows(plan, VALIDATION),
    )
    model, preset = _build_classifier(plan, train_set, len(train_set.channels))
    pretrained = config.pretrained if not config.from_scratch else None
    meta = classifier_meta(model, train_set, preset, plan.store, pretrained, val_set,
                           pretraining_seen(plan, pretrained))
    train_set, val_set = (with_context(w, config.context) for w in (train_set, val_set))
    if config.freeze_encoder:
        for param in model.encoder.parameters():
            param.requires_grad_(False)
    model.to(ctx.device)
    n_classes = model.config["num_classes"]
    weights = (
        inverse_frequency_weights(train_set.labels, n_classes) if config.class_weights else None
    )
    objective = ClassifierObjective(model, weights, config.label_smoothing).to(ctx.device)
    return TrainJob(
        model=model,
        objective=objective,
        train_set=train_set,
        meta=meta,
        layer_decay=config.layer_decay,
        balanced_labels=np.asarray(train_set.labels) if config.balanced_sampling else None,
        balance_power=config.balance_power,
        validate=make_validate(
            val_set, n_classes, config.batch_size // ctx.world_size, config.precision
        ),
        select_metric="macro_f1",
    )


def finetune_worker(plan: RunPlan, ctx: DistContext, events: Events | None) -> dict[str, Any]:
    return run_worker(plan, ctx, events, build_finetune_job)


def run_finetune(plan: RunPlan, events: Events | None = None) -> dict[str, Any]:
    """Train ``plan`` on ``--gpus`` processes (or join torchrun); rank 0's summary."""
    config = plan.config
    return launch(finetune_worker, plan, config.gpus, config.device, config.dist_timeout_s, events)
