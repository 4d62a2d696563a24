"""The training state that makes ``--resume`` exact, in a form ``torch.load(weights_only=True)``
accepts: tensors, ints, floats, strings, lists and dicts only (no numpy arrays, no tuples of
Python RNG internals).

``train_state.pt`` holds ``{"step", "epoch", "batch_in_epoch", "optimizer", "scheduler",
"rng_by_rank" (one RNG state per rank), "best", "world_size", ...}``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cwtmae_cli.errors import CheckpointError

TRAIN_STATE_FILE = "train_state.pt"


def capture_rng_state(device: torch.device | None = None) -> dict[str, Any]:
    """Torch (CPU and, on CUDA, the device's), numpy and Python RNG states as plain types."""
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": str(np_name),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_gauss),
        },
        "python": {
            "version": int(py_version),
            "internal": torch.tensor(py_internal, dtype=torch.int64),
            "gauss_next": py_gauss,
        },
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict[str, Any], device: torch.device | None = None) -> None:
    """Inverse of :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch"])
    npy = state["numpy"]
    np.random.set_state(
        (
            npy["name"],
            npy["keys"].numpy().astype(np.uint32),
            npy["pos"],
            npy["has_gauss"],
            npy["cached_gaussian"],
        )
    )
    py = state["python"]
    internal = tuple(int(v) for v in py["internal"].tolist())
    random.setstate((py["version"], internal, py["gauss_next"]))
    if device is not None and device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def load_train_state(ckpt: Path) -> dict[str, Any]:
    """``ckpt/train_state.pt`` through ``torch.load(weights_only=True)``; CheckpointError if absent
    or unreadable."""
    path = Path(ckpt) / TRAIN_STATE_FILE
    if not path.is_file():
        raise CheckpointError(
            f"no {TRAIN_STATE_FILE} in {ckpt}; this checkpoint cannot be resumed (weights only)"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated / foreign files
        raise CheckpointError(f"{path} is corrupted or not a training state: {exc}") from None
