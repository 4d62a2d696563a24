"""Metrics of known predictions, checked by hand and against scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from cwtmae_cli.metrics import (
    classification_metrics,
    per_recording_metrics,
    row_normalised,
)

NAMES = ["W", "N1", "N2"]


def test_hand_computed_example():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    m = classification_metrics(y_true, y_pred, NAMES)
    assert m["summary"]["n_windows"] == 6
    assert m["summary"]["accuracy"] == pytest.approx(4 / 6)
    # recalls 2/3, 1/2, 1 -> mean
    assert m["summary"]["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert m["confusion_matrix"]["counts"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert m["confusion_matrix"]["normalized"][0] == pytest.approx([2 / 3, 1 / 3, 0])
    assert m["per_class"][0]["precision"] == 1.0 and m["per_class"][2]["precision"] == 0.5
    n1 = m["per_class"][1]
    assert n1["label"] == "N1" and n1["support"] == 2
    assert n1["precision"] == pytest.approx(0.5) and n1["recall"] == pytest.approx(0.5)
    assert m["summary"]["cohen_kappa"] == pytest.approx(cohen_kappa_score(y_true, y_pred))


def test_absent_class_keeps_its_row_and_counts_in_macro_f1():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 0, 1, 1])
    m = classification_metrics(y_true, y_pred, NAMES)
    assert len(m["per_class"]) == 3 and m["per_class"][2]["support"] == 0
    assert m["confusion_matrix"]["counts"][2] == [0, 0, 0]
    assert m["confusion_matrix"]["normalized"][2] == [None, None, None]  # 0 / 0: undefined
    # Never predicted and no true window: precision and recall are 0 / 0, not 0.
    absent = m["per_class"][2]
    assert (absent["precision"], absent["recall"], absent["f1"]) == (None, None, 0.0)
    assert m["confusion_matrix"]["normalized"][1] == [0.0, 1.0, 0.0]
    # Perfect on two classes, 0 on the third: macro over the model's three classes.
    assert m["summary"]["macro_f1"] == pytest.approx(2 / 3)
    assert m["summary"]["macro_f1"] == pytest.approx(
        f1_score(y_true, y_pred, labels=[0, 1, 2], average="macro", zero_division=0)
    )
    # ... and that is flagged: the class without support is named, and the mean over the
    # classes present is given beside it.
    assert m["classes_without_support"] == [NAMES[2]]
    assert m["summary"]["macro_f1_supported"] == pytest.approx(1.0)


def test_every_class_present_flags_nothing():
    y_true = np.array([0, 1, 2, 2])
    y_pred = np.array([0, 2, 2, 2])
    m = classification_metrics(y_true, y_pred, NAMES)
    assert m["classes_without_support"] == []
    assert m["summary"]["macro_f1_supported"] == pytest.approx(m["summary"]["macro_f1"])


def test_single_class_kappa_is_null_and_json_is_valid():
    m = classification_metrics(np.zeros(5, int), np.zeros(5, int), NAMES)
    assert m["summary"]["cohen_kappa"] is None
    text = json.dumps(m, allow_nan=False)  # raises on NaN
    assert json.loads(text) == m


def test_row_normalised_rows_sum_to_one():
    counts = np.array([[3, 1], [0, 0]])
    norm = row_normalised(counts)
    assert norm[0].sum() == pytest.approx(1.0) and norm[1].tolist() == [0.0, 0.0]


def test_bad_shapes_rejected():
    with pytest.raises(ValueError):
        classification_metrics(np.zeros(3, int), np.zeros(4, int), NAMES)
    with pytest.raises(ValueError):
        classification_metrics(np.zeros(0, int), np.zeros(0, int), NAMES)


def test_per_recording_rows_in_order_of_appearance():
    y_true = np.array([0, 1, 2, 0, 0, 1])
    y_pred = np.array([0, 1, 2, 1, 1, 1])
    recording = np.array([2, 2, 2, 0, 0, 0])
    rows = per_recording_metrics(y_true, y_pred, recording, ["a", "b", "c"], 3)
    assert [r["recording"] for r in rows] == ["c", "a"]
    assert rows[0]["accuracy"] == 1.0 and rows[0]["n_windows"] == 3
    assert rows[1]["accuracy"] == pytest.approx(1 / 3)


def test_precision_of_a_class_never_predicted_is_undefined_not_zero():
    m = classification_metrics(np.array([0, 0, 1, 2]), np.array([0, 0, 0, 2]), NAMES)
    never = m["per_class"][1]  # one true window, never predicted
    assert never["precision"] is None and never["recall"] == 0.0 and never["f1"] == 0.0
    assert m["per_class"][0]["precision"] == pytest.approx(2 / 3)


def test_one_answer_for_every_window_is_named():
    m = classification_metrics(np.array([0, 0, 0, 1]), np.array([0, 0, 0, 0]), NAMES)
    assert m["summary"]["single_class_answer"] == "W"  # accuracy 0.75 is only W's share
    assert m["classes_never_predicted"] == ["N1", "N2"]
    mixed = classification_metrics(np.array([0, 1]), np.array([0, 1]), NAMES)
    assert mixed["summary"]["single_class_answer"] is None
    one_class_truth = classification_metrics(np.array([0, 0]), np.array([0, 0]), NAMES)
    assert one_class_truth["summary"]["single_class_answer"] is None  # nothing to tell apart
