"""A one-feature reference for AF benchmarks: RR irregularity and a threshold, on its folds.

What does a learned model have to beat? Atrial fibrillation is, first of all, an irregular
ventricular rhythm. This script scores the simplest detector of it on exactly the folds of a
finished ``cwtmae benchmark`` run, so its figures sit beside the benchmark's:

1. R peaks: each window is band-passed 5-15 Hz (2nd-order Butterworth, zero phase), squared, and
   its peaks at least 0.3 s apart and above 30 % of the window's 98th percentile are taken.
2. Feature: the median absolute difference of successive RR intervals over the median RR
   interval (0 when fewer than 4 peaks are found).
3. Threshold: chosen on each fold's training windows (the benchmark's non-test subjects) to
   maximise macro-F1 there, then applied to the fold's test windows.

It prints per fold and as mean ± sd over folds the same test-window metrics as the benchmark
(accuracy, balanced accuracy, macro-F1, Cohen's kappa, through ``cwtmae_cli.metrics``), and the
pooled ROC AUC of the feature. Two-class stores only (AF against the rest; the AF class is found
by name). It learns nothing from the signal but this one number: it is a floor to compare with,
not a method.

Run: ``python benchmarks/baseline_rr_af.py RUN_DIR`` (a benchmark run folder: its
``benchmark.json`` names the store and the folds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

from cwtmae_cli.data.store.schema import open_store
from cwtmae_cli.metrics import classification_metrics

METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "cohen_kappa")


def rr_irregularity(x: np.ndarray, fs_hz: float) -> np.ndarray:
    """Per window ``(N, L)``: median |successive RR difference| / median RR, ``(N,)``."""
    from scipy.signal import butter, filtfilt, find_peaks

    b, a = butter(2, [5.0 / (fs_hz / 2), 15.0 / (fs_hz / 2)], btype="band")
    energy = filtfilt(b, a, x.astype(np.float64), axis=-1) ** 2  # (N, L)
    out = np.zeros(len(x))
    for i, e in enumerate(energy):
        peaks, _ = find_peaks(e, distance=int(0.3 * fs_hz), height=0.3 * np.percentile(e, 98))
        rr = np.diff(peaks) / fs_hz
        if len(rr) >= 3:
            out[i] = np.median(np.abs(np.diff(rr))) / np.median(rr)
    return out


def best_threshold(feature: np.ndarray, is_af: np.ndarray) -> float:
    """The cut (midpoints of the sorted unique values) with the best training macro-F1 of the
    two classes (AF above the cut), all cuts at once."""
    values = np.unique(feature)
    cuts = (values[:-1] + values[1:]) / 2 if len(values) > 1 else values  # (C,)
    above = feature[None, :] > cuts[:, None]  # (C, N)
    pos = is_af[None, :] == 1
    tp, fp = (above & pos).sum(1), (above & ~pos).sum(1)
    fn, tn = (~above & pos).sum(1), (~above & ~pos).sum(1)
    f1_af = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    f1_other = 2 * tn / np.maximum(2 * tn + fn + fp, 1)
    return float(cuts[int(np.argmax((f1_af + f1_other) / 2))])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a finished cwtmae benchmark run folder")
    args = parser.parse_args()
    doc = json.loads((args.run_dir / "benchmark.json").read_text(encoding="utf-8"))
    store = open_store(Path(doc["store"]))
    names = list(store.label_names)
    af = [i for i, n in enumerate(names) if n.upper() in ("AF", "A")]
    if len(names) != 2 or len(af) != 1:
        print(f"error: a two-class store with an AF class is needed, not {names}", file=sys.stderr)
        return 1
    labels = np.asarray(store.labels[:], dtype=np.int64)
    keep = labels >= 0
    subject_of = [str(r["subject"]) for r in store.recordings]
    subjects = np.array([subject_of[int(r)] for r in store.recording[:]])
    x = np.asarray(store.signals[:, 0, :])  # (N, L), the store's first channel
    feature = rr_irregularity(x, store.fs_hz)
    is_af = (labels == af[0]).astype(np.int64)  # 1 = AF, whatever the store's order
    from sklearn.metrics import roc_auc_score

    print(f"store {doc['store']}: {int(keep.sum())} labelled windows; feature ROC AUC (all "
          f"windows) {roc_auc_score(is_af[keep], feature[keep]):.3f}")
    results = []
    for fold in doc["folds"]:
        test = keep & np.isin(subjects, fold["test_subjects"])
        train = keep & ~np.isin(subjects, fold["test_subjects"])
        cut = best_threshold(feature[train], is_af[train])
        pred = np.where(feature[test] > cut, af[0], 1 - af[0])
        scores = classification_metrics(labels[test], pred, names)["summary"]
        results.append(scores)
        print(f"fold {fold['fold']}: threshold {cut:.4f}  " + "  ".join(
            f"{m} {scores[m]:.3f}" if scores[m] is not None else f"{m} n/a" for m in METRICS))
    for m in METRICS:
        values = [r[m] for r in results if r[m] is not None]
        sd = statistics.stdev(values) if len(values) > 1 else float("nan")
        print(f"{m}: {statistics.mean(values):.3f} ± {sd:.3f} over {len(values)} folds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
