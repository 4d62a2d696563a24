"""Benchmark of ``cwtmae prepare``: recordings/s and peak RSS on generated hour-long recordings.

Generates Sleep-EDF-format nights (``cwtmae_cli.data.synthetic``: 100 Hz EEG Fpz-Cz beside a
1 Hz channel, with EDF+ hypnograms) of ``--minutes`` each under a temporary folder, then runs
``cwtmae prepare sleep-edf`` in a fresh subprocess on the first ``n`` of them for each ``n`` in
``--counts``, and reads that process's peak RSS (``os.wait4`` rusage, ``ru_maxrss``). The writer
holds one recording at a time, so peak RSS must not grow with the number of recordings: the
check is ``rss(largest n) <= 1.15 x rss(smallest n) + 30 MB``. A last run with ``--workers 2``
reports the parallel rate (its RSS is the main process's only).

Usage::

    python benchmarks/bench_prepare.py [--counts 4 16] [--minutes 60] [--keep]
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


def run_prepare(source: Path, out: Path, workers: int) -> dict:
    """``cwtmae prepare sleep-edf`` in a subprocess: its summary plus wall time and peak RSS."""
    cmd = [
        sys.executable,
        "-m",
        "cwtmae_cli",
        "prepare",
        "sleep-edf",
        "--source",
        str(source),
        "--out",
        str(out),
        "--workers",
        str(workers),
        "--json",
        "--overwrite",
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall_s = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"prepare failed ({status}): {stdout[-2000:]}")
    summary = json.loads(stdout)
    return {
        "n_recordings": summary["n_recordings"],
        "n_windows": summary["n_windows"],
        "workers": workers,
        "wall_s": round(wall_s, 2),
        "prepare_s": summary["elapsed_s"],
        "recordings_per_s": round(summary["n_recordings"] / summary["elapsed_s"], 2),
        "windows_per_s": summary["windows_per_s"],
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of each recording")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()

    from cwtmae_cli.data.synthetic import write_sleep_edf_dataset

    folder = Path(tempfile.mkdtemp(prefix="cwtmae-bench-prepare-", dir="/tmp"))
    try:
        counts = sorted(args.counts)
        t0 = time.perf_counter()
        pairs = write_sleep_edf_dataset(folder / "all", n_subjects=counts[-1], minutes=args.minutes)
        generate_s = time.perf_counter() - t0
        results = []
        for n in counts:
            source = folder / f"n{n}"
            source.mkdir()
            for psg, hyp in pairs[:n]:
                (source / psg.name).symlink_to(psg)
                (source / hyp.name).symlink_to(hyp)
            results.append(run_prepare(source, folder / f"n{n}.zarr", workers=1))
        results.append(run_prepare(folder / f"n{counts[-1]}", folder / "w2.zarr", workers=2))
        small, large = results[0]["peak_rss_mb"], results[len(counts) - 1]["peak_rss_mb"]
        report = {
            "minutes_per_recording": args.minutes,
            "generate_s": round(generate_s, 1),
            "runs": results,
            "rss_growth_mb": round(large - small, 1),
            "rss_flat": large <= 1.15 * small + 30,
        }
        print(json.dumps(report, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
