"""Prediction tables read back for scoring: ``<recording>_pred.tsv`` (or ``.csv`` / ``.json``)
as ``predict`` writes them, with their JSON sidecar, and ``summary.tsv`` (one row per recording).
The EDF+ and BIDS files of ``predict --format edf|bids`` are read by
:mod:`prediction_format_readers`; what a path names (any of them, or a folder) is found by
:mod:`prediction_inputs`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from cwtmae_cli.errors import DataError
from cwtmae_cli.evaluate.recording_level import SUMMARY_FILE
from cwtmae_cli.evaluate.summary import BAD_LABEL

TABLE_SUFFIXES = (".tsv", ".csv", ".json")



@dataclass
class Predictions:
    """One recording's predictions: window onsets and labels (``bad`` where QC failed), or a
    recording-level label (``onset_s`` None)."""

    recording_id: str
    source: Path
    label_names: list[str]
    labels: list[str]
    onset_s: np.ndarray | None = None  # (W,) s from the recording's first sample
    window_s: float = 0.0
    start: datetime | None = None  # clock time of the first sample (sidecar), if known
    checkpoint: str | None = None





def table_id(path: Path) -> str:
    return path.name.removesuffix(f"_pred{path.suffix}")


def _float(value: Any, path: Path, column: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(f"{path.name}: `{column}` value {value!r} is not a number") from None


def _sidecar(path: Path, doc: dict | None) -> dict:
    if doc is not None:  # a json table carries its provenance
        return doc.get("provenance") or {}
    side = path.with_name(f"{table_id(path)}_pred.json")
    try:
        return json.loads(side.read_text(encoding="utf-8")) if side.is_file() else {}
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}


def read_prediction_table(path: Path) -> Predictions:
    """A ``<recording>_pred.tsv|csv|json`` table. DataError when it is not one."""
    import csv

    path = Path(path)
    doc = None
    try:
        if path.suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or "windows" not in doc:
                raise DataError(f"{path} is not a prediction table (no `windows`)")
            rows, columns = doc["windows"], list(doc.get("columns") or [])
        else:
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh, delimiter="\t" if path.suffix == ".tsv" else ",")
                rows, columns = list(reader), list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read prediction table {path}: {exc}") from None
    missing = [c for c in ("onset_s", "duration_s", "label") if c not in columns]
    names = [c.removeprefix("prob_") for c in columns if c.startswith("prob_")]
    if missing or not names:
        what = f"no {', '.join(missing)} column" if missing else "no prob_<class> column"
        raise DataError(f"{path} is not a prediction table of `cwtmae predict` ({what})")
    onset_s = np.array([_float(r["onset_s"], path, "onset_s") for r in rows], dtype=np.float64)
    durations = {_float(r["duration_s"], path, "duration_s") for r in rows}
    if len(durations) > 1:
        raise DataError(f"{path.name}: windows of several lengths {sorted(durations)}")
    labels = [str(r["label"]) for r in rows]
    unknown = sorted(set(labels) - set(names) - {BAD_LABEL})
    if unknown:
        raise DataError(f"{path.name}: labels {', '.join(unknown)} are none of its classes")
    side = _sidecar(path, doc)
    start = None
    if side.get("recording_start"):
        try:
            start = datetime.fromisoformat(side["recording_start"]).replace(tzinfo=None)
        except (TypeError, ValueError):
            start = None
    return Predictions(
        recording_id=str((doc or {}).get("recording") or side.get("recording") or table_id(path)),
        source=path,
        label_names=names,
        labels=labels,
        onset_s=onset_s,
        window_s=durations.pop() if durations else 0.0,
        start=start,
        checkpoint=(side.get("checkpoint") or {}).get("path"),
    )


def read_summary(path: Path) -> list[Predictions]:
    """The recordings of a ``summary.tsv`` (one label per recording)."""
    import csv

    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            rows, columns = list(reader), list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    names = [c.removeprefix("prob_") for c in columns if c.startswith("prob_")]
    if "recording" not in columns or "label" not in columns or not names:
        raise DataError(f"{path} is not a {SUMMARY_FILE} of `cwtmae predict`")
    unknown = sorted({str(r["label"]) for r in rows} - set(names) - {BAD_LABEL})
    if unknown:
        raise DataError(f"{path.name}: labels {', '.join(unknown)} are none of its classes")
    return [Predictions(str(r["recording"]), path, names, [str(r["label"])]) for r in rows]


def is_table(path: Path) -> bool:
    return path.suffix in TABLE_SUFFIXES and path.name.endswith(f"_pred{path.suffix}")
