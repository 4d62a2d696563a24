"""The prediction files of ``predict --format edf|bids`` read back for scoring.

- ``<recording>_pred.edf``: one EDF+ annotation per window (its class, or ``bad (<reason>)``).
  The file does not list the model's classes: they come from the provenance sidecar
  ``<recording>_pred.json`` beside it, else from ``--recipe``. Its header holds the start in whole
  seconds and ``predict`` added the start's fraction of a second to every onset; with the
  sidecar's exact start that fraction is taken off again, so onsets are the table's to 1 µs.
- ``<stem>_events.tsv``: BIDS events; ``onset``, ``duration`` and ``trial_type`` (the class,
  ``bad``) are needed, and the classes are its ``prob_<class>`` columns (else the sidecar's,
  else ``--recipe``'s). The sidecar is the ``<name>_pred.json`` whose BIDS events stem is
  ``<stem>`` (``sub-01_task-sleep_eeg_pred.json`` for ``sub-01_task-sleep_events.tsv``).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import numpy as np

from cwtmae_cli.errors import DataError
from cwtmae_cli.evaluate.prediction_files import Predictions
from cwtmae_cli.evaluate.prediction_paths import bids_events_stem
from cwtmae_cli.evaluate.summary import BAD_LABEL

EDF_TABLE_SUFFIX = "_pred.edf"
EVENTS_SUFFIX = "_events.tsv"
EVENT_COLUMNS = ("onset", "duration", "trial_type")


def is_edf_predictions(path: Path) -> bool:
    return Path(path).name.endswith(EDF_TABLE_SUFFIX)


def is_bids_events(path: Path) -> bool:
    return Path(path).name.endswith(EVENTS_SUFFIX)


def _read_json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def sidecar_of(path: Path) -> tuple[Path | None, dict]:
    """The provenance sidecar ``predict`` wrote beside the EDF or events file ``path`` (its
    path and document), or ``(None, {})``."""
    path = Path(path)
    if is_edf_predictions(path):
        side = path.with_name(path.name.removesuffix(EDF_TABLE_SUFFIX) + "_pred.json")
        return (side, _read_json(side)) if side.is_file() else (None, {})
    stem = path.name.removesuffix(".tsv")
    found = [p for p in sorted(path.parent.glob("*_pred.json"))
             if bids_events_stem(p.name.removesuffix("_pred.json")) == stem]
    if len(found) > 1:  # several names give this stem: the one that names this file
        found = [p for p in found if _read_json(p).get("table") == path.name]
    return (found[0], _read_json(found[0])) if len(found) == 1 else (None, {})


def _start(side: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(side["recording_start"]).replace(tzinfo=None)
    except (KeyError, TypeError, ValueError):
        return None


def _classes(path: Path, own: list[str], side: dict, recipe_classes: list[str] | None) -> list:
    names = own or list(side.get("label_names") or []) or list(recipe_classes or [])
    if not names:
        raise DataError(
            f"{path.name} does not name the model's classes and no provenance sidecar "
            "(<recording>_pred.json) is beside it; put back the one `cwtmae predict` wrote, or "
            "pass --recipe"
        )
    return names


def _check_labels(path: Path, labels: list[str], names: list[str]) -> None:
    unknown = sorted(set(labels) - set(names) - {BAD_LABEL})
    if unknown:
        raise DataError(f"{path.name}: labels {', '.join(unknown)} are none of its classes "
                        f"({', '.join(names)})")


def _one_length(path: Path, durations: set[float]) -> float:
    if len(durations) > 1:
        raise DataError(f"{path.name}: windows of several lengths {sorted(durations)}")
    return durations.pop()


def read_edf_predictions(path: Path, recipe_classes: list[str] | None = None) -> Predictions:
    """A ``<recording>_pred.edf`` of ``predict --format edf`` (see the module docstring).
    DataError when it cannot be read, holds no annotation, or names a label outside its
    classes."""
    import mne

    from cwtmae_cli.evaluate.reference_files import edf_header_start

    path = Path(path)
    try:
        annot = mne.read_annotations(path)
    except Exception as exc:  # MNE raises many types for damaged files
        raise DataError(f"cannot read annotations from {path.name}: {exc}") from None
    if len(annot) == 0:
        raise DataError(f"{path.name} holds no prediction annotation (`cwtmae predict --format "
                        "edf` writes one per window)")
    _, side = sidecar_of(path)
    header = edf_header_start(path) if annot.orig_time is None else annot.orig_time
    header = None if header is None else header.replace(tzinfo=None)
    start = _start(side)
    shift_s = (start - header).total_seconds() if start and header else 0.0
    texts = [str(t) for t in annot.description]
    labels = [BAD_LABEL if t == BAD_LABEL or t.startswith(f"{BAD_LABEL} (") else t for t in texts]
    names = _classes(path, [], side, recipe_classes)
    _check_labels(path, labels, names)
    onset_s = np.round(np.asarray(annot.onset, dtype=np.float64) - shift_s, 6)  # (W,)
    return Predictions(
        recording_id=str(side.get("recording") or path.name.removesuffix(EDF_TABLE_SUFFIX)),
        source=path,
        label_names=names,
        labels=labels,
        onset_s=onset_s,
        window_s=_one_length(path, {round(float(d), 6) for d in annot.duration}),
        start=start or header,
        checkpoint=(side.get("checkpoint") or {}).get("path"),
    )


def _number(value: str, path: Path, column: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(f"{path.name}: `{column}` value {value!r} is not a number") from None


def read_bids_events(path: Path, recipe_classes: list[str] | None = None) -> Predictions:
    """A ``<stem>_events.tsv`` of ``predict --format bids`` (see the module docstring).
    DataError when it lacks a needed column or names a label outside its classes."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            rows, columns = list(reader), list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read events file {path}: {exc}") from None
    missing = [c for c in EVENT_COLUMNS if c not in columns]
    if missing:
        raise DataError(f"{path} is not a BIDS events file of predictions (no "
                        f"{', '.join(missing)} column)")
    if not rows:
        raise DataError(f"{path.name} holds no window")
    _, side = sidecar_of(path)
    own = [c.removeprefix("prob_") for c in columns if c.startswith("prob_")]
    names = _classes(path, own, side, recipe_classes)
    labels = [str(r["trial_type"]) for r in rows]
    _check_labels(path, labels, names)
    durations = {round(_number(r["duration"], path, "duration"), 6) for r in rows}
    return Predictions(
        recording_id=str(side.get("recording") or path.name.removesuffix(EVENTS_SUFFIX)),
        source=path,
        label_names=names,
        labels=labels,
        onset_s=np.array([_number(r["onset"], path, "onset") for r in rows], dtype=np.float64),
        window_s=_one_length(path, durations),
        start=_start(side),
        checkpoint=(side.get("checkpoint") or {}).get("path"),
    )
