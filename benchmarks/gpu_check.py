"""One check of the CUDA paths on a lent GPU, within 8 minutes, printing one table.

Installs nothing. Three parts, each with its own time limit inside the 8-minute budget:

1. the ``gpu``-marked tests (``pytest -m gpu``);
2. the ``base`` preset's bf16 pretraining throughput through the engine's own step, and its
   fraction of the H200's dense bf16 peak (989 TFLOP/s). The FLOPs are counted analytically from
   the model's shapes (:func:`mae_flops_per_window`): every matrix product and convolution of
   encoder and decoder, attention's two products, times 3 for forward + backward (the backward
   of a product costs two of them); the patch embedding, whose input needs no gradient, times 2;
   the FFT-based CWT, norms and element-wise work are not counted, so the fraction is a floor;
3. a ``--gpus 1`` pipeline: ``cwtmae demo`` on the GPU (prepare, pretrain, fine-tune, evaluate,
   predict), then ``pretrain --gpus 1`` and ``finetune --gpus 1`` on its store.

Without a CUDA device it says so in one line and exits 0 (nothing to check here).

Run: ``python benchmarks/gpu_check.py [--budget-s 480]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

H200_BF16_DENSE_FLOPS = 989e12
REPO = Path(__file__).resolve().parents[1]


def mae_flops_per_window(config: dict, mask_ratio: float | None = None) -> float:
    """Forward + backward FLOPs of one window through ``CWT_MAE_RoPE(**config)``'s network (the
    FFT-based scalogram and its z-score's few float64 dot products are not counted)."""
    S, L = config["cwt_scales"], config["signal_len"]
    pf, pt = config["patch_size_freq"], config["patch_size_time"]
    D, Dd = config["embed_dim"], config["decoder_embed_dim"]
    gh, gw = S // pf, L // pt
    N = gh * gw
    ratio = config["mask_ratio"] if mask_ratio is None else mask_ratio
    K = int(N * (1 - ratio))
    patch_values = 3 * pf * pt
    rank = lambda a, b: max(32, int(min(a, b) * config["mlp_rank_ratio"]))  # noqa: E731
    T = 1 + K  # encoder tokens
    enc_block = (2 * T * D * 3 * D + 2 * 2 * T * T * D + 2 * T * D * D  # qkv, attention, proj
                 + 2 * T * (D * rank(D, 4 * D) + rank(D, 4 * D) * 4 * D)  # fc1 = u(v(x))
                 + 2 * T * (4 * D * rank(4 * D, D) + rank(4 * D, D) * D))  # fc2
    Td, hidden = 1 + N, int(Dd * config["decoder_mlp_ratio"])
    dec_block = (2 * Td * Dd * 3 * Dd + 2 * 2 * Td * Td * Dd + 2 * Td * Dd * Dd
                 + 2 * 2 * Td * Dd * hidden)
    decoder = (2 * T * D * Dd + config["decoder_depth"] * dec_block + 2 * N * Dd * patch_values
               + 2 * gw * Dd * Dd * gh + 2 * gw * Dd * pt)  # embed, blocks, heads, time path
    patch_embed = 2 * N * patch_values * D
    return 3 * (config["depth"] * enc_block + decoder) + 2 * patch_embed


def run_gpu_tests(limit_s: float) -> tuple[str, str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "gpu",
           "tests"]
    return _run(cmd, limit_s)


def _run(cmd: list[str], limit_s: float, cwd: Path = REPO) -> tuple[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=max(limit_s, 1))
    except subprocess.TimeoutExpired:
        return "TIMEOUT", f"over {limit_s:.0f} s"
    last = (done.stdout.strip().splitlines() or [""])[-1]
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or [last])[-1]
        return "FAIL", f"exit {done.returncode}: {tail[:100]}"
    return "ok", last[:100]


