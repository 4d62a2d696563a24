"""Checkpoint folders: ``model.safetensors`` + ``meta.json`` (+ ``train_state.pt``), written to a
temporary sibling and renamed into place, so a crash never leaves a half-written checkpoint.

``evaluate`` and ``predict`` need nothing but such a folder: ``meta.json`` carries the model's
constructor arguments (``model_config``), the preprocessing and the label names.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cwtmae_cli import __version__
from cwtmae_cli.errors import CheckpointError, TrainingError
from cwtmae_cli.model.pretrained import WEIGHTS_FILE
from cwtmae_cli.runtime.hub import fetch_hub_model, is_hub_ref
from cwtmae_cli.runtime.manifest import MANIFEST_FILE, sha256_file, verify_manifest
from cwtmae_cli.runtime.state import TRAIN_STATE_FILE

FORMAT_VERSION = 1
META_FILE = "meta.json"
KINDS = ("mae", "classifier")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_sha256 = sha256_file


def weights_sha256(ckpt: Path) -> str:
    """sha256 (hex) of the weights file of checkpoint folder ``ckpt``, computed from the file
    itself (what a result's provenance names). CheckpointError when there is none."""
    path = Path(ckpt) / WEIGHTS_FILE
    if not path.is_file():
        raise CheckpointError(f"no {WEIGHTS_FILE} in {ckpt}")
    return _sha256(path)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain module under DistributedDataParallel and/or torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def _cpu_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """State dict as contiguous CPU tensors with no shared storage (safetensors refuses it)."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}


def checkpoint_meta(
    job_meta: dict[str, Any], step: int, steps_per_epoch: int, run_config: dict[str, Any]
) -> dict[str, Any]:
    """The ``meta`` a training run saves with a checkpoint: the job's description (``kind``,
    ``model_config``, ``preprocessing``, ...) plus where in the run it was taken."""
    return {
        **job_meta,
        "step": step,
        "epoch": round(step / steps_per_epoch, 4),
        "run_config": run_config,
    }


def save_checkpoint(
    dir: Path, model: nn.Module, meta: dict[str, Any], train_state: dict[str, Any] | None = None
) -> Path:
    """Write ``dir`` atomically: files go to a hidden temp sibling, are fsynced, then renamed.

    An existing ``dir`` is replaced as a whole (moved aside, the new one renamed in, the old
    removed). ``meta`` must hold ``kind`` and ``model_config``; ``format_version``,
    ``tool_version`` and ``weights`` (sha256, parameter count) are added. Returns ``dir``.
    """
    from safetensors.torch import save_file

    dir = Path(dir)
    if meta.get("kind") not in KINDS:
        raise ValueError(f"meta['kind'] must be one of {KINDS}, got {meta.get('kind')!r}")
    model = unwrap_model(model)
    dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = dir.parent / f".{dir.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        tensors = _cpu_tensors(model)
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        full_meta = {"format_version": FORMAT_VERSION, "tool_version": __version__, **meta}
        full_meta["weights"] = {
            "file": WEIGHTS_FILE,
            "sha256": _sha256(tmp / WEIGHTS_FILE),
            "n_parameters": int(sum(p.numel() for p in model.parameters())),
        }
        (tmp / META_FILE).write_text(json.dumps(full_meta, indent=2) + "\n", encoding="utf-8")
        if train_state is not None:
            torch.save(train_state, tmp / TRAIN_STATE_FILE)
        for child in tmp.iterdir():
            _fsync_file(child)
        fsync_dir(tmp)
        old = None
        if dir.exists():
            old = dir.parent / f".{dir.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(dir, old)
        os.replace(tmp, dir)
        fsync_dir(dir.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):  # a full disk, a read-only folder: say so in one line
            raise TrainingError(
                f"cannot write checkpoint {dir}: {exc.strerror or exc}; free some space (or fix "
                "the permissions) and continue the run with --resume"
            ) from exc
        raise
    return dir


def read_meta(ckpt: Path) -> dict[str, Any]:
    """``ckpt/meta.json``; CheckpointError if missing, not JSON, newer format or unknown kind."""
    path = Path(ckpt) / META_FILE
    if not path.is_file():
        raise CheckpointError(f"no {META_FILE} in {ckpt}; not a cwtmae checkpoint folder")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is corrupted ({exc}); use another checkpoint") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path} is not a checkpoint description (expected a JSON object)")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {version!r}; this cwtmae reads up to "
            f"{FORMAT_VERSION}: upgrade cwtmae"
        )
    if meta.get("kind") not in KINDS or not isinstance(meta.get("model_config"), dict):
        raise CheckpointError(f"{path} lacks a valid kind/model_config; not a cwtmae checkpoint")
    return meta


def resolve_checkpoint(path: Path, prefer: str = "latest") -> Path:
    """A checkpoint folder as is, or a run folder's ``checkpoints/best`` (``prefer="best"``,
    when it exists) or newest checkpoint (the highest ``step-*``; ``latest`` names it too).

    ``hf://OWNER/NAME[@REV]`` is fetched into the hub cache first; an exported folder (one with
    ``manifest.json``, and every hub folder) is used only when all its files match it."""
    if prefer not in ("latest", "best"):
        raise ValueError(f"prefer must be 'latest' or 'best', got {prefer!r}")
    hub = is_hub_ref(path)
    path = fetch_hub_model(path) if hub else Path(path)
    if path.is_file() and path.name in (WEIGHTS_FILE, META_FILE):
        path = path.parent
    if not path.exists():
        raise CheckpointError(f"no checkpoint or run folder at {path}")
    if hub or (path / MANIFEST_FILE).is_file():
        verify_manifest(path, required=(WEIGHTS_FILE, META_FILE))
    if (path / META_FILE).is_file():
        return path
    if not (path / "checkpoints").is_dir():
        raise CheckpointError(
            f"{path} is neither a checkpoint folder (with {META_FILE}) nor a run folder "
            "(with checkpoints/)"
        )
    best = path / "checkpoints" / "best"
    if prefer == "best" and (best / META_FILE).is_file():
        return best
    # The newest complete step folder: ``latest`` lags behind it when a crash fell between a
    # checkpoint's rename and the pointer's update.
    steps = sorted(p for p in (path / "checkpoints").glob("step-*") if (p / META_FILE).is_file())
    if steps:
        return steps[-1]
    pointer = path / "latest"
    if not pointer.is_file():
        raise CheckpointError(
            f"run folder {path} has no checkpoint yet; start a new run (another --out)"
        )
    ckpt = path / pointer.read_text(encoding="utf-8").strip()
    if not ckpt.resolve().is_relative_to((path / "checkpoints").resolve()):
        raise CheckpointError(
            f"{pointer} points outside {path / 'checkpoints'}; refusing to follow it"
        )
    if not (ckpt / META_FILE).is_file():
        raise CheckpointError(f"{pointer} points at {ckpt}, which is not a checkpoint folder")
    return ckpt


def _channel_slots(preprocessing: dict) -> list[str]:
    """The model's channel slots in its input order, ``n: slot`` (``1: MLII``, ``2: V1|V2``);
    a checkpoint from before several channels has its one ``channel``."""
    slots = preprocessing.get("channels") or (
        [preprocessing["channel"]] if preprocessing.get("channel") else [])
    return [f"{i}: {slot}" for i, slot in enumerate(slots, start=1)]


def describe_checkpoint(path: Path) -> dict[str, Any]:
    """What ``cwtmae inspect`` shows, read from meta.json and the safetensors header only."""
    from safetensors import safe_open

    ckpt = resolve_checkpoint(path, prefer="best")
    meta = read_meta(ckpt)
    weights = ckpt / WEIGHTS_FILE
    n_parameters = None
    if weights.is_file():
        try:
            with safe_open(str(weights), framework="pt") as fh:
                n_parameters = 0
                for key in fh.keys():
                    shape = fh.get_slice(key).get_shape()
                    n_parameters += int(torch.Size(shape).numel())
        except Exception as exc:  # a bad header: say so rather than guess a size
            raise CheckpointError(f"{weights} is corrupted or not safetensors: {exc}") from None
    return {
        "path": str(ckpt),
        "kind": meta["kind"],
        "format_version": meta["format_version"],
        "tool_version": meta.get("tool_version"),
        "preset": meta.get("preset"),
        "step": meta.get("step"),
        "epoch": meta.get("epoch"),
        "model_config": meta["model_config"],
        "preprocessing": meta.get("preprocessing", {}),
        "channel_slots": _channel_slots(meta.get("preprocessing", {})),
        "label_names": meta.get("label_names", []),
        "store": meta.get("store"),
        # per training stage: the store, splits and number of recordings it saw (the lists
        # themselves are in meta.json; None: made before cwtmae kept them)
        "seen": None if meta.get("seen") is None else {
            stage: entry and {k: entry.get(k) for k in ("store", "splits", "n_recordings")}
            for stage, entry in meta["seen"].items()
        },
        "metrics": meta.get("metrics", {}),
        # Parameters as counted at save time; else every value in the weights file (incl. buffers).
        "n_parameters": (meta.get("weights") or {}).get("n_parameters", n_parameters),
        "weights_bytes": weights.stat().st_size if weights.is_file() else None,
        "resumable": (ckpt / TRAIN_STATE_FILE).is_file(),
    }
