"""What a classifier checkpoint's ``meta.json`` says about the fine-tuning that made it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from cwtmae_cli.runtime.checkpoint import read_meta
from cwtmae_cli.train.plan import RunPlan
from cwtmae_cli.train.pretrain import preprocessing_meta, seen_of


def classifier_meta(
    model: nn.Module, train_set: Any, preset: str | None, store: Path, pretrained: str | None,
    val_set: Any = None, pretraining_seen: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a classifier checkpoint's meta.json says about the job (see ``checkpoint_meta``):
    evaluate and predict rebuild the model and its preprocessing from it alone. ``seen`` lists
    the recordings of ``train_set`` and ``val_set`` (unwrapped datasets) and, from
    ``pretraining_seen``, those its pretraining saw (:mod:`cwtmae_cli.runtime.seen`)."""
    seen = {"training": seen_of(train_set, ("train",))}
    if val_set is not None:
        seen["validation"] = seen_of(val_set, ("val",))
    seen.update(pretraining_seen or {})
    return {
        "kind": "classifier",
        "preset": preset,
        "model_config": model.config,
        "preprocessing": preprocessing_meta(train_set, model.config),
        "label_names": train_set.label_names,
        "store": str(store),
        "pretrained": pretrained,
        "seen": seen,
    }


def pretraining_seen(plan: RunPlan, pretrained: str | None) -> dict[str, Any]:
    """The ``seen`` entry a classifier carries from its pretraining: the pretraining checkpoint's
    (on ``--resume``, the resumed checkpoint's copy); none from scratch."""
    from cwtmae_cli.runtime.seen import carried_pretraining

    if plan.resume_ckpt is None:
        return carried_pretraining(read_meta(Path(pretrained)) if pretrained else None)
    seen = read_meta(Path(plan.resume_ckpt)).get("seen")
    if seen is None:  # resumed from a checkpoint made before the lists
        return {"pretraining": None} if pretrained else {}
    return {key: seen[key] for key in ("pretraining",) if key in seen}
