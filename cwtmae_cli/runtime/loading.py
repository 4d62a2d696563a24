"""Models back from checkpoint folders: weights checked against their sha256, loaded strictly
(every key present and shaped right, or a CheckpointError naming the mismatch), and the model
rebuilt from ``meta.json``'s ``model_config``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from cwtmae_cli.errors import CheckpointError, ConfigError
from cwtmae_cli.model.pretrained import WEIGHTS_FILE
from cwtmae_cli.runtime.checkpoint import (
    META_FILE,
    _sha256,
    read_meta,
    resolve_checkpoint,
    unwrap_model,
)
from cwtmae_cli.wording import plural


def load_state_dict(ckpt: Path, meta: dict[str, Any] | None = None) -> dict[str, torch.Tensor]:
    """The weights of ``ckpt``, checked against the sha256 in ``meta.json`` when it has one."""
    from safetensors.torch import load_file

    path = Path(ckpt) / WEIGHTS_FILE
    if not path.is_file():
        raise CheckpointError(f"no {WEIGHTS_FILE} in {ckpt}")
    expected = ((meta or {}).get("weights") or {}).get("sha256")
    if expected is not None and _sha256(path) != expected:
        raise CheckpointError(
            f"{path} is corrupted (checksum differs from meta.json); use another checkpoint"
        )
    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own error types for bad headers / data
        raise CheckpointError(f"{path} is corrupted or not safetensors: {exc}") from None


def load_weights(model: nn.Module, ckpt: Path, meta: dict[str, Any] | None = None) -> None:
    """Load ``ckpt``'s weights into ``model`` strictly; CheckpointError naming mismatched keys."""
    state = load_state_dict(ckpt, meta)
    own = unwrap_model(model).state_dict()
    grid_key = "encoder.grid_size"  # 16 x 60 and 32 x 30 have the same pos_embed shape
    if grid_key in state and grid_key in own and not torch.equal(state[grid_key], own[grid_key]):
        saved, built = (" x ".join(str(int(v)) for v in g.tolist())
                        for g in (state[grid_key], own[grid_key]))
        raise CheckpointError(
            f"{Path(ckpt) / WEIGHTS_FILE} was trained on a {saved} patch grid but the model "
            f"built from {META_FILE} has a {built} grid; the checkpoint's meta.json does not "
            "match its weights"
        )
    wrong = [k for k, v in state.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if wrong:
        key = wrong[0]
        raise CheckpointError(
            f"{Path(ckpt) / WEIGHTS_FILE} does not fit the model: `{key}` has shape "
            f"{tuple(state[key].shape)} in the file but {tuple(own[key].shape)} in the model "
            f"built from {META_FILE} ({plural(len(wrong), 'tensor')} "
            f"{'differs' if len(wrong) == 1 else 'differ'})"
        )
    result = unwrap_model(model).load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(
            f"{Path(ckpt) / WEIGHTS_FILE} does not fit the model: missing "
            f"{list(result.missing_keys)[:5]}, unexpected {list(result.unexpected_keys)[:5]}"
        )


def _load(ckpt: Path, kind: str, device: str | torch.device, prefer: str) -> tuple[nn.Module, dict]:
    ckpt = resolve_checkpoint(ckpt, prefer=prefer)
    meta = read_meta(ckpt)
    if meta["kind"] != kind:
        if kind == "classifier":
            raise CheckpointError(
                f"{ckpt} is a pretraining (MAE) checkpoint; give a fine-tuned classifier "
                "checkpoint (from `cwtmae finetune`)"
            )
        raise CheckpointError(
            f"{ckpt} is a fine-tuned classifier checkpoint; give a pretraining (MAE) checkpoint "
            "(from `cwtmae pretrain`)"
        )
    from cwtmae_cli.model import CWT_MAE_RoPE
    from cwtmae_cli.model.context import build_classifier

    try:
        if kind == "classifier":
            model = build_classifier(None, **meta["model_config"])
        else:
            model = CWT_MAE_RoPE(**meta["model_config"])
    except (TypeError, ValueError, ConfigError) as exc:
        raise CheckpointError(f"{ckpt / META_FILE}: model_config does not fit: {exc}") from None
    load_weights(model, ckpt, meta)
    return model.to(device).eval(), meta


def load_classifier(ckpt: Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """A fine-tuned ``TF_MAE_Classifier`` (``ContextClassifier`` when trained with context) in
    eval mode and its meta (run folder -> its best)."""
    return _load(ckpt, "classifier", device, prefer="best")


def load_mae(ckpt: Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """A pretrained ``CWT_MAE_RoPE`` in eval mode and its meta (run folder -> its latest)."""
    return _load(ckpt, "mae", device, prefer="latest")
