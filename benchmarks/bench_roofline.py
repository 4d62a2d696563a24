"""How far a leaner code path can take issue 16's two steps on this CPU: a roofline in one run.

Issue 16 asks ``bench_train.py --compare`` for 1.5x the plain eager float32 reference on the
pretraining step (192-wide 4-layer encoder, 128-wide 2-layer decoder, batch 8) and 2x on CoT
inference (batch 32), at identical configuration, so at identical FLOPs. No code path can run
those FLOPs faster than the machine runs its best matrix product, so this script measures, side
by side in one process and at the same thread count:

1. the **ceiling**: the best float32 GFLOP/s of ``torch.mm`` over a few large square products
   (what the BLAS reaches on these cores; the model's products are smaller and reach less);
2. each step's **FLOPs**, counted by ``torch.utils.flop_counter`` with attention through the
   math kernel (matrix products, convolutions, attention; forward + backward for the training
   step, forward for inference; element-wise work, norms and the FFT are not counted);
3. each step's time on the reference path and on today's (``compare_paths.py``), interleaved,
   the medians of ``--repeats``.

It prints the achieved GFLOP/s of both paths, the **floor** (FLOPs / ceiling: the time of a
step whose every counted FLOP ran at the ceiling and whose uncounted work was free) and the
**bound** on any speed-up at these FLOPs: reference time / floor. Where the bound is under an
issue's target, the target cannot be met by removing work around the products; only fewer
FLOPs (another configuration) or faster arithmetic (bf16 units, a GPU) can.

Run: ``python benchmarks/bench_roofline.py [--threads 1] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
from collections.abc import Callable

import torch
from compare_paths import DECODER, ENCODER, _cot_inference, _pretrain_step
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from cwtmae_cli.model import CWT_MAE_RoPE, TF_MAE_Classifier
from cwtmae_cli.train.pretrain import MAEObjective

TARGETS = {"pretraining step, batch 8": 1.5, "CoT inference, batch 32": 2.0}
SQUARE_SIZES = (1024, 2048, 4096)


def matmul_ceiling(repeats: int) -> tuple[float, int]:
    """The best float32 GFLOP/s of ``torch.mm`` over :data:`SQUARE_SIZES`, and its size."""
    best = (0.0, 0)
    for n in SQUARE_SIZES:
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
        best = max(best, (2 * n**3 / min(times) / 1e9, n))
    return best


def counted_flops(fn: Callable[[], None]) -> float:
    counter = FlopCounterMode(display=False)
    with counter, sdpa_kernel(SDPBackend.MATH):
        fn()
    return float(counter.get_total_flops())


def interleaved_medians(reference: Callable[[], None], today: Callable[[], None],
                        repeats: int) -> tuple[float, float]:
    reference(), today()  # warm-up
    times: dict[str, list[float]] = {"ref": [], "new": []}
    for i in range(repeats):
        order = (("ref", reference), ("new", today))
        for name, fn in order if i % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["ref"]), statistics.median(times["new"])


def steps(seed: int = 0) -> list[tuple[str, float, Callable[[], None], Callable[[], None]]]:
    """(what, FLOPs, reference step, today's step) for issue 16's two configurations."""
    torch.manual_seed(seed)
    mae = CWT_MAE_RoPE(**ENCODER, **DECODER)
    x8 = 30.0 * torch.randn(8, mae.config["signal_len"])
    objective = MAEObjective(copy.deepcopy(mae))
    train_flops = counted_flops(
        lambda: objective(x8, torch.zeros(8, dtype=torch.long))["loss"].backward())
    cot = TF_MAE_Classifier(None, num_classes=5, **ENCODER).eval()
    x32 = 30.0 * torch.randn(32, cot.config["signal_len"])
    with torch.enable_grad():  # the counter's module hooks need autograd on
        cot_flops = counted_flops(lambda: cot(x32))
    return [
        ("pretraining step, batch 8", train_flops,
         _pretrain_step(copy.deepcopy(mae), x8, "fp32", reference=True),
         _pretrain_step(copy.deepcopy(mae), x8, "fp32", reference=False)),
        ("CoT inference, batch 32", cot_flops,
         _cot_inference(cot, x32, "fp32", reference=True),
         _cot_inference(cot, x32, "fp32", reference=False)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average before (1, 5, 15 min): {load}; {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores, capability {torch.backends.cpu.get_cpu_capability()}")
    ceiling, size = matmul_ceiling(args.repeats)
    print(f"ceiling: float32 torch.mm {ceiling:.1f} GFLOP/s (best of {SQUARE_SIZES}: {size})")
    for what, flops, reference, today in steps():
        ref_s, new_s = interleaved_medians(reference, today, args.repeats)
        floor_s = flops / (ceiling * 1e9)
        bound = ref_s / floor_s
        target = TARGETS[what]
        print(f"{what}: {flops / 1e9:.1f} GFLOP; reference {ref_s:.3f} s "
              f"({flops / ref_s / 1e9:.1f} GFLOP/s), today {new_s:.3f} s "
              f"({flops / new_s / 1e9:.1f} GFLOP/s, {ref_s / new_s:.2f}x); floor {floor_s:.3f} s; "
              f"bound on any speed-up at these FLOPs {bound:.2f}x against the target "
              f"{target:.1f}x: {'reachable in principle' if bound >= target else 'UNREACHABLE'}",
              flush=True)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average after (1, 5, 15 min): {load}")


if __name__ == "__main__":
    main()
