"""One answer per recording from its windows, and the scores of those answers.

A recording's probabilities are the **mean of its windows' class probabilities** (windows that
failed quality control are left out); its label is the class of the highest mean probability
and its confidence that mean. The mean, rather than a majority vote of window labels, keeps how
sure each window was, and it is what a record-level challenge scores: in CinC 2017 a record is
`A` when its windows, taken together, say AF.

- :func:`summary_rows` / :func:`write_summary`: ``predict`` on a folder writes ``summary.tsv``,
  one row per recording: ``recording``, ``n_windows`` (the windows averaged), ``label``,
  ``confidence``, ``prob_<class>``, then ``n_bad`` (windows left out). A recording with no good
  window has label ``bad`` and empty (``n/a``) confidence and probabilities.
- :func:`recording_metrics`: ``evaluate --per-recording`` on a store whose labels are per
  recording (every recording entry has a ``label``: recipes with ``annotations = "reference"``,
  such as ``cinc2017``) scores recordings too, and the recipe's ``[score]`` (the CinC challenge
  score: the mean F1 of ``N``, ``A`` and ``O`` over recordings).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from cwtmae_cli.errors import StoreError
from cwtmae_cli.metrics import classification_metrics

SUMMARY_FILE = "summary.tsv"
BAD_LABEL = "bad"


def mean_by_recording(probs: np.ndarray, recording: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The recordings in order of first appearance ``(R,)`` and the mean of each one's window
    probabilities ``(R, K)``. Rows of ``probs`` ``(N, K)`` that hold NaN (bad windows) are left
    out; a recording with none left gets a row of NaN."""
    recording = np.asarray(recording)
    _, first = np.unique(recording, return_index=True)
    order = recording[np.sort(first)]  # (R,)
    good = np.isfinite(probs).all(axis=1)  # (N,)
    means = np.full((len(order), probs.shape[1]), np.nan)  # (R, K)
    for r, rec in enumerate(order):
        sel = (recording == rec) & good
        if sel.any():
            means[r] = probs[sel].mean(axis=0)
    return order, means


def summary_columns(label_names: Sequence[str]) -> list[str]:
    probs = [f"prob_{name}" for name in label_names]
    return ["recording", "n_windows", "label", "confidence", *probs, "n_bad"]


def summary_row(recording_id: str, probs: np.ndarray, label_names: Sequence[str]) -> list:
    """One recording's ``summary.tsv`` row from its window probabilities ``(W, K)`` (NaN rows:
    bad windows); ``None`` marks an empty cell."""
    good = np.isfinite(probs).all(axis=1)  # (W,)
    n_good, n_bad = int(good.sum()), int((~good).sum())
    if n_good == 0:
        return [recording_id, 0, BAD_LABEL, None, *([None] * len(label_names)), n_bad]
    mean = probs[good].mean(axis=0)  # (K,)
    best = int(np.argmax(mean))
    return [recording_id, n_good, label_names[best], float(mean[best]), *map(float, mean), n_bad]


def write_summary(rows: Iterable[list], label_names: Sequence[str], path: Path) -> Path:
    """``summary.tsv`` (tab-separated, ``n/a`` for empty cells), written to a temporary name and
    renamed so that a crash leaves the previous file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(summary_columns(label_names))
        for row in rows:
            writer.writerow(
                [
                    "n/a" if v is None else repr(round(v, 6)) if isinstance(v, float) else v
                    for v in row
                ]
            )
    tmp.replace(path)
    return path


def labels_per_recording(recordings: Sequence[dict], used: np.ndarray) -> bool:
    """Whether every recording of ``used`` (indices into the store's ``recordings``) carries a
    recording-level ``label`` (a reference recipe's CSV)."""
    return bool(len(used)) and all("label" in recordings[int(i)] for i in np.unique(used))


def recording_metrics(
    probs: np.ndarray,
    y_true: np.ndarray,
    recording: np.ndarray,
    label_names: Sequence[str],
    score: dict | None = None,
    recording_ids: Sequence[str] | None = None,
) -> dict:
    """Metrics over recordings: each one's truth is its windows' (common) label, its prediction
    the class of the highest mean window probability.

    Args:
        probs: (N, K) window probabilities; y_true: (N,) window labels; recording: (N,) index
            of each window's recording.
        score: a recipe's ``[score]`` (``{"name", "mean_f1": [class, ...]}``), or None.
        recording_ids: names of the recordings (indexed by ``recording``), for ``recordings``.

    Returns:
        :func:`classification_metrics` of the recordings (``summary.n_windows`` counts
        recordings) plus ``n_recordings`` and ``score`` (``{"name", "classes", "value",
        "missing"}``: the mean F1 of the named classes; ``missing`` lists those without a
        true recording, whose F1 of 0 is in the mean) or None, and ``recordings``: one
        ``{"recording", "n_windows", "label", "predicted", "confidence"}`` per recording.
    """
    order, means = mean_by_recording(probs, recording)  # (R,), (R, K)
    truth = np.empty(len(order), dtype=np.int64)
    for r, rec in enumerate(order):
        labels = np.unique(y_true[recording == rec])
        if len(labels) != 1:
            raise StoreError(
                f"recording {int(rec)} has windows of {len(labels)} classes; its labels are not "
                "per recording"
            )
        truth[r] = labels[0]
    predicted = np.argmax(np.nan_to_num(means, nan=-1.0), axis=1)  # (R,)
    result = classification_metrics(truth, predicted, label_names)
    result["n_recordings"] = int(len(order))
    result["score"] = challenge_score(result["per_class"], score) if score else None
    result["recordings"] = [
        {
            "recording": str(recording_ids[int(rec)]) if recording_ids else str(int(rec)),
            "n_windows": int((recording == rec).sum()),
            "label": label_names[truth[r]],
            "predicted": label_names[predicted[r]],
            "confidence": float(means[r, predicted[r]]) if np.isfinite(means[r]).all() else None,
        }
        for r, rec in enumerate(order)
    ]
    return result


def challenge_score(per_class: list[dict], score: dict) -> dict:
    """The mean F1 of ``score["mean_f1"]``'s classes from :func:`classification_metrics`'
    ``per_class`` rows."""
    f1 = {row["label"]: row for row in per_class}
    classes = list(score["mean_f1"])
    return {
        "name": score.get("name") or f"mean F1 of {', '.join(classes)}",
        "classes": classes,
        "value": float(np.mean([f1[name]["f1"] for name in classes])),
        "missing": [name for name in classes if f1[name]["support"] == 0],
    }
