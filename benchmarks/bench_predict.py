"""Benchmark of ``cwtmae predict``: throughput and peak memory on long recordings (CPU, ``tiny``).

Writes generated single-channel 100 Hz EDF recordings of 6 h and 24 h (720 and 2,880 windows of
30 s) and an untrained ``tiny`` classifier checkpoint, then runs ``cwtmae predict`` on each in a
fresh subprocess and reads that process's own peak RSS (``os.wait4`` rusage, ``ru_maxrss``).
Peak RSS must stay under 1.5 GB and must not grow with the recording's length (the model holds
one batch of CWT images at a time).

It also checks that reading one channel of a 24-h, 7-channel EDF does not load the others: the
peak RSS of reading one channel is compared with reading all seven, each in a fresh subprocess.

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

import numpy as np

FS_HZ = 100.0
WINDOW_S = 30.0
LABELS = ["W", "N1", "N2", "N3", "REM"]
CHANNEL = "EEG Fpz-Cz"
TARGET_RSS_GB = 1.5


def write_recording(path: Path, hours: float, n_channels: int = 1, seed: int = 0) -> Path:
    """A generated EEG-like EDF of ``hours`` at 100 Hz (pink-ish noise plus alpha bursts)."""
    from cwtmae_cli.data.synthetic import write_edf

    rng = np.random.default_rng(seed)
    n_samples = int(hours * 3600 * FS_HZ)
    t_s = np.arange(n_samples) / FS_HZ
    rows = []
    for c in range(n_channels):
        noise = np.cumsum(rng.standard_normal(n_samples)) * 0.5
        noise -= np.convolve(noise, np.ones(201) / 201, mode="same")  # remove drift
        rows.append(20 * np.sin(2 * np.pi * (10 + c) * t_s) * (t_s % 300 < 150) + noise)
    names = [CHANNEL] + [f"EXTRA {c}" for c in range(1, n_channels)]
    return write_edf(path, np.stack(rows), FS_HZ, names, units="uV")


def write_checkpoint(path: Path) -> Path:
    """An untrained ``tiny`` classifier with the 30 s x 100 Hz preprocessing."""
    import torch

    from cwtmae_cli.model import PRESETS, TF_MAE_Classifier
    from cwtmae_cli.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    n_samples = int(WINDOW_S * FS_HZ)
    kwargs = dict(PRESETS["tiny"]) | {"signal_len": n_samples}
    model = TF_MAE_Classifier(None, num_classes=len(LABELS), **kwargs)
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
            "cwt_scales": model.config.get("cwt_scales"),
            "standardize": "per-window-zscore",
        },
        "label_names": LABELS,
        "store": None,
        "run_config": {},
    }
    return save_checkpoint(path, model, meta)


def run_measured(argv: list[str]) -> tuple[float, float, str]:
    """Run ``argv``; returns (wall seconds, peak RSS in MB of that process alone, stdout)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall_s = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{text[-3000:]}")
    return wall_s, usage.ru_maxrss / 1024.0, text  # Linux: ru_maxrss in KiB


def _read_child(path: str, channel: str | None) -> None:
    """Child mode: read one channel (or all) of ``path``; print the samples held."""
    from cwtmae_cli.data.readers import read_recording

    rec = read_recording(Path(path), channels=[channel] if channel else None)
    print(json.dumps({"channels": len(rec.channels), "n_samples": int(rec.signal.shape[1])}))


def _predict_child(cli_args: list[str]) -> None:
    """Child mode: run ``cwtmae <cli_args>`` in this process; print import and command times."""
    start = time.perf_counter()
    import torch

    from cwtmae_cli.cli.app import app

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", torch.get_num_threads())))
    imported = time.perf_counter()
    app(cli_args, standalone_mode=False)
    done = time.perf_counter()
    print(
        json.dumps({"import_s": round(imported - start, 2), "predict_s": round(done - imported, 2)})
    )


def bench_predict(root: Path, hours_list: list[float], batch_size: int) -> list[dict]:
    ckpt = write_checkpoint(root / "ckpt")
    rows = []
    for hours in hours_list:
        edf = write_recording(root / f"night_{hours:g}h.edf", hours)
        out_dir = root / f"pred_{hours:g}h"
        cli_args = [
            "predict",
            str(edf),
            "--checkpoint",
            str(ckpt),
            "--out",
            str(out_dir),
            "--device",
            "cpu",
            "--batch-size",
            str(batch_size),
        ]
        wall_s, rss_mb, text = run_measured(
            [sys.executable, __file__, "--predict-child", json.dumps(cli_args)]
        )
        timing = json.loads(text.strip().splitlines()[-1])
        n_rows = len((out_dir / f"{edf.stem}_pred.tsv").read_text().splitlines()) - 1
        rows.append(
            {
                "hours": hours,
                "windows": n_rows,
                "import_s": timing["import_s"],
                "predict_s": timing["predict_s"],
                "windows_per_s": round(n_rows / timing["predict_s"], 1),
                "peak_rss_mb": round(rss_mb),
            }
        )
    return rows


def bench_read(root: Path, hours: float) -> list[dict]:
    edf = write_recording(root / "seven_channels.edf", hours, n_channels=7)
    rows = []
    for channel in (CHANNEL, None):
        argv = [sys.executable, __file__, "--read-child", str(edf)]
        argv += ["--channel", channel] if channel else []
        wall_s, rss_mb, text = run_measured(argv)
        info = json.loads(text.strip().splitlines()[-1])
        rows.append(
            {
                "read": channel or "all 7 channels",
                "channels_returned": info["channels"],
                "wall_s": round(wall_s, 1),
                "peak_rss_mb": round(rss_mb),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[6.0, 24.0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--read-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--channel", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--predict-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.predict_child:
        _predict_child(json.loads(args.predict_child))
        return
    if args.read_child:
        _read_child(args.read_child, args.channel)
        return
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        predict_rows = bench_predict(root, args.hours, args.batch_size)
        read_rows = bench_read(root, max(args.hours))
    head = ("hours", "windows", "import s", "predict s", "windows/s", "peak RSS MB")
    print("".join(f"{h:>12}" for h in head))
    for r in predict_rows:
        cells = (
            r["hours"],
            r["windows"],
            r["import_s"],
            r["predict_s"],
            r["windows_per_s"],
            r["peak_rss_mb"],
        )
        print("".join(f"{c:>12}" for c in cells))
    print()
    for r in read_rows:
        print(
            f"read {r['read']:<16} -> {r['channels_returned']} channel(s), "
            f"{r['wall_s']} s, peak RSS {r['peak_rss_mb']} MB"
        )
    ok = all(r["peak_rss_mb"] < TARGET_RSS_GB * 1024 for r in predict_rows)
    print(f"\npeak RSS under {TARGET_RSS_GB} GB: {'yes' if ok else 'NO'}")
    print(json.dumps({"predict": predict_rows, "read": read_rows}))


if __name__ == "__main__":
    main()
