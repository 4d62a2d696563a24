"""Which numerics the network runs in: ``--precision bf16 | fp32 | auto``.

``bf16`` is ``torch.autocast`` to bfloat16 around the network (encoder, decoder, heads); the CWT,
its z-score and the losses stay float32 whatever is chosen (the CWT turns autocast off itself,
the losses upcast their inputs). ``auto`` is bf16 on a CUDA device that supports it and fp32
elsewhere: on the CPU, bf16 autocast is only worth it where the cores have bf16 units
(AVX-512 BF16 or AMX) *and* it measures faster. ``benchmarks/bench_train.py --compare`` has only
run on the project's EPYC, which lists AVX2 and no bf16 units (docs/performance.md), and measured
it slower there; no CPU with bf16 units has been measured, so ``auto`` keeps every CPU in float32
until one is; ``--precision bf16`` still asks for it there.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from cwtmae_cli.errors import UsageError

PRECISIONS = ("auto", "bf16", "fp32")
# False until bench_train.py --compare measures bf16 faster on a CPU with bf16 units (none yet).
CPU_BF16_MEASURED_FASTER = False


def cpu_has_bf16_units(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when the CPU flags list AVX-512 BF16 or AMX (bf16 matrix instructions)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    flags = set(text.split())
    return bool(flags & {"avx512_bf16", "amx_bf16", "amx_tile"})


def check_precision_name(name: str | None) -> str:
    """``name`` normalised; UsageError (exit 2) unless it is one of :data:`PRECISIONS`."""
    name = (name or "auto").strip().lower()
    if name not in PRECISIONS:
        raise UsageError(f"unknown --precision `{name}`; use {', '.join(PRECISIONS)}")
    return name


def resolve_precision(name: str | None, device: torch.device) -> str:
    """``auto`` -> ``bf16`` or ``fp32`` for ``device`` (see the module docstring); ``bf16`` and
    ``fp32`` as given. UsageError (exit 2) for another name or bf16 on a GPU without it."""
    name = check_precision_name(name)
    cuda = device.type == "cuda"
    if name == "auto":
        if cuda:
            return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
        return "bf16" if CPU_BF16_MEASURED_FASTER and cpu_has_bf16_units() else "fp32"
    if name == "bf16" and cuda and not torch.cuda.is_bf16_supported():
        raise UsageError(f"--precision bf16: {device} has no bfloat16 support; use fp32")
    return name


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast for ``precision == "bf16"`` on ``device``; a no-op context for fp32."""
    if precision not in ("bf16", "fp32"):
        raise ValueError(f"precision must be resolved to bf16 or fp32 first, got {precision!r}")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                          enabled=precision == "bf16")


def checkpoint_precision(meta: dict, name: str | None, device: torch.device) -> str:
    """The precision to run a checkpoint in: ``auto`` is the one its run trained and selected it
    in (``run_config.precision``), so evaluation sees the numerics selection saw; a checkpoint
    from before ``--precision`` existed, or an explicit name, goes through
    :func:`resolve_precision`."""
    recorded = (meta.get("run_config") or {}).get("precision")
    if (name or "auto").strip().lower() == "auto" and recorded in ("bf16", "fp32"):
        if recorded == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return "fp32"
        return recorded
    return resolve_precision(name, device)
