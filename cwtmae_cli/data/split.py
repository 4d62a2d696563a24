"""Subject-wise, class-aware splits: train/validation/test, or K folds for cross-validation.

Subjects are never divided: every subject goes whole to one part. Each part gets a fixed number
of subjects (the fractions, by largest remainder), and which subjects go where is chosen
greedily on the per-subject class counts, in two passes (the idea of scikit-learn's
``StratifiedGroupKFold``, with parts of unequal size and a coverage pass first):

1. **coverage**: classes from the rarest (held by the fewest subjects) up; each part that still
   lacks the class receives one of the subjects holding it, while unassigned holders remain.
   Parts are served in priority order (the largest fraction first, ties by index), so a class
   held by one subject goes to train, and by two to train and validation;
2. **balance**: the other subjects, in a seeded order, each to the part (with room left) where
   it brings the class proportions closest to the fractions.

The result depends only on the table of counts (subjects are sorted by name first), the
fractions and the seed: the order in which recordings were processed, or a resumed ``prepare``,
cannot change it. Without class counts (unlabelled data) the split is a seeded permutation of
the sorted subjects, dealt out in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

SPLIT_NAMES = ("train", "validation", "test")  # codes 0, 1, 2 of a store's `split` array
TRAIN, VALIDATION, TEST = 0, 1, 2
# The names the commands accept for a split (`val` is short for validation).
SPLIT_CODES = {"train": TRAIN, "validation": VALIDATION, "val": VALIDATION, "test": TEST}

# subject -> windows per class (K,), the same K for every subject
ClassCounts = Mapping[str, Sequence[int]]


def split_counts(n_subjects: int, fractions: Sequence[float]) -> list[int]:
    """How many subjects go to each part (largest remainder; every non-zero fraction gets at
    least one subject when there are enough subjects). Three fractions for train/validation/
    test; any number of parts for :func:`class_aware_parts`."""
    fractions = [float(f) for f in fractions]
    if len(fractions) < 2 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"split fractions must be non-negative numbers, got {fractions}")
    n_parts = len(fractions)
    total = sum(fractions)
    exact = [n_subjects * f / total for f in fractions]
    counts = [int(np.floor(e)) for e in exact]
    by_remainder = sorted(range(n_parts), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: n_subjects - sum(counts)]:
        counts[i] += 1
    wanted = [i for i in range(n_parts) if fractions[i] > 0]
    if n_subjects >= len(wanted):
        for i in wanted:
            if counts[i] == 0:
                donor = max(range(n_parts), key=lambda j: counts[j])
                counts[donor] -= 1
                counts[i] += 1
    return counts


def _count_table(class_counts: ClassCounts | Iterable[str]) -> tuple[list[str], np.ndarray]:
    """Sorted subjects and their counts ``(S, K)`` int64 (``K = 0`` for bare subject names)."""
    if not isinstance(class_counts, Mapping):
        names = sorted(set(class_counts))
        return names, np.zeros((len(names), 0), dtype=np.int64)
    names = sorted(class_counts)
    rows = [np.asarray(class_counts[s], dtype=np.int64).reshape(-1) for s in names]
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise ValueError(f"every subject needs the same number of class counts, got {widths}")
    table = np.stack(rows) if rows else np.zeros((0, 0), dtype=np.int64)  # (S, K)
    if (table < 0).any():
        raise ValueError("class counts must be >= 0")
    return names, table


class _Parts:
    """Running per-part totals and the balance cost of adding a subject to a part."""

    def __init__(self, table: np.ndarray, fractions: np.ndarray, capacity: list[int]) -> None:
        self.share = fractions / fractions.sum()  # (P,)
        self.class_total = table.sum(axis=0).astype(np.float64)  # (K,)
        self.windows = np.zeros((len(fractions), table.shape[1]))  # (P, K)
        self.room = list(capacity)

    def cost_change(self, row: np.ndarray, part: int) -> float:
        """Change of sum_k ((A_pk - share_p T_k) / T_k)^2 when ``row`` (K,) joins ``part``: the
        squared deviation from the wanted share, per class relative to the class's total so
        that a rare class weighs as much as a common one."""
        seen = self.class_total > 0
        if not seen.any():
            return 0.0
        target = self.share[part] * self.class_total[seen]
        before = self.windows[part, seen] - target
        after = before + row[seen]
        return float((((after**2) - (before**2)) / self.class_total[seen] ** 2).sum())

    def best_part(self, row: np.ndarray, parts: Iterable[int]) -> int:
        """The part (among ``parts``, with room) that ``row`` unbalances least; ties: the one
        with the most room left, then the lowest index."""
        open_parts = [p for p in parts if self.room[p] > 0]
        return min(open_parts, key=lambda p: (self.cost_change(row, p), -self.room[p], p))

    def add(self, row: np.ndarray, part: int) -> None:
        self.windows[part] += row
        self.room[part] -= 1


def class_aware_parts(
    class_counts: ClassCounts | Iterable[str], fractions: Sequence[float], seed: int = 0
) -> dict[str, int]:
    """Map each subject to a part ``0 .. len(fractions) - 1`` (see the module docstring).

    Args:
        class_counts: subject -> windows per class ``(K,)``; or bare subject names (no classes).
        fractions: the parts' shares of the subjects (need not sum to 1).
        seed: orders the subjects of the balance pass and breaks ties.
    """
    names, table = _count_table(class_counts)  # (S,), (S, K)
    fractions_arr = np.asarray([float(f) for f in fractions])
    capacity = split_counts(len(names), fractions_arr)
    parts = _Parts(table, fractions_arr, capacity)
    priority = sorted(range(len(capacity)), key=lambda p: (-fractions_arr[p], p))
    order = [int(i) for i in np.random.default_rng(seed).permutation(len(names))]
    part_of: dict[int, int] = {}
    holders = table > 0  # (S, K)
    rarest_first = sorted(range(table.shape[1]), key=lambda k: (int(holders[:, k].sum()), k))
    for k in rarest_first:
        for p in priority:
            covered = any(part_of.get(int(s)) == p for s in np.flatnonzero(holders[:, k]))
            if parts.room[p] == 0 or covered:
                continue
            free = [s for s in order if holders[s, k] and s not in part_of]
            if not free:
                break
            chosen = min(free, key=lambda s: parts.cost_change(table[s], p))
            part_of[chosen] = p
            parts.add(table[chosen], p)
    for s in order:
        if s not in part_of:
            p = parts.best_part(table[s], range(len(capacity)))
            part_of[s] = p
            parts.add(table[s], p)
    return {names[s]: part for s, part in sorted(part_of.items())}


def assign_splits(
    class_counts: ClassCounts | Iterable[str],
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> dict[str, int]:
    """Map each subject to 0 (train), 1 (validation) or 2 (test), class-aware."""
    if len(fractions) != 3:
        raise ValueError(f"split fractions must be 3 numbers, got {list(fractions)}")
    return class_aware_parts(class_counts, fractions, seed)


def subject_folds(
    class_counts: ClassCounts | Iterable[str], n_folds: int, seed: int = 0
) -> dict[str, int]:
    """Map each subject to a fold ``0 .. n_folds - 1`` for subject-wise k-fold cross-validation:
    equal shares of the subjects, every fold holding every class the subjects allow."""
    if n_folds < 2:
        raise ValueError(f"k-fold needs at least 2 folds, got {n_folds}")
    names, _ = _count_table(class_counts)
    if len(names) < n_folds:
        raise ValueError(f"{n_folds} folds need at least {n_folds} subjects, got {len(names)}")
    return class_aware_parts(class_counts, [1.0] * n_folds, seed)


def missing_classes(
    class_counts: ClassCounts, assignment: Mapping[str, int], n_parts: int
) -> dict[int, list[int]]:
    """Per part, the classes (indices) present in the data but with no window in that part.
    Parts that received no subject are not listed (nothing was meant to be there)."""
    names, table = _count_table(class_counts)
    present = table.sum(axis=0) > 0  # (K,)
    out: dict[int, list[int]] = {}
    for part in range(n_parts):
        rows = [i for i, s in enumerate(names) if assignment.get(s) == part]
        if not rows:
            continue
        have = table[rows].sum(axis=0) > 0  # (K,)
        lacking = [int(k) for k in np.flatnonzero(present & ~have)]
        if lacking:
            out[part] = lacking
    return out


def subject_class_counts(
    labels: np.ndarray, recording: np.ndarray, subjects: Sequence[str], n_classes: int
) -> dict[str, np.ndarray]:
    """Windows per class of each subject: ``labels`` and ``recording`` (N,) of a store's windows,
    ``subjects`` the subject of each recording index. Unlabelled windows (-1) are not counted;
    a subject whose recordings kept no window has all zeros. Values: int64 ``(n_classes,)``."""
    labels = np.asarray(labels, dtype=np.int64)
    recording = np.asarray(recording, dtype=np.int64)
    subject_index = {s: i for i, s in enumerate(sorted(set(subjects)))}
    of_recording = np.array([subject_index[s] for s in subjects], dtype=np.int64)  # (R,)
    labelled = labels >= 0
    if labelled.any() and labels.max() >= n_classes:
        raise ValueError(f"label {labels.max()} out of range for {n_classes} classes")
    flat = of_recording[recording[labelled]] * n_classes + labels[labelled]
    table = np.bincount(flat, minlength=len(subject_index) * n_classes)
    table = table.reshape(len(subject_index), n_classes)  # (S, K)
    return {s: table[i] for s, i in subject_index.items()}
