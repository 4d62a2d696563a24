"""Which torch device a command runs on."""

from __future__ import annotations

import torch

from cwtmae_cli.errors import UsageError
from cwtmae_cli.wording import plural


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; ``cpu``, ``cuda``, ``cuda:N``.

    Raises UsageError (exit 2) for an unknown name or a CUDA device that is not there.
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: no CUDA GPU is visible; use --device cpu")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(
                f"--device {name}: only {plural(torch.cuda.device_count(), 'CUDA device')} "
                "visible"
            )
        return device
    raise UsageError(f"unknown --device `{name}`; use auto, cpu, cuda or cuda:N")
