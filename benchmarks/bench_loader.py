"""Benchmark of the training loader: train-split windows/s from a compressed store of >= 2 GB.

Generates an EEG-like store (30-s windows of 3000 float32 samples, 1 channel, Blosc-LZ4 chunks of
256 windows) of at least ``--gb`` GB on disk under a temporary folder, and beside it a NumPy
memmap holding the same train-split windows. Then, in one run and in the same chunk-shuffled
order (ChunkShuffleSampler, batches of ``--batch-size``), in ``--rounds`` interleaved rounds
(medians reported), it reads:

- store mode: ``WindowDataset(in_memory=False).get_batch`` (decodes whole chunks, cached);
- in-memory mode: ``WindowDataset(in_memory=True).get_batch`` (after one decode of the split);
- the memmap baseline: ``torch.from_numpy(memmap[indices])``.

Targets on 2 cores: >= 20,000 windows/s from the store and in-memory >= 0.5x the memmap. The page
cache is warmed for both sources before timing, and the 1-minute load average is reported: on a
shared machine the store figure (CPU-bound decoding) drops with the load.
Everything generated is deleted at the end (``--keep`` keeps it).

Usage::

    python benchmarks/bench_loader.py [--gb 2.0] [--batch-size 256] [--max-windows 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_SAMPLES = 3000
WINDOWS_PER_RECORDING = 960  # 8 h of 30-s windows


def du_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def eeg_like(rng: np.random.Generator, n_windows: int) -> np.ndarray:
    """``(n_windows, 1, 3000)`` float32 µV: AR(1) pink-ish noise plus a 10 Hz rhythm."""
    from scipy.signal import lfilter

    white = rng.standard_normal((n_windows, N_SAMPLES)).astype(np.float32)
    x = lfilter([1.0], [1.0, -0.95], white, axis=1).astype(np.float32) * 6.0
    t_s = np.arange(N_SAMPLES, dtype=np.float32) / 100.0
    phase = rng.uniform(0, 2 * np.pi, (n_windows, 1)).astype(np.float32)
    x += 15.0 * np.sin(2 * np.pi * 10.0 * t_s + phase)
    return x[:, None, :]  # (W, 1, L)


def build(folder: Path, target_bytes: int, seed: int = 0) -> tuple[Path, Path, int]:
    """Write the store (until it holds ``target_bytes``) and the train-split memmap."""
    from cwtmae_cli.data.split import assign_splits
    from cwtmae_cli.data.store.writer import StoreWriter

    store_path = folder / "bench.zarr"
    attrs = {"fs_hz": 100.0, "window_s": 30.0, "channels": ["EEG"], "label_names": list("ABCDE")}
    writer = StoreWriter.create(store_path, n_channels=1, n_samples=N_SAMPLES, attrs=attrs)
    rng = np.random.default_rng(seed)
    # Enough subjects for any size; the split of each is fixed up front, as prepare does.
    subjects = [f"s{i:04d}" for i in range(2000)]
    splits = assign_splits(subjects, seed=seed)
    train_blocks: list[Path] = []
    r = 0
    while du_bytes(store_path) < target_bytes:
        signals = eeg_like(rng, WINDOWS_PER_RECORDING)
        labels = rng.integers(0, 5, WINDOWS_PER_RECORDING)
        start_s = np.arange(WINDOWS_PER_RECORDING) * 30.0
        info = {"id": f"rec{r:04d}", "subject": subjects[r], "source_files": [], "dropped": {}}
        writer.append(info, signals, labels, start_s, splits[subjects[r]])
        if splits[subjects[r]] == 0:
            block = folder / f"train-{r:04d}.npy"
            np.save(block, signals[:, 0, :])
            train_blocks.append(block)
        r += 1
        if r % 20 == 0:
            print(f"  {r} recordings, {du_bytes(store_path) / 1e9:.2f} GB", file=sys.stderr)
    writer.finish([])
    n_train = WINDOWS_PER_RECORDING * len(train_blocks)
    memmap_path = folder / "train.f32"
    mm = np.memmap(memmap_path, dtype=np.float32, mode="w+", shape=(n_train, N_SAMPLES))
    for i, block in enumerate(train_blocks):
        mm[i * WINDOWS_PER_RECORDING : (i + 1) * WINDOWS_PER_RECORDING] = np.load(block)
        block.unlink()
    mm.flush()
    del mm
    return store_path, memmap_path, n_train


def rate(read, order: np.ndarray, batch_size: int) -> tuple[float, float]:
    """Windows/s reading ``order`` in batches; also returns a checksum of what was read."""
    total = 0.0
    t0 = time.perf_counter()
    for b in range(0, len(order), batch_size):
        x = read(order[b : b + batch_size])
        total += float(x[:, 0].sum())
    return len(order) / (time.perf_counter() - t0), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gb", type=float, default=2.0, help="store size on disk, GB (1e9)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--max-windows", type=int, default=100_000, help="windows per pass")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()

    import torch

    from cwtmae_cli.data.store.loader import ChunkShuffleSampler, WindowDataset

    torch.set_num_threads(2)
    folder = Path(tempfile.mkdtemp(prefix="cwtmae-bench-loader-", dir="/tmp"))
    try:
        t0 = time.perf_counter()
        store_path, memmap_path, n_train = build(folder, int(args.gb * 1e9))
        build_s = time.perf_counter() - t0
        store_bytes = du_bytes(store_path)
        ds = WindowDataset(store_path, splits=(0,), in_memory=False)
        assert len(ds) == n_train
        raw_bytes = len(ds) * N_SAMPLES * 4
        n_total = len(WindowDataset(store_path, splits=(0, 1, 2), in_memory=False))
        sampler = ChunkShuffleSampler(ds, seed=0)
        order = np.fromiter(iter(sampler), dtype=np.int64)[: args.max_windows]
        mm = np.memmap(memmap_path, dtype=np.float32, mode="r", shape=(n_train, N_SAMPLES))

        # Warm the page cache for both (the store was written first, so it may have been evicted):
        # what is timed is decoding and copying, as in every epoch after the first.
        for path in [*store_path.rglob("*"), memmap_path]:
            if path.is_file():
                with path.open("rb") as f:
                    while f.read(1 << 24):
                        pass
        load_before = os.getloadavg()[0]
        t1 = time.perf_counter()
        ds_mem = WindowDataset(store_path, splits=(0,), in_memory=True)
        load_s = time.perf_counter() - t1
        # Interleaved rounds, median of each: the load of a shared machine changes by the minute.
        modes = {
            "store": lambda idx: ds.get_batch(idx)[0],
            "memmap": lambda idx: torch.from_numpy(mm[idx]),
            "in_memory": lambda idx: ds_mem.get_batch(idx)[0],
        }
        rates: dict[str, list[float]] = {name: [] for name in modes}
        sums: dict[str, float] = {}
        for _ in range(args.rounds):
            for name, read in modes.items():
                if name == "store":
                    ds = WindowDataset(store_path, splits=(0,), in_memory=False)  # cold cache
                r, sums[name] = rate(read, order, args.batch_size)
                rates[name].append(r)
        store_rate, memmap_rate, mem_rate = (
            float(np.median(rates[name])) for name in ("store", "memmap", "in_memory")
        )
        c1, c2, c3 = sums["store"], sums["memmap"], sums["in_memory"]
        assert np.isclose(c1, c2, rtol=1e-4) and np.isclose(c1, c3, rtol=1e-4), (c1, c2, c3)
        report = {
            "store_gb_on_disk": round(store_bytes / 1e9, 3),
            "train_split_gb_raw": round(raw_bytes / 1e9, 3),
            "compression_ratio": round(n_total * N_SAMPLES * 4 / store_bytes, 3),
            "n_windows_train": len(ds),
            "n_windows_read": len(order),
            "batch_size": args.batch_size,
            "build_s": round(build_s, 1),
            "store_windows_per_s": round(store_rate),
            "memmap_windows_per_s": round(memmap_rate),
            "in_memory_load_s": round(load_s, 1),
            "in_memory_windows_per_s": round(mem_rate),
            "store_vs_memmap": round(store_rate / memmap_rate, 3),
            "in_memory_vs_memmap": round(mem_rate / memmap_rate, 3),
            "rounds_windows_per_s": {k: [round(v) for v in vs] for k, vs in rates.items()},
            "load_average_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "target_store_20k": store_rate >= 20_000,
            "target_in_memory_half_memmap": mem_rate >= 0.5 * memmap_rate,
        }
        print(json.dumps(report, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