def base_throughput(batch_size: int, steps: int) -> tuple[str, str]:
    from cwtmae_cli.model import build_mae
    from cwtmae_cli.train.config import PretrainConfig
    from cwtmae_cli.train.distributed import DistContext
    from cwtmae_cli.train.engine import Engine
    from cwtmae_cli.train.job import TrainJob
    from cwtmae_cli.train.pretrain import MAEObjective

    device = torch.device("cuda")
    torch.manual_seed(0)
    model = build_mae("base").to(device)
    x = 30.0 * torch.randn(batch_size * 2, model.config["signal_len"])

    class Windows:
        labels = np.zeros(len(x), dtype=np.int64)

        def __len__(self) -> int:
            return len(x)

        def get_batch(self, positions):
            idx = torch.as_tensor(np.asarray(positions))
            return x[idx], torch.as_tensor(self.labels)[idx]

    config = PretrainConfig(steps=steps + 3, batch_size=batch_size, device="cuda",
                            precision="bf16")
    job = TrainJob(model=model, objective=MAEObjective(model).to(device), train_set=Windows(),
                   meta={})
    engine = Engine(config, job, DistContext.single(device), run=None)
    positions = np.arange(batch_size)
    for _ in range(3):  # warm-up: kernels, allocator
        engine._train_step(positions)
    torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        engine._train_step(positions)
    torch.cuda.synchronize(device)
    samples_per_s = steps * batch_size / (time.perf_counter() - start)
    achieved = samples_per_s * mae_flops_per_window(model.config)
    return "ok", (f"{samples_per_s:.1f} windows/s at batch {batch_size}, "
                  f"{achieved / 1e12:.1f} TFLOP/s = {100 * achieved / H200_BF16_DENSE_FLOPS:.1f} "
                  "% of 989 dense bf16 (target >= 45 %)")


def pipeline(limit_s: float) -> tuple[str, str]:
    cli = [sys.executable, "-m", "cwtmae_cli"]
    deadline = time.monotonic() + limit_s
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(tmp) / "demo"
        steps = [
            cli + ["demo", "--out", str(work), "--device", "cuda", "--subjects", "4",
                   "--minutes", "30", "--pretrain-steps", "20", "--finetune-steps", "20"],
            cli + ["pretrain", "--workdir", str(work), "--gpus", "1", "--device", "cuda",
                   "--model", "tiny", "--steps", "20"],
            cli + ["finetune", "--workdir", str(work), "--gpus", "1", "--device", "cuda",
                   "--steps", "20"],
        ]
        for cmd in steps:
            status, detail = _run(cmd, deadline - time.monotonic())
            if status != "ok":
                return status, f"{cmd[3]}: {detail}"
    return "ok", "demo, pretrain --gpus 1, finetune --gpus 1 on CUDA"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=480.0, help="whole check (8 min)")
    parser.add_argument("--batch-size", type=int, default=32, help="base-preset throughput")
    parser.add_argument("--steps", type=int, default=10, help="timed throughput steps")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else "no device visible"
        print(f"gpu_check: skipped: no CUDA device (torch {torch.__version__}, {build})")
        return 0
    start = time.monotonic()
    left = lambda: args.budget_s - (time.monotonic() - start)  # noqa: E731
    rows = [("gpu-marked tests", *run_gpu_tests(min(150.0, left())))]
    try:
        rows.append(("base bf16 pretraining", *base_throughput(args.batch_size, args.steps)))
    except Exception as exc:  # a check reports its failure in its row, then the others run
        rows.append(("base bf16 pretraining", "FAIL", f"{type(exc).__name__}: {exc}"[:100]))
    rows.append(("--gpus 1 pipeline", *pipeline(left() - 5)))
    print(f"gpu_check on {torch.cuda.get_device_name(0)} ({time.monotonic() - start:.0f} s):")
    print(f"| {'check':24s} | {'result':7s} | detail")
    for name, status, detail in rows:
        print(f"| {name:24s} | {status:7s} | {detail}")
    return 0 if all(status == "ok" for _, status, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
