"""benchmarks/baseline_rr_af.py: the RR-irregularity feature and its training-fold threshold."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from baseline_rr_af import best_threshold, rr_irregularity  # noqa: E402

FS = 100.0


def _beats(rr_s: np.ndarray, n: int = 3000) -> np.ndarray:
    """A window of narrow QRS-like spikes at the cumulative RR intervals ``rr_s``, plus noise."""
    x = np.random.default_rng(0).normal(0.0, 0.01, n)
    t = np.arange(n) / FS
    for onset in np.cumsum(rr_s):
        x += np.exp(-0.5 * ((t - onset) / 0.012) ** 2)
    return x


def test_an_irregular_rhythm_scores_above_a_regular_one() -> None:
    rng = np.random.default_rng(1)
    regular = _beats(np.full(35, 0.8))
    irregular = _beats(rng.uniform(0.45, 1.2, 35))
    feature = rr_irregularity(np.stack([regular, irregular]), FS)
    assert feature[0] < 0.02  # every RR interval the same
    assert feature[1] > 0.2


def test_the_threshold_separates_the_training_windows_when_it_can() -> None:
    feature = np.array([0.01, 0.02, 0.03, 0.30, 0.40, 0.05])
    is_af = np.array([0, 0, 0, 1, 1, 0])
    cut = best_threshold(feature, is_af)
    assert 0.05 < cut < 0.30
    assert ((feature > cut) == (is_af == 1)).all()
