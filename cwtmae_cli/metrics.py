"""Classification metrics of a set of predictions, as plain JSON-ready dictionaries.

Everything is computed with scikit-learn over the *fixed* class list of the model (``labels =
range(n_classes)``), so a class that never occurs still has its row and column. Conventions:

- precision, recall and F1 of a class with no predicted (or no true) windows are 0 (scikit-learn's
  ``zero_division=0``), and macro-F1 averages over *all* classes of the model. A class with no
  true window (no support) is therefore a 0 in that average whatever the model does: such
  classes are listed in ``classes_without_support``, and ``macro_f1_supported`` averages over
  the classes that have support (equal to ``macro_f1`` when every class has some);
- balanced accuracy is the mean recall over the classes present in ``y_true`` (scikit-learn);
- Cohen's κ is undefined when both the truth and the predictions hold a single class: it is then
  ``None`` (``null`` in JSON), never a made-up number;
- the row-normalised confusion matrix divides each row by its support; the row of a class with no
  true windows is undefined (0 / 0): ``None`` in each cell (``null`` in JSON, ``n/a`` in reports),
  never a row of zeros that reads as "never recognised".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrix (K, K) int64 for K = n_classes; rows true classes, columns predicted."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, y_pred, labels=np.arange(n_classes)).astype(np.int64)


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """``counts`` (K, K) divided by each row's sum; rows that sum to 0 stay 0. float64 (K, K)."""
    support = counts.sum(axis=1, keepdims=True)  # (K, 1)
    return np.divide(counts, support, out=np.zeros(counts.shape), where=support > 0)


def _normalised_rows(counts: np.ndarray) -> list[list[float | None]]:
    """Row-normalised counts as lists; a row with no support is all ``None`` (undefined)."""
    support = counts.sum(axis=1)  # (K,)
    return [
        row if n > 0 else [None] * len(row)
        for row, n in zip(row_normalised(counts).tolist(), support, strict=True)
    ]


def summary_scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict:
    """accuracy, balanced accuracy, macro-F1 and Cohen's κ of integer class predictions."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        cohen_kappa_score,
        f1_score,
    )

    labels = np.arange(n_classes)
    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true" and 0/0 in κ: handled by the conventions above.
        warnings.simplefilter("ignore")
        kappa = cohen_kappa_score(y_true, y_pred, labels=labels)
        balanced = balanced_accuracy_score(y_true, y_pred)
    return {
        "n_windows": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "cohen_kappa": _finite_or_none(kappa),
    }


def per_class_scores(y_true: np.ndarray, y_pred: np.ndarray, label_names: Sequence[str]) -> list:
    """One dict per class: label, precision, recall, f1, support (true windows of the class).

    Precision of a class never predicted and recall of a class with no true window are 0 / 0:
    ``None``, never a made-up 0. F1 keeps scikit-learn's 0 there, as macro-F1 averages it (and
    ``classes_without_support`` says so).
    """
    from sklearn.metrics import precision_recall_fscore_support

    labels = np.arange(len(label_names))
    precision, recall, _, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=np.nan
    )
    _, _, f1, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return [
        {
            "label": name,
            "precision": _finite_or_none(precision[k]),
            "recall": _finite_or_none(recall[k]),
            "f1": float(f1[k]),
            "support": int(support[k]),
        }
        for k, name in enumerate(label_names)
    ]


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, label_names: Sequence[str]
) -> dict:
    """All metrics of one evaluation.

    Args:
        y_true: (N,) true class indices in ``[0, K)``.
        y_pred: (N,) predicted class indices in ``[0, K)``.
        label_names: the K class names, in class-index order.

    Returns:
        ``{"summary": {n_windows, accuracy, balanced_accuracy, macro_f1, cohen_kappa,
        macro_f1_supported, single_class_answer}, "classes_without_support": [label, ...],
        "classes_never_predicted": [label, ...],
        "per_class": [{label, precision, recall, f1, support}, ...],
        "confusion_matrix": {"labels", "counts" (K×K ints),
        "normalized" (K×K floats; None across the row of a class without support)}}``.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"y_true {y_true.shape} and y_pred {y_pred.shape} must be equal 1-D shapes"
        )
    if len(y_true) == 0:
        raise ValueError("no windows to score")
    n_classes = len(label_names)
    counts = confusion_counts(y_true, y_pred, n_classes)
    summary = summary_scores(y_true, y_pred, n_classes)
    per_class = per_class_scores(y_true, y_pred, label_names)
    supported = [row for row in per_class if row["support"] > 0]
    summary["macro_f1_supported"] = float(np.mean([row["f1"] for row in supported]))
    answered = np.unique(y_pred)
    # One answer for every window while the truth holds several classes: the model separates
    # nothing, and its accuracy is only that class's share.
    one_answer = len(answered) == 1 and len(np.unique(y_true)) > 1
    summary["single_class_answer"] = str(label_names[int(answered[0])]) if one_answer else None
    return {
        "summary": summary,
        "classes_without_support": [row["label"] for row in per_class if not row["support"]],
        "classes_never_predicted": [
            name for k, name in enumerate(label_names) if k not in set(answered.tolist())
        ],
        "per_class": per_class,
        "confusion_matrix": {
            "labels": list(label_names),
            "counts": counts.tolist(),
            "normalized": _normalised_rows(counts),
        },
    }


def per_recording_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    recording: np.ndarray,
    recording_ids: Sequence[str],
    n_classes: int,
) -> list[dict]:
    """Summary scores of each recording, in order of first appearance.

    Args:
        y_true, y_pred: (N,) class indices.
        recording: (N,) index of each window's recording into ``recording_ids``.
        recording_ids: names of the recordings (the store's ``recordings`` ids).
        n_classes: K.

    Returns:
        ``[{"recording", "n_windows", "accuracy", "balanced_accuracy", "macro_f1",
        "cohen_kappa"}, ...]``.
    """
    recording = np.asarray(recording)
    _, first = np.unique(recording, return_index=True)
    rows = []
    for rec in recording[np.sort(first)]:
        sel = recording == rec
        rows.append(
            {"recording": str(recording_ids[int(rec)])}
            | summary_scores(np.asarray(y_true)[sel], np.asarray(y_pred)[sel], n_classes)
        )
    return rows
