"""What one training step of the ``base`` model costs on a CPU, estimated before training starts.

The estimate is FLOP-based: the floating-point operations of one window's forward and backward
pass are counted with ``torch.utils.flop_counter`` on the meta device (no memory, no compute;
operations without a FLOP formula, such as element-wise ones and FFTs, are not counted; attention
is counted by the formula of the kernel the meta device dispatches to, which gives 295 GFLOP for
the base MAE where a real CPU pass counts 243), and divided by this CPU's matrix-product rate
measured for a fraction of a second with the threads torch uses. Real steps also move memory and
run element-wise kernels. On a busy 2-core machine it gave 29.5 s per window for the base MAE
where one real forward and backward pass took 30 s.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any
from unittest import mock

import torch

WARN_PRESETS = ("base",)


@dataclass(frozen=True)
class StepEstimate:
    """Seconds per optimizer step of ``batch_size`` windows, and what they come from."""

    preset: str
    gflop_per_window: float  # forward + backward of one window
    cpu_gflops: float  # this CPU's measured matrix-product rate
    batch_size: int

    @property
    def seconds_per_step(self) -> float:
        return self.gflop_per_window * self.batch_size / self.cpu_gflops


def training_gflop_per_window(build: Any, signal_len: int) -> float:
    """GFLOP of one window's forward and backward pass through the module ``build()`` makes
    (called on the meta device). ``forward`` returns a loss tensor or a tuple led by one."""
    from torch.utils.flop_counter import FlopCounterMode

    # torch.autocast refuses the meta device; the CWT asks for float32 through it.
    no_autocast = mock.patch.object(torch, "autocast", lambda *a, **k: contextlib.nullcontext())
    with torch.device("meta"), no_autocast:
        model = build()
        x = torch.randn(1, signal_len)  # (1, L)
        with FlopCounterMode(display=False) as counter:
            out = model(x)
            loss = out[0] if isinstance(out, tuple) else out.float().sum()
            loss.backward()
    return counter.get_total_flops() / 1e9


def cpu_matmul_gflops(seconds: float = 0.25, size: int = 512) -> float:
    """This CPU's float32 matrix-product rate (GFLOP/s) with torch's current thread count."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        a @ b
        n += 1
    return 2 * size**3 * n / (time.perf_counter() - started) / 1e9


def preset_of_run(config: Any, resume_ckpt: str | None) -> str | None:
    """The preset a run will train: the resumed or pretrained checkpoint's, else ``--model``
    (a from-scratch fine-tuning without one builds ``base``)."""
    from pathlib import Path

    from cwtmae_cli.runtime.checkpoint import read_meta

    source = resume_ckpt or getattr(config, "pretrained", None)
    if source:
        return read_meta(Path(source)).get("preset")
    if config.command == "finetune":
        return config.model or "base"
    return config.model


def cpu_step_estimate(config: Any, resume_ckpt: str | None, n_samples: int) -> StepEstimate | None:
    """The estimate for a run of the ``base`` model on a CPU; None for any other run."""
    from cwtmae_cli.model import TF_MAE_Classifier, build_mae, preset_config
    from cwtmae_cli.runtime.device import resolve_device

    if resolve_device(config.device).type != "cpu":
        return None
    preset = preset_of_run(config, resume_ckpt)
    if preset not in WARN_PRESETS:
        return None
    if config.command == "pretrain":
        overrides = {"signal_len": n_samples}
        if config.mask_ratio is not None:
            overrides["mask_ratio"] = config.mask_ratio

        def build():
            return build_mae(preset, **overrides)
    else:
        encoder = preset_config(preset, signal_len=n_samples)

        def build():
            return TF_MAE_Classifier(
                None, num_classes=config.classes or 2, use_cot=config.head == "cot", **encoder
            )

    return StepEstimate(
        preset=preset,
        # a context model encodes up to K windows per classified one
        gflop_per_window=training_gflop_per_window(build, n_samples)
        * getattr(config, "context", 1),
        cpu_gflops=cpu_matmul_gflops(),
        batch_size=config.batch_size,  # processes on one CPU share its cores
    )
