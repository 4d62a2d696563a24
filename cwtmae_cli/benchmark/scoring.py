"""How a cell's checkpoint is scored on its fold's test windows.

- **Windows**, always: ``test`` in the cell's result, as before.
- **Recordings**, when the store's labels are per recording (every recording of its labelled
  windows has a ``label``: the test ``evaluate --per-recording`` uses, e.g. ``cinc2017``):
  ``test_recording_level``. A recording's answer is the mean of its windows' probabilities,
  by :func:`~cwtmae_cli.evaluate.recording_level.recording_metrics` (the same code as
  ``evaluate --per-recording``, not a second aggregation).
- **The recipe's score** (its ``[score]``, e.g. the CinC 2017 challenge score: the mean F1 of
  ``N``, ``A``, ``O``), when declared: ``recipe_score`` in both blocks.

A benchmark started before recording-level scoring existed has cells without these keys; on
``--resume`` :func:`add_missing_scores` fills in the window ``recipe_score`` from the stored
per-class F1 and scores the recordings again from the cell's checkpoint, when it was kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RECORDING_LEVEL = "test_recording_level"  # the cell result's key for the recording-level block


@dataclass(frozen=True)
class RecordingScoring:
    """What a benchmark scores besides test windows, decided once from its store."""

    # the store's labels are per recording: test recordings are scored as well as windows
    labels_per_recording: bool = False
    score: dict | None = None  # the recipe's [score] ({"name", "mean_f1": [class, ...]})

    def describe(self) -> dict[str, Any]:
        """``labels_per_recording`` and ``score`` (``{"name", "classes"}`` or None) of
        ``benchmark.json``."""
        score = self.score
        named = None
        if score:
            classes = list(score["mean_f1"])
            named = {"name": score.get("name") or f"mean F1 of {', '.join(classes)}",
                     "classes": classes}  # fmt: skip
        return {"labels_per_recording": self.labels_per_recording, "score": named}


def recording_scoring(
    store_path: Path, labels: np.ndarray, recording: np.ndarray
) -> RecordingScoring:
    """Whether the store's labels are per recording (``evaluate --per-recording``'s test, on
    the recordings of its labelled windows ``labels`` ``(N,)`` / ``recording`` ``(N,)``: every
    fold's test windows are among them) and its recipe's ``[score]`` (None when it has none)."""
    from cwtmae_cli.data.store.schema import open_store
    from cwtmae_cli.evaluate.recording_level import labels_per_recording

    store = open_store(store_path)
    score = (store.attrs.get("recipe") or {}).get("score")
    return RecordingScoring(
        labels_per_recording=labels_per_recording(store.recordings, recording[labels >= 0]),
        score=dict(score) if score else None,
    )


def score_test(
    checkpoint: Path,
    store: Path,
    positions: np.ndarray,
    device: str,
    batch_size: int = 64,
    *,
    by_recording: bool = False,
    score: dict | None = None,
) -> dict[str, Any]:
    """``{"test": block}``, plus ``{RECORDING_LEVEL: block}`` when ``by_recording``, for a
    classifier checkpoint on the labelled store windows at ``positions`` (after the
    store/checkpoint check). See :func:`_block` for a block's keys."""
    from cwtmae_cli.evaluate.recording_level import challenge_score, recording_metrics
    from cwtmae_cli.metrics import classification_metrics

    probs, y_true, recording, names = _test_probabilities(
        checkpoint, store, positions, device, batch_size
    )
    windows = classification_metrics(y_true, probs.argmax(axis=1).astype(np.int64), names)
    window_score = challenge_score(windows["per_class"], score) if score else None
    scored = {"test": _block(windows, window_score)}
    if by_recording:
        level = recording_metrics(probs, y_true, recording, names, score)
        block = _block(level, level["score"])
        del block["n_windows"]  # recording_metrics counts recordings there
        scored[RECORDING_LEVEL] = {"n_recordings": level["n_recordings"], **block}
    return scored


