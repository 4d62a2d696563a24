"""Peak memory of ``cwtmae predict`` with a context model on a 24-h, 3-channel recording (CPU).

Issue 14's target: a 24-h 100 Hz EDF with 3 channels and ``--context 11``, ``predict`` peak RSS
under 1.5 GB on the CPU. This script writes such a recording (2,880 windows of 30 s; generated
EEG-like channels, see ``bench_predict.make_recording``) and two untrained ``tiny`` 3-channel
classifier checkpoints, one single-window (K = 1) and one ``ContextClassifier`` with K = 11, and
runs ``cwtmae predict`` with each in a fresh subprocess, side by side. Untrained weights cost the
same memory and time as trained ones.

Peak RSS is each measured process's own ``VmHWM`` (as in ``bench_predict.py``, which explains why
``ru_maxrss`` is shown beside it but overstates).

Usage::

    python benchmarks/bench_predict_rss.py [--hours 24] [--context 11] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_predict  # noqa: E402  the recording generator and the measured-child protocol

CHANNELS = ["EEG Fpz-Cz", "EXTRA 1", "EXTRA 2"]  # bench_predict.make_recording's names
TARGET_RSS_GB = 1.5


def make_checkpoint(path: Path, context: int) -> None:
    """An untrained ``tiny`` 3-channel classifier (a ``ContextClassifier`` for context > 1)."""
    import torch

    from cwtmae_cli.model import PRESETS
    from cwtmae_cli.model.context import build_classifier
    from cwtmae_cli.runtime.checkpoint import save_checkpoint

    torch.manual_seed(0)
    extra = {"context": context, "context_stride_s": bench_predict.WINDOW_S} if context > 1 else {}
    model = build_classifier(None, num_classes=len(bench_predict.LABELS),
                             in_channels=len(CHANNELS), **PRESETS["tiny"], **extra)
    meta = {
        "kind": "classifier", "step": 0, "epoch": 0, "preset": "tiny",
        "model_config": model.config,
        "preprocessing": {
            "fs_hz": bench_predict.FS_HZ, "window_s": bench_predict.WINDOW_S,
            "n_samples": int(bench_predict.WINDOW_S * bench_predict.FS_HZ),
            "channel": ",".join(CHANNELS), "channels": CHANNELS,
            "cwt_scales": model.config["cwt_scales"], "standardize": "per-window-zscore",
        },
        "label_names": bench_predict.LABELS, "store": None, "run_config": {},
    }
    save_checkpoint(path, model, meta)


def _child_main(args: list[str]) -> None:
    mode, rest = args[0], args[1:]
    if mode == "make_recording":
        bench_predict.make_recording(Path(rest[0]), float(rest[1]), int(rest[2]))
        report: dict = {}
    elif mode == "make_checkpoint":
        make_checkpoint(Path(rest[0]), int(rest[1]))
        report = {}
    else:
        report = bench_predict.predict_child(json.loads(rest[0]))
    report["vmhwm_mb"] = round(bench_predict._vmhwm_mb())
    print(json.dumps(report))


def run_child(*args: str) -> dict:
    """This script in child mode (bench_predict's protocol: a fresh process, its own peak)."""
    saved = bench_predict.__file__
    bench_predict.__file__ = __file__  # run_child starts ``python <__file__> --child ...``
    try:
        return bench_predict.run_child(*args)
    finally:
        bench_predict.__file__ = saved


def measure(root: Path, hours: float, contexts: list[int], batch_size: int) -> list[dict]:
    edf = root / f"three_channels_{hours:g}h.edf"
    run_child("make_recording", str(edf), str(hours), str(len(CHANNELS)))
    rows = []
    for context in contexts:
        ckpt = root / f"ckpt_k{context}"
        run_child("make_checkpoint", str(ckpt), str(context))
        out_dir = root / f"pred_k{context}"
        cli = ["predict", str(edf), "--checkpoint", str(ckpt), "--out", str(out_dir),
               "--device", "cpu", "--batch-size", str(batch_size)]
        report = run_child("predict", json.dumps(cli))
        table = (out_dir / f"{edf.stem}_pred.tsv").read_text().splitlines()
        sidecar = json.loads((out_dir / f"{edf.stem}_pred.json").read_text())
        rows.append({"context": sidecar["context"]["windows"], "windows": len(table) - 1,
                     "windows_per_s": round((len(table) - 1) / report["predict_s"], 1),
                     **report})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--context", type=int, default=11)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_main(json.loads(args.child))
        return
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        rows = measure(Path(tmp), args.hours, [1, args.context], args.batch_size)
    head = ("context", "windows", "predict s", "windows/s", "VmHWM MB", "maxrss MB")
    keys = ("context", "windows", "predict_s", "windows_per_s", "vmhwm_mb", "ru_maxrss_mb")
    print(f"{args.hours:g} h, {len(CHANNELS)} channels at {bench_predict.FS_HZ:g} Hz, "
          f"batch {args.batch_size}, tiny, CPU")
    print("".join(f"{h:>11}" for h in head))
    for r in rows:
        print("".join(f"{r[k]:>11}" for k in keys))
    ok = all(r["vmhwm_mb"] < TARGET_RSS_GB * 1024 for r in rows)
    print(f"\npeak RSS under {TARGET_RSS_GB} GB: {'yes' if ok else 'NO'}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
