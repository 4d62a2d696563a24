"""``cwtmae score``: prediction tables scored against reference annotations (a human scorer).

Predictions are what ``predict`` writes: ``<recording>_pred.tsv`` (or ``.csv`` / ``.json``) tables
of windows, the EDF+ annotations (``<recording>_pred.edf``) and BIDS events
(``<recording>_events.tsv``) of ``--format edf|bids``, or ``summary.tsv`` with one row per
recording, or a folder of them. References are
a hypnogram EDF+ (Sleep-EDF ``Sleep stage W/1/2/3/4/R``, or any EDF+ file's own annotations), a
WFDB rhythm annotation file (``.atr``: ``aux_note`` rhythm intervals, read with its ``.hea``
for the sampling rate), a folder of those, or a CSV of recording labels (``REFERENCE.csv``:
``record,label``). A CSV scores recordings (``summary.tsv``), annotation files score windows.

Annotation texts become classes through the label map of a recipe, window by window as
``prepare`` labels them (:func:`~cwtmae_cli.evaluate.reference.window_labels`, the mapper
``predict``'s overlay uses): the recipe of the checkpoint's store when it is still there (the
table's sidecar names the checkpoint), else a built-in recipe with the tables' classes that
reads that kind of reference (ties in ``recipes_passed_over``), or the one given. Rules:

- tables and references are matched by recording id (a reference file's stem; for a recipe
  with paired annotation files, such as Sleep-EDF's ``SC4001E0-PSG`` and
  ``SC4001EC-Hypnogram``, the prefix the recipe pairs them by); unmatched ones are listed;
- a window is scored when its prediction is a class (not ``bad``) and its reference maps to a
  class; the others are left out and counted by reason (``bad``, ``no reference label``: no
  annotation covers enough of it, or its text is outside the map; ``reference <text>``: a text
  the recipe drops, such as ``Sleep stage ?``);
- onsets are seconds from the recording's first sample; when the table's sidecar gives the
  recording's clock start and the EDF+ reference its own, the reference is placed by clock time
  (``offset_s``: reference start minus table start);
- the classes are the tables' (they must be the recipe's names); a class the recipe's map cannot
  produce is listed in ``classes_not_in_reference_map``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cwtmae_cli import __version__
from cwtmae_cli.errors import DataError
from cwtmae_cli.evaluate.prediction_files import Predictions
from cwtmae_cli.evaluate.prediction_inputs import read_predictions
from cwtmae_cli.evaluate.reference import label_spec, window_labels
from cwtmae_cli.evaluate.reference_files import (
    NO_REFERENCE,
    choose_recipe,
    find_reference_files,
    left_out_reason,
    lenient,
    match_key,
    producible,
    read_reference_file,
)
from cwtmae_cli.evaluate.summary import BAD_LABEL
from cwtmae_cli.metrics import classification_metrics, per_recording_metrics


@dataclass
class AgreementResult:
    """What ``score`` found. ``metrics`` is :func:`classification_metrics`' dict."""

    predictions: str
    reference: str
    level: str  # "windows" or "recordings"
    recipe: str
    label_names: list[str]
    metrics: dict
    n_recordings: int
    recordings: list[dict]
    unmatched_predictions: list[str]
    unmatched_references: list[str]
    left_out: dict[str, int]
    classes_not_in_reference_map: list[str]
    per_recording: list[dict] | None = None
    recipes_passed_over: list[str] = field(default_factory=list)  # same classes, not chosen
    recording_level: None = None  # the report's recording section belongs to evaluate
    split: str = "reference"
    y_true: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    y_pred: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def to_dict(self) -> dict:
        return {
            "tool_version": __version__,
            "predictions": self.predictions,
            "reference": self.reference,
            "level": self.level,
            "recipe": self.recipe,
            "label_names": self.label_names,
            **self.metrics,
            "n_recordings": self.n_recordings,
            "recordings": self.recordings,
            "unmatched_predictions": self.unmatched_predictions,
            "unmatched_references": self.unmatched_references,
            "left_out": self.left_out,
            "classes_not_in_reference_map": self.classes_not_in_reference_map,
            "recipes_passed_over": self.recipes_passed_over,
            "per_recording": self.per_recording,
        }