def _test_probabilities(
    checkpoint: Path, store: Path, positions: np.ndarray, device: str, batch_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Probabilities ``(N, K)``, labels ``(N,)`` and recording indices ``(N,)`` of the labelled
    windows at ``positions`` (in store order), and the checkpoint's class names."""
    from cwtmae_cli.data.store.loader import WindowDataset
    from cwtmae_cli.data.store.schema import open_store
    from cwtmae_cli.evaluate.evaluation import match_store
    from cwtmae_cli.evaluate.inference import classify
    from cwtmae_cli.runtime.checkpoint import read_meta
    from cwtmae_cli.runtime.device import resolve_device
    from cwtmae_cli.runtime.loading import load_classifier

    meta = read_meta(checkpoint)
    channel = match_store(meta, open_store(store), checkpoint)
    dataset = WindowDataset(store, channel=channel, labelled_only=True, positions=positions)
    torch_device = resolve_device(device)
    model, meta = load_classifier(checkpoint, device=torch_device)
    windows = lambda i: dataset.get_batch(i)[0]  # noqa: E731  x (B, L)
    probs = classify(model, windows, dataset.recording, dataset.start_s, dataset.fs_hz,
                     batch_size=batch_size, device=torch_device)  # (N, K)
    y_true = np.asarray(dataset.labels, dtype=np.int64)  # (N,)
    return probs, y_true, np.asarray(dataset.recording), list(meta["label_names"])


def _block(metrics: dict, score: dict | None) -> dict[str, Any]:
    """A cell's test block from :func:`~cwtmae_cli.metrics.classification_metrics`' dict: its
    summary (``n_windows``, ``accuracy``, ``balanced_accuracy``, ``macro_f1``, ``cohen_kappa``,
    ...), ``per_class``, ``confusion_matrix`` (counts, rows true) and, with a recipe score,
    ``recipe_score`` (its value) and ``recipe_score_missing`` (its classes without a true
    window or recording, counted as F1 0)."""
    block = {
        **metrics["summary"],
        "per_class": metrics["per_class"],
        "confusion_matrix": metrics["confusion_matrix"]["counts"],
    }
    if score is not None:
        block["recipe_score"] = score["value"]
        block["recipe_score_missing"] = score["missing"]
    return block


def add_missing_scores(
    record: dict[str, Any],
    scoring: RecordingScoring,
    *,
    run_dir: Path,
    store: Path,
    positions: np.ndarray,
    device: str,
    batch_size: int,
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """A finished cell's result with what a benchmark now scores and it lacks (a benchmark
    started by an older version): the window ``recipe_score`` from its ``per_class`` rows, and
    the recording-level block from its checkpoint in ``run_dir / record["run_dir"]`` when that
    is still there and scores its test windows (``positions``) as recorded.

    Returns the record (a new dict when something was added) and None when it needed nothing,
    else ``{"kind": "rescored" | "lacking", "why": ...}``."""
    from cwtmae_cli.evaluate.recording_level import challenge_score

    score, test = scoring.score, record.get("test", {})
    if score is not None and "recipe_score" not in test and "per_class" in test:
        found = challenge_score(test["per_class"], score)
        test = {**test, "recipe_score": found["value"], "recipe_score_missing": found["missing"]}
        record = {**record, "test": test}
    if not scoring.labels_per_recording or RECORDING_LEVEL in record:
        return record, None
    cell_dir = Path(run_dir) / str(record.get("run_dir", ""))
    if not (cell_dir / "checkpoints").is_dir():
        return record, {
            "kind": "lacking",
            "why": "scored before recording-level scoring, and its checkpoints were removed",
        }
    return _rescored(record, cell_dir, score, (store, positions, device, batch_size))


def _rescored(
    record: dict[str, Any], cell_dir: Path, score: dict | None, where: tuple
) -> tuple[dict[str, Any], dict[str, str]]:
    """The record with the recording-level block of the cell's kept checkpoint, when that
    checkpoint scores the test windows as recorded; ``where``: :func:`score_test`'s store,
    positions, device and batch size."""
    from cwtmae_cli.errors import CheckpointError
    from cwtmae_cli.runtime.checkpoint import resolve_checkpoint

    try:
        checkpoint = resolve_checkpoint(cell_dir, prefer="best")
    except CheckpointError as exc:
        return record, {"kind": "lacking", "why": f"its checkpoint cannot be used: {exc}"}
    scored = score_test(checkpoint, *where, by_recording=True, score=score)
    if scored["test"]["confusion_matrix"] != record["test"].get("confusion_matrix"):
        return record, {
            "kind": "lacking",
            "why": f"its checkpoint {checkpoint} no longer scores the test windows as recorded "
            "(another checkpoint or device?)",
        }
    return {**record, RECORDING_LEVEL: scored[RECORDING_LEVEL]}, {
        "kind": "rescored",
        "why": f"recording-level figures computed from its kept checkpoint {checkpoint}",
    }
