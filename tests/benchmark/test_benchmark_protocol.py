"""The benchmark's protocol and numbers without training: folds by subject, validation subjects
from the non-test subjects, stratified nested label subsets, mean ± sd, and the loader hook
that restricts a dataset to given store windows."""

from __future__ import annotations

import numpy as np
import pytest

from cwtmae_cli.benchmark.protocol import (
    Fold,
    build_folds,
    fold_warnings,
    label_subset,
    min_subjects,
    parse_fractions,
    window_subjects,
)
from cwtmae_cli.benchmark.results import format_mean_sd, mean_sd, summarize
from cwtmae_cli.errors import DataError, StoreError, UsageError


def _windows(per_subject: list[list[int]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One recording per subject ``s<i>``; ``per_subject[i]`` its window labels in order."""
    labels = np.concatenate([np.asarray(w, dtype=np.int64) for w in per_subject])
    recording = np.concatenate([np.full(len(w), i) for i, w in enumerate(per_subject)])
    return labels, recording, [f"s{i}" for i in range(len(per_subject))]


# 9 subjects, 2 classes; s8 only unlabelled windows (takes no part); class 1 rarer
SUBJECTS = [[0, 0, 1], [0, 0, 0, 1], [0, 1, 1], [0, 0], [0, 0, 0, 1], [0, 1], [0, 0, 1],
            [0, 0, 0, 0, 1], [-1, -1]]  # fmt: skip


def test_every_labelled_subject_is_tested_once_and_never_trained_on_in_its_fold() -> None:
    labels, recording, subjects = _windows(SUBJECTS)
    folds = build_folds(labels, recording, subjects, 2, n_folds=3, val_fraction=0.25, seed=1)
    tested = [s for f in folds for s in f.test_subjects]
    assert sorted(tested) == [f"s{i}" for i in range(8)]  # once each; s8 nowhere
    subject = window_subjects(recording, subjects)
    for fold in folds:
        parts = [set(fold.test_subjects), set(fold.val_subjects), set(fold.train_subjects)]
        assert all(parts) and set().union(*parts) == set(tested)
        assert sum(map(len, parts)) == len(tested)  # disjoint
        for rows, names in zip((fold.test, fold.val, fold.train), parts, strict=True):
            assert set(subject[rows]) == names and (labels[rows] >= 0).all()
        every = np.flatnonzero(np.isin(subject, list(fold.test_subjects)) & (labels >= 0))
        assert np.array_equal(fold.test, every)  # all of the test subjects' labelled windows


def test_folds_are_deterministic_for_a_seed_and_hold_every_class() -> None:
    labels, recording, subjects = _windows(SUBJECTS)
    a = build_folds(labels, recording, subjects, 2, 3, 0.25, seed=4)
    b = build_folds(labels, recording, subjects, 2, 3, 0.25, seed=4)
    assert [f.describe() for f in a] == [f.describe() for f in b]
    assert all(set(labels[f.test]) == {0, 1} for f in a)
    assert fold_warnings(a, labels, ["N", "A"]) == []


def test_too_few_subjects_and_bad_settings_are_refused() -> None:
    labels, recording, subjects = _windows(SUBJECTS)
    with pytest.raises(DataError, match="8 subjects with labelled windows for 9 folds"):
        build_folds(labels, recording, subjects, 2, 9, 0.2)
    for n_folds in (2, 3, 8):  # one test subject per fold leaves 7 others
        folds = build_folds(labels, recording, subjects, 2, n_folds, 0.2)
        assert all(f.val_subjects and f.train_subjects for f in folds)
    three = _windows(SUBJECTS[:3])
    with pytest.raises(DataError, match="2 folds need at least 4 subjects"):
        build_folds(*three[:2], three[2], 2, 2, 0.5)  # a fold of 2 would leave 1 subject
    assert [min_subjects(k) for k in (2, 3, 5)] == [4, 3, 5]
    with pytest.raises(UsageError, match="at least 2 folds"):
        build_folds(labels, recording, subjects, 2, 1, 0.2)
    with pytest.raises(UsageError, match="val-fraction"):
        build_folds(labels, recording, subjects, 2, 3, 1.0)


def test_a_class_of_one_subject_is_missing_from_the_other_folds_test_parts() -> None:
    per_subject = [[0, 0], [0, 0], [0, 0, 2], [0, 1], [0, 1], [0, 1]]
    labels, recording, subjects = _windows(per_subject)
    folds = build_folds(labels, recording, subjects, 3, 2, 0.3, seed=0)
    lines = fold_warnings(folds, labels, ["N", "A", "O"])
    holder = next(f.index for f in folds if "s2" in f.test_subjects)
    other = 1 - holder
    assert f"fold {other}: the test subjects have no `O` window" in " ".join(lines)
    assert f"fold {holder}: the training subjects have no `O` window" in " ".join(lines)


def test_label_subsets_are_stratified_rounded_half_up_at_least_one_and_nested() -> None:
    # one fold whose training part is s0..s3: class 0 has 10 windows, class 1 has 3, class 2 one
    per_subject = [[0] * 4 + [1], [0] * 3 + [1, 2], [0] * 3 + [1], [0, 1], [0, 1], [0, 1]]
    labels, recording, subjects = _windows(per_subject)
    fold = next(
        f
        for f in build_folds(labels, recording, subjects, 3, 2, 0.2, seed=0)
        if len(f.train_subjects) >= 2
    )
    n_class = np.bincount(labels[fold.train], minlength=3)
    previous = np.zeros(0, dtype=np.int64)
    for fraction in (0.05, 0.25, 0.5, 1.0):
        chosen = label_subset(fold, labels, fraction, seed=3)
        got = np.bincount(labels[chosen], minlength=3)
        want = [max(1, int(np.floor(fraction * n + 0.5))) if n else 0 for n in n_class]
        assert got.tolist() == want, (fraction, n_class)
        assert np.all(np.diff(chosen) > 0) and np.isin(chosen, fold.train).all()
        assert np.isin(previous, chosen).all()  # nested: the smaller fraction's windows kept
        previous = chosen
    assert np.array_equal(previous, fold.train)
    assert np.array_equal(label_subset(fold, labels, 0.25, 3), label_subset(fold, labels, 0.25, 3))


def test_label_subset_hand_case() -> None:
    # 10 windows of class 0, 1 of class 1 in training: 5 % -> 1 (0.5 rounds up) and 1; 25 % -> 3
    labels = np.array([0] * 10 + [1, 1, 0], dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    fold = Fold(0, ("b",), (), ("a",), np.array([11, 12]), empty, np.arange(11))
    counts = [np.bincount(labels[label_subset(fold, labels, f)], minlength=2).tolist()
              for f in (0.05, 0.25, 1.0)]  # fmt: skip
    assert counts == [[1, 1], [3, 1], [10, 1]]


@pytest.mark.parametrize("text", ["0,0.5", "1.5", "-0.1", "x", "0.2,0.20"])
def test_fractions_outside_zero_one_or_repeated_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--label-fractions"):
        parse_fractions(text)


def test_fractions_parse_sorted() -> None:
    assert parse_fractions("1.0,0.05, 0.2") == (0.05, 0.2, 1.0)


def test_mean_and_sample_sd_over_folds() -> None:
    assert mean_sd([0.5, 0.7, 0.9]) == pytest.approx({"mean": 0.7, "sd": 0.2, "n": 3})
    assert mean_sd([0.5, None, 0.9]) == pytest.approx({"mean": 0.7, "sd": 0.08**0.5, "n": 2})
    assert mean_sd([0.4]) == {"mean": 0.4, "sd": None, "n": 1}
    assert mean_sd([None]) == {"mean": None, "sd": None, "n": 0}
    assert format_mean_sd({"mean": 0.7, "sd": 0.2}) == "0.700 ± 0.200"
    assert format_mean_sd({"mean": None, "sd": None}) == "n/a"


def test_summary_groups_cells_by_setting_and_fraction() -> None:
    def cell(fold: int, setting: str, fraction: float, f1: float, kappa: float | None) -> dict:
        scores = {"accuracy": f1, "balanced_accuracy": f1, "macro_f1": f1, "cohen_kappa": kappa}
        return {"fold": fold, "setting": setting, "label_fraction": fraction, "test": scores}

    cells = [cell(0, "pretrained", 0.1, 0.6, 0.2), cell(1, "pretrained", 0.1, 0.8, None),
             cell(0, "scratch", 0.1, 0.5, 0.1), cell(1, "scratch", 0.1, 0.5, 0.3),
             cell(0, "pretrained", 1.0, 0.9, 0.8)]  # fmt: skip
    summary = summarize(cells, [0.1, 1.0])
    assert summary["pretrained"]["0.1"]["macro_f1"] == pytest.approx(
        {"mean": 0.7, "sd": 0.02**0.5, "n": 2}
    )
    assert summary["pretrained"]["0.1"]["cohen_kappa"] == {"mean": 0.2, "sd": None, "n": 1}
    assert summary["scratch"]["0.1"]["cohen_kappa"] == pytest.approx(
        {"mean": 0.2, "sd": 0.02**0.5, "n": 2}
    )
    assert summary["pretrained"]["1"]["n_folds"] == 1 and summary["scratch"]["1"]["n_folds"] == 0


def test_window_dataset_positions_select_those_store_windows(tmp_path) -> None:
    from stand_ins import write_sine_store

    from cwtmae_cli.data.store.loader import WindowDataset

    store = write_sine_store(tmp_path / "s.zarr", n_per_class=4, n_samples=200)
    ds = WindowDataset(store, positions=[7, 2, 5], in_memory=True)
    assert ds.indices.tolist() == [2, 5, 7]
    full = WindowDataset(store, splits=(0, 1, 2), in_memory=True)
    x, _ = ds.get_batch(np.arange(3))
    assert np.array_equal(x.numpy(), full.get_batch(np.array([2, 5, 7]))[0].numpy())
    with pytest.raises(StoreError, match="out of range for the 12 windows"):
        WindowDataset(store, positions=[3, 12])
