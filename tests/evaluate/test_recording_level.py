"""Recording-level answers: mean window probability, summary.tsv rows, recording metrics and
the challenge score, on hand-computable cases."""

from __future__ import annotations

import numpy as np
import pytest

from cwtmae_cli.errors import StoreError
from cwtmae_cli.evaluate.recording_level import (
    labels_per_recording,
    mean_by_recording,
    recording_metrics,
    summary_row,
    write_summary,
)

NAN = np.nan


def test_mean_by_recording_leaves_bad_windows_out():
    probs = np.array([[0.9, 0.1], [NAN, NAN], [0.5, 0.5], [0.2, 0.8], [NAN, NAN]])  # (5, 2)
    recording = np.array([3, 3, 3, 1, 7])
    order, means = mean_by_recording(probs, recording)
    assert order.tolist() == [3, 1, 7]  # order of first appearance
    np.testing.assert_allclose(means[:2], [[0.7, 0.3], [0.2, 0.8]])
    assert np.isnan(means[2]).all()  # recording 7 has no good window


def test_summary_row_is_the_mean_not_a_vote(tmp_path):
    # Two of three windows say B, but the mean says A: 0.9 + 0.4 + 0.45 = 1.75 of 3.
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.45, 0.55], [NAN, NAN]])
    row = summary_row("r1", probs, ["A", "B"])
    assert row[:3] == ["r1", 3, "A"] and row[-1] == 1
    assert row[3] == pytest.approx(1.75 / 3) and row[4:6] == pytest.approx([1.75 / 3, 1.25 / 3])
    bad = summary_row("r2", np.full((2, 2), NAN), ["A", "B"])
    assert bad == ["r2", 0, "bad", None, None, None, 2]
    path = write_summary([row, bad], ["A", "B"], tmp_path / "summary.tsv")
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == [
        "recording",
        "n_windows",
        "label",
        "confidence",
        "prob_A",
        "prob_B",
        "n_bad",
    ]
    assert lines[2].split("\t") == ["r2", "0", "bad", "n/a", "n/a", "n/a", "2"]
    assert not (tmp_path / "summary.tsv.part").exists()


def test_recording_metrics_and_challenge_score():
    names = ["N", "A", "O", "~"]
    # recordings 0..4 with true N, N, A, O, ~; window probabilities give predictions N, A, A, N, ~
    probs = np.array(
        [
            [0.7, 0.1, 0.1, 0.1],
            [0.5, 0.3, 0.1, 0.1],  # rec 0: N
            [0.2, 0.6, 0.1, 0.1],  # rec 1: A (true N)
            [0.1, 0.8, 0.05, 0.05],
            [0.6, 0.2, 0.1, 0.1],
            [0.1, 0.7, 0.1, 0.1],  # rec 2: A
            [0.5, 0.1, 0.3, 0.1],  # rec 3: N (true O)
            [0.1, 0.1, 0.1, 0.7],  # rec 4: ~
        ]
    )
    recording = np.array([0, 0, 1, 2, 2, 2, 3, 4])
    y_true = np.array([0, 0, 0, 1, 1, 1, 2, 3])
    score = {"name": "challenge", "mean_f1": ["N", "A", "O"]}
    result = recording_metrics(probs, y_true, recording, names, score)
    assert result["n_recordings"] == 5 and result["summary"]["accuracy"] == pytest.approx(3 / 5)
    f1 = {row["label"]: row["f1"] for row in result["per_class"]}
    # N: 1 right of 2 true, 2 predicted -> 0.5; A: 1 right, 1 true, 2 predicted -> 2/3; O: 0.
    assert f1["N"] == pytest.approx(0.5) and f1["A"] == pytest.approx(2 / 3) and f1["O"] == 0
    assert result["score"]["value"] == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert result["score"]["missing"] == [] and result["score"]["name"] == "challenge"
    assert result["confusion_matrix"]["counts"][2] == [1, 0, 0, 0]  # the O record called N
    no_o = recording_metrics(probs[:6], y_true[:6], recording[:6], names, score)
    assert no_o["score"]["missing"] == ["O"]


def test_mixed_labels_are_not_per_recording():
    probs = np.full((2, 2), 0.5)
    with pytest.raises(StoreError, match="not per recording"):
        recording_metrics(probs, np.array([0, 1]), np.array([0, 0]), ["a", "b"])
    recordings = [{"id": "a", "label": "N"}, {"id": "b"}]
    assert labels_per_recording(recordings, np.array([0, 0]))
    assert not labels_per_recording(recordings, np.array([0, 1]))
