"""Benchmark of ``cwtmae predict``: throughput and peak memory on long recordings (CPU, ``tiny``).

Writes generated single-channel 100 Hz EDF recordings of 6 h and 24 h (720 and 2,880 windows of
30 s) and an untrained ``tiny`` classifier checkpoint, then runs ``cwtmae predict`` on each in a
fresh subprocess. Peak RSS must stay under 1.5 GB and must not grow with the recording's length
beyond the signal itself (the model holds one batch of CWT images at a time).

It also checks that reading one channel of a 24-h, 7-channel EDF does not load the others, by
comparing the peak RSS of reading one channel with reading all seven, each in a fresh process.

How peak RSS is measured: each measured process reports its own ``VmHWM`` (``/proc/self/status``,
the high-water mark of its address space after ``exec``); ``ru_maxrss`` from ``os.wait4`` is shown
too. On Linux ``ru_maxrss`` also counts the parent's RSS at spawn time (the kernel carries it over
``exec``), which is why this script generates its files in a subprocess and stays small itself.

Usage::

    python benchmarks/bench_predict.py [--hours 6 24] [--batch-size 32] [--workdir DIR]

``windows/s`` counts the whole command after imports (reading the EDF, windowing, inference,
writing the TSV); ``BENCH_THREADS=N`` sets torch's intra-op threads in the measured process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FS_HZ = 100.0
WINDOW_S = 30.0
LABELS = ["W", "N1", "N2", "N3", "REM"]
CHANNEL = "EEG Fpz-Cz"
TARGET_RSS_GB = 1.5


def _vmhwm_mb() -> float:
    """Peak resident set of this process's address space, MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


# -- child modes: each runs in its own process ---------------------------------------------------
def make_recording(path: Path, hours: float, n_channels: int = 1, seed: int = 0) -> None:
    """A generated EEG-like EDF of ``hours`` at 100 Hz (random walk minus its drift, alpha bursts),
    written in pieces of one hour to keep this process small."""
    import numpy as np

    from cwtmae_cli.data.edf_writer import write_edf

    rng = np.random.default_rng(seed)
    n_samples = int(hours * 3600 * FS_HZ)
    rows = np.empty((n_channels, n_samples), dtype=np.float32)
    hour = int(3600 * FS_HZ)
    for c in range(n_channels):
        for start in range(0, n_samples, hour):
            t_s = np.arange(start, min(start + hour, n_samples)) / FS_HZ
            walk = np.cumsum(rng.standard_normal(t_s.size)) * 0.5
            walk -= np.convolve(walk, np.ones(201) / 201, mode="same")
            rows[c, start : start + t_s.size] = walk + 20 * np.sin(2 * np.pi * (10 + c) * t_s) * (
                t_s % 300 < 150
            )
    names = [CHANNEL] + [f"EXTRA {c}" for c in range(1, n_channels)]
    write_edf(path, rows, FS_HZ, names, units="uV")


def make_checkpoint(path: Path) -> None:
    """An untrained ``tiny`` classifier with the 30 s x 100 Hz preprocessing."""
    import torch

    from cwtmae_cli.model import PRESETS, TF_MAE_Classifier
    from cwtmae_cli.runtime.checkpoint import save_checkpoint

    torch.manual_seed(0)
    n_samples = int(WINDOW_S * FS_HZ)
    model = TF_MAE_Classifier(None, num_classes=len(LABELS), **PRESETS["tiny"])
    meta = {
        "kind": "classifier",
        "step": 0,
        "epoch": 0,
        "preset": "tiny",
        "model_config": model.config,
        "preprocessing": {
            "fs_hz": FS_HZ,
            "window_s": WINDOW_S,
            "n_samples": n_samples,
            "channel": CHANNEL,
            "cwt_scales": model.config["cwt_scales"],
            "standardize": "per-window-zscore",
        },
        "label_names": LABELS,
        "store": None,
        "run_config": {},
    }
    save_checkpoint(path, model, meta)


def read_child(path: Path, channel: str | None) -> dict:
    from cwtmae_cli.data.readers.dispatch import read_recording

    rec = read_recording(path, channels=[channel] if channel else None, read_annotations=False)
    return {"channels": len(rec.channels), "n_samples": int(rec.signal.shape[1])}