# --- matching and scoring --------------------------------------------------------------------


def score_predictions(
    predictions: Path, reference: Path, recipe: str | None = None
) -> AgreementResult:
    """Score the prediction tables at ``predictions`` against the annotations at ``reference``
    (see the module docstring). DataError for missing files, unknown formats, classes that do not
    agree, or no recording (or window) in common."""
    predictions, reference = Path(predictions), Path(reference)
    if not reference.exists():
        raise DataError(f"no such file or folder: {reference}")
    by_recording = reference.is_file() and reference.suffix.lower() == ".csv"
    tables = read_predictions(predictions, recordings=by_recording, recipe=recipe)
    if not tables:
        raise DataError(f"{predictions} holds no recording")
    names = list(tables[0].label_names)
    chosen, passed_over = choose_recipe(names, tables, recipe, by_recording)
    scorer = _score_recordings if by_recording else _score_windows
    result = scorer(predictions, reference, tables, names, chosen)
    result.recipes_passed_over = passed_over
    return result


def _match(tables: list[Predictions], refs: dict[str, Any], recipe: dict):
    pairs, unmatched = [], []
    for table in tables:
        key = match_key(table.recording_id, recipe)
        if key in refs:
            pairs.append((table, refs[key]))
        else:
            unmatched.append(table.recording_id)
    used = {match_key(t.recording_id, recipe) for t, _ in pairs}
    return pairs, unmatched, used


def _no_overlap(predictions: Path, reference: Path, tables, refs: list[str]) -> DataError:
    ids = ", ".join(t.recording_id for t in tables[:5]) + (" ..." if len(tables) > 5 else "")
    theirs = ", ".join(refs[:5]) + (" ..." if len(refs) > 5 else "")
    return DataError(
        f"no recording of {predictions} has a reference in {reference} (predictions: {ids}; "
        f"references: {theirs or 'none'})"
    )


def _score_windows(predictions, reference, tables, names, recipe) -> AgreementResult:
    refs, files = _references_by_key(predictions, reference, tables, recipe)
    pairs, unmatched, used = _match(tables, refs, recipe)
    if not pairs:
        raise _no_overlap(predictions, reference, tables, [p.name for p in files])
    mapper = lenient(recipe)
    index = {name: k for k, name in enumerate(names)}
    y_true, y_pred, rec_of = [], [], []
    left_out: Counter[str] = Counter()
    rows = []
    for r, (table, path) in enumerate(pairs):
        true, pred, here, row = _score_table(table, path, mapper, index)
        y_true += true
        y_pred += pred
        rec_of += [r] * len(true)
        left_out.update(here)
        rows.append(row)
    if not y_true:
        raise DataError(
            f"no window of {predictions} has both a class and a reference label in {reference} "
            f"({', '.join(f'{n} {why}' for why, n in left_out.most_common())})"
        )
    unmatched_refs = [str(p) for k, p in refs.items() if k not in used]
    return _result(
        predictions, reference, "windows", recipe, names, y_true, y_pred, rows, unmatched,
        unmatched_refs, left_out, rec_of,
    )


def _references_by_key(predictions, reference, tables, recipe) -> tuple[dict[str, Path], list]:
    """Reference files by the id tables are matched with; two for one recording is an error."""
    files = find_reference_files(reference, recipe.get("source") or {})
    refs: dict[str, Path] = {}
    for path in files:
        key = match_key(path.name.split(".")[0], recipe)
        if key in refs:
            raise DataError(
                f"two references for recording {key} in {reference}: {refs[key].name} and "
                f"{path.name}; keep one of them there"
            )
        refs[key] = path
    if predictions.is_file() and reference.is_file():
        refs = {match_key(tables[0].recording_id, recipe): files[0]}  # a file against a file
    return refs, files


