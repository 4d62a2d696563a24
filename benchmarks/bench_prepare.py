"""Benchmark of ``cwtmae prepare``: recordings/s and peak RSS on generated hour-long recordings.

Generates EDF recordings of ``--minutes`` each (written with MNE: ``EEG Fpz-Cz`` and ``EOG`` at
256 Hz, so every recording is resampled to 100 Hz) under a temporary folder, then runs
``cwtmae prepare edf --channels "EEG Fpz-Cz,EOG"`` in a fresh subprocess on the first ``n`` of
them for each ``n`` in ``--counts``, and records that process's own peak RSS (``VmHWM`` at
exit). The writer holds one recording at a time, so peak RSS must not grow with the number of
recordings: the check is ``rss(largest n) <= 1.15 x rss(smallest n) + 30 MB``. A last run with
``--workers 2`` reports the parallel rate (its RSS is the main process's only).

Usage::

    python benchmarks/bench_prepare.py [--counts 4 16 48] [--minutes 60] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Runs the CLI and, at exit, records the process's own peak RSS (VmHWM, reset by exec; the
# rusage of a forked child would also count the parent's pages).
_WRAPPER = """
import atexit, os, sys
def _record_hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(os.environ["BENCH_HWM_FILE"], "w").write(line.split()[1])
atexit.register(_record_hwm)
sys.argv = ["cwtmae", *sys.argv[1:]]
from cwtmae_cli.cli.app import main
main()
"""


def run_prepare(source: Path, out: Path, workers: int) -> dict:
    """``cwtmae prepare edf`` in a subprocess: its summary plus wall time and peak RSS."""
    args = [
        "prepare",
        "edf",
        "--source",
        str(source),
        "--channels",
        "EEG Fpz-Cz,EOG",
        "--out",
        str(out),
        "--workers",
        str(workers),
        "--json",
        "--overwrite",
    ]
    hwm_file = out.with_suffix(".hwm")
    env = {**os.environ, "BENCH_HWM_FILE": str(hwm_file)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args], capture_output=True, text=True, env=env
    )
    wall_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"prepare failed ({proc.returncode}): {proc.stderr[-2000:]}")
    stdout = proc.stdout
    peak_rss_kb = int(hwm_file.read_text())
    summary = json.loads(stdout)
    return {
        "n_recordings": summary["n_recordings"],
        "n_windows": summary["n_windows"],
        "workers": workers,
        "wall_s": round(wall_s, 2),
        "prepare_s": summary["elapsed_s"],
        "recordings_per_s": round(summary["n_recordings"] / summary["elapsed_s"], 2),
        "windows_per_s": summary["windows_per_s"],
        "peak_rss_mb": round(peak_rss_kb / 1024, 1),
    }


def write_recordings(folder: Path, n: int, minutes: float, fs_hz: float = 256.0) -> list[Path]:
    """``n`` EDF files: EEG (AR(1) noise plus a 10 Hz rhythm, µV scale) and EOG, at ``fs_hz``."""
    import mne
    from scipy.signal import lfilter

    folder.mkdir(parents=True)
    n_samples = int(minutes * 60 * fs_hz)
    t_s = np.arange(n_samples) / fs_hz
    info = mne.create_info(["EEG Fpz-Cz", "EOG"], fs_hz, ["eeg", "eog"])
    paths = []
    for i in range(n):
        rng = np.random.default_rng(i)
        eeg = lfilter([1.0], [1.0, -0.95], rng.standard_normal(n_samples)) * 6e-6
        eeg += 15e-6 * np.sin(2 * np.pi * 10.0 * t_s)
        eog = lfilter([1.0], [1.0, -0.99], rng.standard_normal(n_samples)) * 10e-6
        raw = mne.io.RawArray(np.stack([eeg, eog]), info, verbose="error")
        path = folder / f"rec{i:03d}.edf"
        mne.export.export_raw(path, raw, overwrite=True, verbose="error")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[4, 16, 48])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of each recording")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cwtmae-bench-prepare-", dir="/tmp"))
    try:
        counts = sorted(args.counts)
        t0 = time.perf_counter()
        files = write_recordings(folder / "all", counts[-1], args.minutes)
        generate_s = time.perf_counter() - t0
        results = []
        for n in counts:
            source = folder / f"n{n}"
            source.mkdir()
            for path in files[:n]:
                (source / path.name).symlink_to(path)
            results.append(run_prepare(source, folder / f"n{n}.zarr", workers=1))
        results.append(run_prepare(folder / f"n{counts[-1]}", folder / "w2.zarr", workers=2))
        small, large = results[0]["peak_rss_mb"], results[len(counts) - 1]["peak_rss_mb"]
        first, last = results[0], results[len(counts) - 1]
        extra_s = last["prepare_s"] - first["prepare_s"]
        report = {
            "minutes_per_recording": args.minutes,
            "generate_s": round(generate_s, 1),
            "runs": results,
            # start-up (imports) cancels out: the rate of the recordings the larger run adds
            "marginal_recordings_per_s": round(
                (last["n_recordings"] - first["n_recordings"]) / max(extra_s, 1e-9), 2
            ),
            "rss_growth_mb": round(large - small, 1),
            "rss_flat": large <= 1.15 * small + 30,
        }
        print(json.dumps(report, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