def predict_child(cli_args: list[str]) -> dict:
    """Run ``cwtmae <cli_args>`` in this process; import and command times."""
    start = time.perf_counter()
    import torch

    from cwtmae_cli.cli.app import app

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", torch.get_num_threads())))
    imported = time.perf_counter()
    app(cli_args, standalone_mode=False)
    done = time.perf_counter()
    return {"import_s": round(imported - start, 2), "predict_s": round(done - imported, 2)}


# -- parent ------------------------------------------------------------------------------------
def run_child(*args: str) -> dict:
    """Run this script in child mode; its JSON report plus ``wall_s`` and ``ru_maxrss_mb``."""
    argv = [sys.executable, __file__, "--child", json.dumps(list(args))]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if code != 0:
        raise RuntimeError(f"child {args} failed ({code}):\n{text[-3000:]}")
    report = json.loads(text.strip().splitlines()[-1])
    report["wall_s"] = round(time.perf_counter() - start, 1)
    report["ru_maxrss_mb"] = round(usage.ru_maxrss / 1024.0)  # Linux: KiB
    return report


def bench_predict(root: Path, hours_list: list[float], batch_size: int) -> list[dict]:
    ckpt = root / "ckpt"
    run_child("make_checkpoint", str(ckpt))
    rows = []
    for hours in hours_list:
        edf = root / f"night_{hours:g}h.edf"
        run_child("make_recording", str(edf), str(hours), "1")
        out_dir = root / f"pred_{hours:g}h"
        cli = ["predict", str(edf), "--checkpoint", str(ckpt), "--out", str(out_dir),
               "--device", "cpu", "--batch-size", str(batch_size)]  # fmt: skip
        report = run_child("predict", json.dumps(cli))
        n_rows = len((out_dir / f"{edf.stem}_pred.tsv").read_text().splitlines()) - 1
        speed = round(n_rows / report["predict_s"], 1)
        rows.append({"hours": hours, "windows": n_rows, "windows_per_s": speed, **report})
    return rows


def bench_read(root: Path, hours: float) -> list[dict]:
    edf = root / "seven_channels.edf"
    run_child("make_recording", str(edf), str(hours), "7")
    return [{"read": channel or "all 7 channels", **run_child("read", str(edf), channel or "")}
            for channel in (CHANNEL, None)]  # fmt: skip


def _child_main(args: list[str]) -> None:
    mode, rest = args[0], args[1:]
    if mode == "make_recording":
        make_recording(Path(rest[0]), float(rest[1]), int(rest[2]))
        report: dict = {}
    elif mode == "make_checkpoint":
        make_checkpoint(Path(rest[0]))
        report = {}
    elif mode == "read":
        report = read_child(Path(rest[0]), rest[1] or None)
    else:
        report = predict_child(json.loads(rest[0]))
    report["vmhwm_mb"] = round(_vmhwm_mb())
    print(json.dumps(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[6.0, 24.0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_main(json.loads(args.child))
        return
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        predict_rows = bench_predict(root, args.hours, args.batch_size)
        read_rows = bench_read(root, max(args.hours))
    head = ("hours", "windows", "import s", "predict s", "windows/s", "VmHWM MB", "maxrss MB")
    keys = ("hours", "windows", "import_s", "predict_s", "windows_per_s", "vmhwm_mb",
            "ru_maxrss_mb")  # fmt: skip
    print("".join(f"{h:>11}" for h in head))
    for r in predict_rows:
        print("".join(f"{r[k]:>11}" for k in keys))
    print()
    for r in read_rows:
        print(f"read {r['read']:<16} -> {r['channels']} channel(s), {r['wall_s']} s, "
              f"VmHWM {r['vmhwm_mb']} MB")  # fmt: skip
    ok = all(r["vmhwm_mb"] < TARGET_RSS_GB * 1024 for r in predict_rows)
    print(f"\npeak RSS under {TARGET_RSS_GB} GB: {'yes' if ok else 'NO'}")
    print(json.dumps({"predict": predict_rows, "read": read_rows}))


if __name__ == "__main__":
    main()
