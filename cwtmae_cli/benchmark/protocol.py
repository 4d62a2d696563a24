"""The cross-validation protocol of ``cwtmae benchmark``: folds, validation parts, label subsets.

- **Folds** are by subject and class-aware (:func:`~cwtmae_cli.data.split.subject_folds`): each
  subject's labelled windows are tested in exactly one fold. Subjects without a labelled window
  take no part.
- **Validation**: within a fold, the subjects outside the test fold are divided subject-wise and
  class-aware (:func:`~cwtmae_cli.data.split.class_aware_parts`) into training subjects and
  ``val_fraction`` of validation subjects, which choose the best epoch. The test fold is never
  read for training or selection.
- **Label fractions** are drawn per window, stratified by class, from the training subjects'
  windows: of a class with ``n`` windows, ``max(1, round(fraction * n))`` (so every class the
  training subjects hold keeps at least one window). The draw is one seeded permutation per
  (fold, class) whose prefixes are taken, so a smaller fraction's windows are a subset of a larger
  one's, and fraction 1 is all of them. Per window rather than per subject because with few
  subjects a per-subject draw would leave whole classes out at 5 %; the price is that the
  windows of a small fraction come from every training subject. The validation part is the same
  for every fraction (all its windows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cwtmae_cli.data.split import class_aware_parts, subject_class_counts, subject_folds
from cwtmae_cli.errors import DataError, UsageError
from cwtmae_cli.wording import plural

SETTINGS = ("pretrained", "scratch")


@dataclass(frozen=True)
class Fold:
    """One fold: its subjects per part and the store positions (int64, ascending) of their
    labelled windows. ``train`` is fraction 1; :func:`label_subset` draws the smaller ones."""

    index: int
    test_subjects: tuple[str, ...]
    val_subjects: tuple[str, ...]
    train_subjects: tuple[str, ...]
    test: np.ndarray  # (n_test,)
    val: np.ndarray  # (n_val,)
    train: np.ndarray  # (n_train,)

    def describe(self) -> dict:
        """The fold as JSON: subjects and window counts of each part."""
        return {
            "fold": self.index,
            "test_subjects": list(self.test_subjects),
            "val_subjects": list(self.val_subjects),
            "train_subjects": list(self.train_subjects),
            "n_test_windows": int(len(self.test)),
            "n_val_windows": int(len(self.val)),
            "n_train_windows": int(len(self.train)),
        }


def fraction_key(fraction: float) -> str:
    """The name of a label fraction in ``benchmark.json`` and file names: ``0.05``, ``1``."""
    return f"{fraction:g}"


def parse_fractions(text: str) -> tuple[float, ...]:
    """``"0.05,0.2,1.0"`` -> ``(0.05, 0.2, 1.0)``, ascending; UsageError outside (0, 1]."""
    values = []
    for item in str(text).split(","):
        try:
            value = float(item)
        except ValueError:
            raise UsageError(
                f"--label-fractions: `{item.strip()}` is not a number; give fractions in (0, 1] "
                "separated by commas, e.g. 0.05,0.2,1.0"
            ) from None
        if not 0.0 < value <= 1.0:
            raise UsageError(
                f"--label-fractions: {value:g} is outside (0, 1]; a fraction of the training "
                "windows must be above 0 and at most 1"
            )
        values.append(value)
    keys = [fraction_key(v) for v in values]
    if len(set(keys)) != len(keys):
        raise UsageError(f"--label-fractions: {text} names a fraction twice")
    return tuple(sorted(values))


def window_subjects(recording: np.ndarray, recording_subjects: Sequence[str]) -> np.ndarray:
    """(N,) the subject of each window, from its recording index."""
    names = np.asarray(list(recording_subjects), dtype=object)  # (R,)
    return names[np.asarray(recording, dtype=np.int64)]


def min_subjects(n_folds: int) -> int:
    """The fewest subjects for which the largest fold (``ceil(n / K)`` subjects) still leaves 2
    subjects outside it, one to train on and one to validate on: ``K`` for ``K >= 3``, 4 for 2."""
    n = n_folds
    while n - -(-n // n_folds) < 2:
        n += 1
    return n


def build_folds(
    labels: np.ndarray,
    recording: np.ndarray,
    recording_subjects: Sequence[str],
    n_classes: int,
    n_folds: int,
    val_fraction: float,
    seed: int = 0,
) -> list[Fold]:
    """The ``n_folds`` folds of a store's windows (``labels``, ``recording`` (N,); the subject
    of each recording). DataError when there are too few labelled subjects."""
    if n_folds < 2:
        raise UsageError(f"--folds {n_folds}: cross-validation needs at least 2 folds")
    if not 0.0 < val_fraction < 1.0:
        raise UsageError(f"--val-fraction {val_fraction:g} must lie strictly between 0 and 1")
    labels = np.asarray(labels, dtype=np.int64)
    counts = subject_class_counts(labels, recording, list(recording_subjects), n_classes)
    counts = {s: c for s, c in counts.items() if c.sum() > 0}  # subjects with labelled windows
    need = min_subjects(n_folds)
    if len(counts) < need:
        raise DataError(
            f"{plural(len(counts), 'subject')} with labelled windows for {n_folds} folds; every "
            "fold needs test subjects and at least 2 others (training and validation), so "
            f"{n_folds} folds need at least {need} subjects; lower --folds"
        )
    fold_of = subject_folds(counts, n_folds, seed)
    subject = window_subjects(recording, recording_subjects)  # (N,)
    labelled = labels >= 0

    def positions(names: Sequence[str]) -> np.ndarray:
        return np.flatnonzero(labelled & np.isin(subject, list(names))).astype(np.int64)

    folds = []
    for index in range(n_folds):
        test = sorted(s for s, f in fold_of.items() if f == index)
        rest = {s: counts[s] for s in sorted(counts) if fold_of[s] != index}
        part_of = class_aware_parts(rest, [1.0 - val_fraction, val_fraction], seed + index)
        train = sorted(s for s, p in part_of.items() if p == 0)
        val = sorted(s for s, p in part_of.items() if p == 1)
        folds.append(
            Fold(index, tuple(test), tuple(val), tuple(train), *map(positions, (test, val, train)))
        )
    return folds


def label_subset(fold: Fold, labels: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Store positions (ascending) of ``fraction`` of the fold's training windows, per class
    ``max(1, round(fraction * n_class))``, drawn as the module docstring says."""
    labels = np.asarray(labels, dtype=np.int64)
    train_labels = labels[fold.train]  # (n_train,)
    chosen = []
    for k in np.unique(train_labels):
        members = fold.train[train_labels == k]  # (n_k,)
        order = np.random.default_rng([seed, fold.index, int(k)]).permutation(len(members))
        take = max(1, int(np.floor(fraction * len(members) + 0.5)))  # round half up
        chosen.append(members[order[:take]])
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def fold_warnings(folds: Sequence[Fold], labels: np.ndarray, label_names: Sequence[str]) -> list:
    """One line per part of a fold that lacks a class the store has (test, validation, or
    training: then every fraction of that fold lacks it too)."""
    labels = np.asarray(labels, dtype=np.int64)
    present = set(np.unique(labels[labels >= 0]).tolist())
    lines = []
    for fold in folds:
        for part, rows, consequence in (
            ("test", fold.test, "its macro-F1 counts the class as F1 0"),
            ("validation", fold.val, "best-epoch selection cannot see it"),
            ("training", fold.train, "no fraction of this fold can learn it"),
        ):
            lacking = sorted(present - set(np.unique(labels[rows]).tolist()))
            if lacking:
                names = ", ".join(label_names[k] for k in lacking)
                lines.append(
                    f"fold {fold.index}: the {part} subjects have no `{names}` window; "
                    f"{consequence}"
                )
    return lines



