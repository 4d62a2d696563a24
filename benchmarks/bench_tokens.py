"""Benchmark of the direct token path (issue 16.4) against the materialised scalogram, on the CPU.

For each preset: the time to compose the filters, then, for each batch size, interleaved pairs
(order alternating, after a warm-up) of

* front end: ``encoder.embed(encoder.images(x))`` (CWT, z-score, patch convolution) against
  ``encoder.tokens(x)`` with the direct path forced (``direct_tokens = True``);
* end to end (``--end-to-end``, batch 32 only): ``predict_proba`` of a CoT classifier of the
  preset with the direct path off and on;

printing the median of the per-pair ratios ``materialised time / direct time`` (above 1: the
direct path is faster), their range, and the load average before and after (and per row).
``--threads 1,2`` measures each (preset, batch) at every intra-op thread count in turn
(``torch.set_num_threads``), so the counts are compared minutes apart, not runs apart. These
figures set ``direct_tokens_pay`` in ``cwtmae_cli/model/encoder.py``.
Run: ``python benchmarks/bench_tokens.py [--presets tiny,small] [--threads 1,2] [--pairs 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
from compare_paths import paired_ratios  # the interleaved timing of bench_train --compare

from cwtmae_cli.evaluate.inference import predict_proba
from cwtmae_cli.model import PRESETS, TF_MAE_Classifier
from cwtmae_cli.model.encoder import CWTEncoder

ENCODER_KEYS = ("signal_len", "cwt_scales", "patch_size_time", "patch_size_freq", "embed_dim",
                "depth", "num_heads")


def front_end(encoder: CWTEncoder, batch: int, pairs: int) -> list[float]:
    C = encoder.in_channels
    x = torch.randn(batch, C, encoder.signal_len) if C > 1 else torch.randn(batch,
                                                                           encoder.signal_len)

    def materialised() -> None:
        with torch.inference_mode():
            encoder.embed(encoder.images(x))

    def direct() -> None:
        with torch.inference_mode():
            encoder.tokens(x)
    return paired_ratios(materialised, direct, pairs)


def end_to_end(preset: str, batch: int, pairs: int) -> list[float]:
    config = {k: PRESETS[preset][k] for k in ENCODER_KEYS}
    model = TF_MAE_Classifier(None, num_classes=5, **config).eval()
    windows = torch.randn(batch, config["signal_len"])

    def run(direct: bool) -> Callable[[], None]:
        def call() -> None:
            model.encoder.direct_tokens = direct
            predict_proba(model, batch, lambda i: windows[torch.from_numpy(i)], batch_size=batch)
        return call
    return paired_ratios(run(False), run(True), pairs)


def _row(what: str, ratios: list[float]) -> str:
    return (f"{what:<48}{statistics.median(ratios):>8.2f}x"
            f"   ({min(ratios):.2f}-{max(ratios):.2f}, {len(ratios)} pairs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,small")
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--threads", default=str(torch.get_num_threads()),
                        help="intra-op thread counts, comma-separated (default: torch's)")
    parser.add_argument("--end-to-end", action="store_true")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    print(f"threads {thread_counts}; load average {_load()} at the start")
    for preset in args.presets.split(","):
        config = {k: PRESETS[preset][k] for k in ENCODER_KEYS}
        encoder = CWTEncoder(**config, in_channels=args.channels).eval()
        encoder.direct_tokens = True
        start = time.perf_counter()
        filters = encoder.token_filters()
        built_s = time.perf_counter() - start
        print(f"{preset}, {args.channels} channel(s): filters {filters.nbytes / 2**20:.1f} MiB, "
              f"composed in {built_s:.2f} s")
        for batch in (int(b) for b in args.batches.split(",")):
            for threads in thread_counts:
                torch.set_num_threads(threads)
                ratios = front_end(encoder, batch, args.pairs)
                print(_row(f"  front end, batch {batch}, {threads} thread(s)", ratios)
                      + f"   load {_load()}")
        if args.end_to_end:
            for threads in thread_counts:
                torch.set_num_threads(threads)
                ratios = end_to_end(preset, 32, args.pairs)
                print(_row(f"  predict_proba, CoT, batch 32, {threads} thread(s)", ratios)
                      + f"   load {_load()}")
    print(f"load average {_load()} at the end")


def _load() -> str:
    """The 1-, 5- and 15-minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
