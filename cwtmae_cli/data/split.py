"""Subject-wise train/validation/test split, seeded and independent of processing order.

The split depends only on the *set* of subjects, the fractions and the seed, so a resumed
``prepare`` assigns exactly what an uninterrupted one would, and one subject's recordings never
land in two splits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

SPLIT_NAMES = ("train", "validation", "test")


def split_counts(n_subjects: int, fractions: Sequence[float]) -> list[int]:
    """How many subjects go to each split (largest remainder; every non-zero fraction gets at
    least one subject when there are enough subjects)."""
    fractions = [float(f) for f in fractions]
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"split fractions must be 3 non-negative numbers, got {fractions}")
    total = sum(fractions)
    exact = [n_subjects * f / total for f in fractions]
    counts = [int(np.floor(e)) for e in exact]
    by_remainder = sorted(range(3), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: n_subjects - sum(counts)]:
        counts[i] += 1
    wanted = [i for i in range(3) if fractions[i] > 0]
    if n_subjects >= len(wanted):
        for i in wanted:
            if counts[i] == 0:
                donor = max(range(3), key=lambda j: counts[j])
                counts[donor] -= 1
                counts[i] += 1
    return counts


def assign_splits(
    subjects: Iterable[str], fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0
) -> dict[str, int]:
    """Map each distinct subject to 0 (train), 1 (validation) or 2 (test).

    Subjects are sorted, then permuted with ``seed``; the first ``counts[0]`` go to train, and
    so on.
    """
    unique = sorted(set(subjects))
    counts = split_counts(len(unique), fractions)
    order = np.random.default_rng(seed).permutation(len(unique))
    codes = np.repeat(np.arange(3, dtype=np.int8), counts)  # (n_subjects,)
    return {unique[int(i)]: int(code) for i, code in zip(order, codes, strict=True)}