def subset_warnings(
    folds: Sequence[Fold],
    labels: np.ndarray,
    fractions: Sequence[float],
    seed: int,
    label_names: Sequence[str],
    batch_size: int,
) -> list[str]:
    """DataError for a fold and fraction with fewer windows than a batch; a line for each class
    that the at-least-one-window rule keeps above its fraction."""
    lines = []
    for fold in folds:
        per_class = np.bincount(labels[fold.train], minlength=len(label_names))  # (K,)
        for fraction in fractions:
            chosen = label_subset(fold, labels, fraction, seed)
            if len(chosen) < batch_size:
                raise DataError(
                    f"fold {fold.index} at label fraction {fraction_key(fraction)} leaves "
                    f"{plural(len(chosen), 'training window')}, fewer than one batch of "
                    f"{batch_size}; "
                    "lower --batch-size or leave that fraction out"
                )
            for k in np.flatnonzero((per_class > 0) & (fraction * per_class < 0.5)):
                lines.append(
                    f"fold {fold.index} at label fraction {fraction_key(fraction)}: class "
                    f"`{label_names[k]}` has {plural(int(per_class[k]), 'training window')}; 1 "
                    "is kept (at least one window per class), more than the fraction"
                )
    return lines


def check_same_folds(
    saved_folds: list[dict], folds: Sequence[Fold], store: object, run_dir: object
) -> None:
    """DataError when the store's folds now are not those the benchmark was started with."""
    was = [{k: f[k] for k in ("test_subjects", "val_subjects")} for f in saved_folds]
    now = [{k: f.describe()[k] for k in ("test_subjects", "val_subjects")} for f in folds]
    if was != now:
        raise DataError(
            f"the folds of store {store} differ from those {run_dir} was started with (was "
            "the store prepared again?); start a new benchmark"
        )


def check_same_workdir(run_dir: object, root: Path, workdir: Path | None) -> None:
    """UsageError when a resumed benchmark is given a workdir other than its own: its store,
    pretraining run and cells live there, so another one would be silently ignored."""
    if workdir is not None and Path(workdir).resolve() != Path(root).resolve():
        raise UsageError(
            f"--resume {run_dir}: the run was started in workdir {root}, not {workdir} "
            "(--workdir or $CWTMAE_HOME); leave it out or give that one"
        )


__all__ = [
    "SETTINGS",
    "Fold",
    "build_folds",
    "check_same_folds",
    "check_same_workdir",
    "min_subjects",
    "fold_warnings",
    "fraction_key",
    "label_subset",
    "parse_fractions",
    "subset_warnings",
    "window_subjects",
]
