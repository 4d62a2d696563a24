"""Class-aware subject-wise splits and folds, on hand-made per-subject count tables."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from cwtmae_cli.data.split import (
    assign_splits,
    class_aware_parts,
    missing_classes,
    split_counts,
    subject_class_counts,
    subject_folds,
)


def _mitdb_like() -> dict[str, list[int]]:
    """44 records of 60 windows; AF (class 1) only in 5 of them, as in MIT-BIH."""
    counts = {f"r{i:02d}": [60, 0] for i in range(39)}
    for name, af in {"201": 20, "202": 15, "203": 60, "217": 25, "219": 40}.items():
        counts[name] = [60 - af, af]
    return counts


@pytest.mark.parametrize("seed", range(12))
def test_every_split_gets_the_rare_class_when_enough_subjects_hold_it(seed):
    counts = _mitdb_like()
    split = assign_splits(counts, (0.7, 0.15, 0.15), seed)
    assert missing_classes(counts, split, 3) == {}
    af_parts = {split[s] for s in ("201", "202", "203", "217", "219")}
    assert af_parts == {0, 1, 2}
    assert list(Counter(split.values())[p] for p in range(3)) == split_counts(44, (0.7, 0.15, 0.15))


def test_the_split_depends_on_the_count_table_only_not_its_order():
    counts = _mitdb_like()
    items = list(counts.items())
    random.Random(3).shuffle(items)
    assert assign_splits(dict(items), seed=4) == assign_splits(counts, seed=4)
    assert assign_splits(counts, seed=4) != assign_splits(counts, seed=5)


def test_a_class_of_too_few_subjects_goes_to_train_first_then_validation():
    counts = {f"s{i}": [10, 0, 0] for i in range(8)}
    counts["one"] = [5, 5, 0]  # the only subject with class 1
    counts["two-a"], counts["two-b"] = [5, 0, 5], [5, 0, 5]  # class 2: two subjects
    for seed in range(6):
        split = assign_splits(counts, (0.7, 0.15, 0.15), seed)
        assert split["one"] == 0
        assert {split["two-a"], split["two-b"]} == {0, 1}
        assert missing_classes(counts, split, 3) == {1: [1], 2: [1, 2]}


def test_balance_pass_spreads_a_common_class_by_the_fractions():
    """10 of 20 equal subjects hold class 1: validation and test (3 subjects each) should hold
    1 or 2 of them (1.5 wanted), not 0 or 3."""
    counts = {f"a{i}": [10, 10] for i in range(10)} | {f"n{i}": [20, 0] for i in range(10)}
    for seed in range(10):
        split = assign_splits(counts, (0.7, 0.15, 0.15), seed)
        holders = Counter(split[f"a{i}"] for i in range(10))
        assert holders[1] in (1, 2) and holders[2] in (1, 2), (seed, holders)


def test_without_classes_the_split_is_a_seeded_deal_of_the_subjects():
    subjects = [f"s{i}" for i in range(20)]
    a = assign_splits(subjects, seed=5)
    assert a == assign_splits(list(reversed(subjects)) + subjects[:3], seed=5)
    assert sorted(Counter(a.values()).values()) == sorted(split_counts(20, (0.7, 0.15, 0.15)))


@pytest.mark.parametrize("n_folds", [3, 5])
def test_k_folds_hold_every_class_and_equal_numbers_of_subjects(n_folds):
    counts = _mitdb_like()
    folds = subject_folds(counts, n_folds, seed=1)
    sizes = Counter(folds.values())
    assert sorted(sizes) == list(range(n_folds)) and max(sizes.values()) - min(sizes.values()) <= 1
    assert missing_classes(counts, folds, n_folds) == {}
    assert folds == subject_folds(dict(reversed(list(counts.items()))), n_folds, seed=1)


def test_folds_and_fractions_refuse_what_cannot_be_done():
    with pytest.raises(ValueError, match="at least 2 folds"):
        subject_folds(["a", "b"], 1)
    with pytest.raises(ValueError, match="need at least 3 subjects"):
        subject_folds(["a", "b"], 3)
    with pytest.raises(ValueError, match="3 numbers"):
        assign_splits(["a"], (0.5, 0.5))
    with pytest.raises(ValueError, match="same number of class counts"):
        class_aware_parts({"a": [1, 2], "b": [1]}, (1, 1))


def test_subject_class_counts_sum_windows_over_a_subjects_recordings():
    labels = np.array([0, 1, 1, -1, 2, 0, 0])
    recording = np.array([0, 0, 1, 1, 2, 2, 2])
    counts = subject_class_counts(labels, recording, ["x", "x", "y"], 3)
    assert {s: c.tolist() for s, c in counts.items()} == {"x": [1, 2, 0], "y": [2, 0, 1]}
    with pytest.raises(ValueError, match="out of range"):
        subject_class_counts(labels, recording, ["x", "x", "y"], 2)
