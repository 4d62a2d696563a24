"""Benchmark of the training engine's step: pretraining and fine-tuning throughput.

Times ``Engine._train_step`` (per-window z-scoring, forward under autocast, backward, gradient
clipping, AdamW, schedule) on random windows, so the figures are the engine's own, not the
store's I/O. Defaults: the ``tiny`` preset on the CPU; ``--preset base --device cuda`` measures
the seed-size model with bf16 autocast on a GPU.

Also prints the model FLOPs per window (forward + backward, counted by
``torch.utils.flop_counter.FlopCounterMode``: matmuls, convolutions, and attention through the
math kernel; the FFT-based CWT is not counted) and the achieved fraction of the device's peak
(``--peak-tflops``; default 989 TFLOP/s on CUDA, the H200's dense bf16 figure, none on the CPU).

Run: ``python benchmarks/bench_train.py [--preset tiny] [--device cpu] [--batch-size 8]``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import torch

from cwtmae_cli.model import TF_MAE_Classifier, build_mae, preset_config
from cwtmae_cli.runtime.device import resolve_device
from cwtmae_cli.train.config import FinetuneConfig, PretrainConfig
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.engine import Engine
from cwtmae_cli.train.finetune import ClassifierObjective
from cwtmae_cli.train.job import TrainJob, autocast
from cwtmae_cli.train.pretrain import MAEObjective

H200_BF16_DENSE_TFLOPS = 989.0


class RandomWindows:
    """Stands in for a WindowDataset: ``n`` random windows of ``n_samples``, 5 classes."""

    def __init__(self, n: int, n_samples: int, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.x = 30.0 * torch.randn(n, n_samples, generator=gen)  # (n, L) "microvolts"
        self.labels = torch.randint(0, 5, (n,), generator=gen).numpy()
        self.fs_hz, self.window_s, self.n_samples = 100.0, n_samples / 100.0, n_samples

    def __len__(self) -> int:
        return len(self.labels)

    def get_batch(self, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(np.asarray(positions))
        return self.x[idx], torch.as_tensor(self.labels)[idx]


def flops_per_window(
    objective: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device,
    precision: str = "fp32",
) -> float:
    """Forward + backward FLOPs of one batch, per window. Attention runs through the math
    kernel while counting: it spells attention as matrix products the counter sees, where the
    CPU's fused kernel (``_scaled_dot_product_flash_attention_for_cpu``) is not counted at all."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, sdpa_kernel(SDPBackend.MATH), autocast(device, precision):
        objective(x, y)["loss"].backward()
    objective.zero_grad(set_to_none=True)
    return counter.get_total_flops() / x.shape[0]


def bench(kind: str, args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    torch.manual_seed(0)
    config_cls = PretrainConfig if kind == "pretrain" else FinetuneConfig
    config = config_cls(
        steps=args.steps + args.warmup,
        batch_size=args.batch_size,
        device=str(device),
        compile=args.compile,
        precision=args.precision,
    )
    if kind == "pretrain":
        model = build_mae(args.preset)
        objective: torch.nn.Module = MAEObjective(model)
        layer_decay = None
    else:
        model = TF_MAE_Classifier(None, num_classes=5, **preset_config(args.preset))
        objective = ClassifierObjective(model, None, 0.1)
        layer_decay = 0.75
    model.to(device)
    objective.to(device)
    data = RandomWindows(args.batch_size * 4, model.config["signal_len"])
    job = TrainJob(
        model=model, objective=objective, train_set=data, meta={}, layer_decay=layer_decay
    )
    engine = Engine(config, job, DistContext.single(device), run=None)
    positions = np.arange(args.batch_size)
    x, y = data.get_batch(positions)
    flops = flops_per_window(objective, x.to(device), y.to(device), device, engine.precision)
    for _ in range(args.warmup):
        engine._train_step(positions)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        engine._train_step(positions)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elapsed_s = time.perf_counter() - start
    steps_per_s = args.steps / elapsed_s
    samples_per_s = steps_per_s * args.batch_size
    peak = (
        args.peak_tflops
        if args.peak_tflops is not None
        else (H200_BF16_DENSE_TFLOPS if device.type == "cuda" else None)
    )
    achieved_tflops = flops * samples_per_s / 1e12
    return {
        "kind": kind,
        "preset": args.preset,
        "device": str(device),
        "dtype": "bf16 autocast" if engine.precision == "bf16" else "float32",
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps_per_s": steps_per_s,
        "samples_per_s": samples_per_s,
        "gflops_per_window": flops / 1e9,
        "achieved_tflops": achieved_tflops,
        "fraction_of_peak": achieved_tflops / peak if peak else None,
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30
        if device.type == "cuda"
        else None,
    }


def print_comparison(pairs: int, threads: int | None) -> None:
    """``--compare``: both precisions against the reference, with the machine's load."""
    import os

    from compare_paths import compare

    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average before (1, 5, 15 min): {load}; {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores")
    for precision in ("fp32", "bf16"):
        for row in compare(pairs, precision):
            print(f"{row['what']:26s} {precision}: {row['median_ratio']:.2f}x the eager float32 "
                  f"reference (median of {row['pairs']} paired ratios, range "
                  f"{row['min_ratio']:.2f}-{row['max_ratio']:.2f})", flush=True)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average after (1, 5, 15 min): {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny", choices=("tiny", "small", "base"))
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="device peak for the fraction (default: 989 on CUDA, none on CPU)",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the objective")
    parser.add_argument("--only", choices=("pretrain", "finetune"), default=None)
    parser.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"))
    parser.add_argument("--compare", action="store_true",
                        help="ratios against the plain eager float32 reference (CPU; "
                        "benchmarks/compare_paths.py), fp32 and bf16 side by side")
    parser.add_argument("--pairs", type=int, default=5, help="interleaved pairs for --compare")
    parser.add_argument("--json", action="store_true", help="print one JSON line per result")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.compare:
        return print_comparison(args.pairs, args.threads)
    device = resolve_device(args.device)
    for kind in (args.only,) if args.only else ("pretrain", "finetune"):
        result = bench(kind, args, device)
        if args.json:
            print(json.dumps(result))
            continue
        frac = result["fraction_of_peak"]
        print(
            f"{kind:9s} {result['preset']} on {result['device']} ({result['dtype']}, "
            f"{result['threads']} threads, batch {result['batch_size']}, "
            f"{result['parameters']:,} parameters): {result['steps_per_s']:.2f} steps/s, "
            f"{result['samples_per_s']:.1f} samples/s, "
            f"{result['gflops_per_window']:.2f} GFLOP/window (fwd+bwd), "
            f"{result['achieved_tflops'] * 1e3:.1f} GFLOP/s achieved"
            + (f", {100 * frac:.1f} % of peak" if frac is not None else "")
        )


if __name__ == "__main__":
    main()
