"""Start-up cost of the command line: this tree against another checkout, in interleaved pairs.

Each measurement is a fresh ``python`` process (``PYTHONPATH`` = the tree, one thread), timed
from spawn to exit:

* ``import cwtmae_cli.model`` (and whether that imported ``torch._dynamo``);
* ``python -m cwtmae_cli --help``;
* with ``--record PATH``: ``python -m cwtmae_cli predict --model ecg-rhythm-tiny PATH``.

The two trees alternate in pairs whose order alternates too; the table gives each side's median
seconds and the median of the per-pair ratios ``other / this`` (above 1: this tree starts
faster), with the load average (``uptime``'s three figures) at the start and at the end.

Run::

    git archive <rev> | tar -x -C /tmp/before       # the code to compare with
    python benchmarks/bench_startup.py --before /tmp/before [--record REC] [--pairs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
IMPORT_MODEL = ("import sys, cwtmae_cli.model; "
                "print('torch._dynamo' in sys.modules)")


def timed_run(tree: Path, args: list[str]) -> tuple[float, str]:
    """Wall seconds of ``python args`` with ``tree`` first on the path, and its stdout."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, cwd=tree, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(args)} failed:\n{done.stderr.strip()}")
    return seconds, done.stdout


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout")
    parser.add_argument("--record", type=Path, help="a WFDB record for the predict row")
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args()
    if not (args.before / "cwtmae_cli").is_dir():
        raise SystemExit(f"--before {args.before}: no cwtmae_cli package there")
    out = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    cases = {"import cwtmae_cli.model": ["-c", IMPORT_MODEL],
             "cwtmae --help": ["-m", "cwtmae_cli", "--help"]}
    if args.record is not None:
        cases["cwtmae predict --model ecg-rhythm-tiny"] = [
            "-m", "cwtmae_cli", "predict", "--model", "ecg-rhythm-tiny",
            str(args.record.resolve()), "--out", str(out)]
    trees = {"before": args.before.resolve(), "this": HERE}
    print(f"load average {_load()} at the start; {args.pairs} pairs, one thread")
    print(f"{'what':<40}{'before s':>10}{'this s':>10}{'ratio':>8}  (range)   dynamo imported")
    for what, command in cases.items():
        for tree in trees.values():
            timed_run(tree, command)  # warm-up: the page cache, .pyc files
        times: dict[str, list[float]] = {"before": [], "this": []}
        dynamo: dict[str, str] = {}
        for i in range(args.pairs):
            order = ("before", "this") if i % 2 == 0 else ("this", "before")
            for name in order:
                seconds, stdout = timed_run(trees[name], command)
                times[name].append(seconds)
                dynamo[name] = stdout.strip() if command[0] == "-c" else "-"
        ratios = [b / t for b, t in zip(times["before"], times["this"], strict=True)]
        print(f"{what:<40}{statistics.median(times['before']):>10.2f}"
              f"{statistics.median(times['this']):>10.2f}{statistics.median(ratios):>7.2f}x"
              f"  ({min(ratios):.2f}-{max(ratios):.2f})   {dynamo['before']} / {dynamo['this']}")
    print(f"load average {_load()} at the end")


if __name__ == "__main__":
    main()