def _score_table(table, path: Path, mapper: dict, index: dict[str, int]):
    """One table against its reference file: (true, predicted class indices of the scored
    windows, windows left out by reason, the recording's row)."""
    ref = read_reference_file(path)
    offset_s = 0.0
    if table.start is not None and ref.start is not None:
        offset_s = (ref.start - table.start).total_seconds()
    shifted = [type(iv)(iv.onset_s + offset_s, iv.duration_s, iv.label) for iv in ref.intervals]
    truth, reasons = window_labels(shifted, mapper, table.onset_s, table.window_s)
    here: Counter[str] = Counter()
    true, pred = [], []
    for predicted, label, reason in zip(table.labels, truth, reasons, strict=True):
        why = BAD_LABEL if predicted == BAD_LABEL else left_out_reason(label, reason)
        if why is not None:
            here[why] += 1
            continue
        true.append(index[label])
        pred.append(index[predicted])
    row = {
        "recording": table.recording_id,
        "table": str(table.source),
        "reference": str(path),
        "n_windows": len(table.labels),
        "n_scored": len(true),
        "left_out": dict(here),
        "offset_s": offset_s,
    }
    return true, pred, here, row


def _score_recordings(predictions, reference, tables, names, recipe) -> AgreementResult:
    from cwtmae_cli.data.recipes.sources import read_reference

    labels = read_reference(reference)  # recording id -> label text
    refs = {match_key(rid, recipe): rid for rid in labels}
    pairs, unmatched, used = _match(tables, refs, recipe)
    if not pairs:
        raise _no_overlap(predictions, reference, tables, sorted(labels))
    spec = label_spec(lenient(recipe)["labels"])
    index = {name: k for k, name in enumerate(names)}
    y_true, y_pred = [], []
    left_out: Counter[str] = Counter()
    rows = []
    for table, rid in pairs:
        predicted = table.labels[0]
        cls = spec.class_of(labels[rid])
        truth = spec.names[cls] if isinstance(cls, int) else None
        why = BAD_LABEL if predicted == BAD_LABEL else None
        if why is None and truth is None:
            why = f"reference {labels[rid]}" if cls == "drop" else NO_REFERENCE
        if why is None:
            y_true.append(index[truth])
            y_pred.append(index[predicted])
        else:
            left_out[why] += 1
        rows.append(
            {
                "recording": table.recording_id,
                "label": labels[rid],
                "predicted": predicted,
                "scored": why is None,
            }
        )
    if not y_true:
        raise DataError(
            f"no recording of {predictions} has both a class and a reference label in "
            f"{reference} ({', '.join(f'{n} {why}' for why, n in left_out.most_common())})"
        )
    unmatched_refs = [rid for k, rid in refs.items() if k not in used]
    return _result(
        predictions, reference, "recordings", recipe, names, y_true, y_pred, rows, unmatched,
        unmatched_refs, left_out, None,
    )


def _result(
    predictions, reference, level, recipe, names, y_true, y_pred, rows, unmatched,
    unmatched_refs, left_out, rec_of,
) -> AgreementResult:
    """The result of scoring: ``rec_of`` (N,) the row of each scored window (None when
    recordings were scored)."""
    y_true_a = np.asarray(y_true, dtype=np.int64)  # (N,)
    y_pred_a = np.asarray(y_pred, dtype=np.int64)  # (N,)
    per_recording = None
    if rec_of is not None and len(rows) > 1:
        ids = [row["recording"] for row in rows]
        per_recording = per_recording_metrics(
            y_true_a, y_pred_a, np.asarray(rec_of), ids, len(names)
        )
    n_recordings = len(rows) if rec_of is None else len(set(rec_of))
    return AgreementResult(
        predictions=str(predictions.resolve()),
        reference=str(reference.resolve()),
        level=level,
        recipe=str(recipe.get("name") or ""),
        label_names=names,
        metrics=classification_metrics(y_true_a, y_pred_a, names),
        n_recordings=n_recordings,
        recordings=rows,
        unmatched_predictions=unmatched,
        unmatched_references=unmatched_refs,
        left_out=dict(left_out),
        classes_not_in_reference_map=[n for n in names if n not in producible(recipe)],
        per_recording=per_recording,
        y_true=y_true_a,
        y_pred=y_pred_a,
    )
