"""Prediction tables read back for scoring: ``<recording>_pred.tsv`` (or ``.csv`` / ``.json``)
as ``predict`` writes them, with their JSON sidecar, ``summary.tsv`` (one row per recording), or
a folder of them."""

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





def _table_id(path: Path) -> str:
    return path.name.removesuffix(f"_pred{path.suffix}")


def _float(value: Any, path: Path, column: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(f"{path.name}: `{column}` value {value!r} is not a number") from None


def _sidecar(path: Path, doc: dict | None) -> dict:
    if doc is not None:  # a json table carries its provenance
        return doc.get("provenance") or {}
    side = path.with_name(f"{_table_id(path)}_pred.json")
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
        recording_id=str((doc or {}).get("recording") or side.get("recording") or _table_id(path)),
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


def _is_table(path: Path) -> bool:
    return path.suffix in TABLE_SUFFIXES and path.name.endswith(f"_pred{path.suffix}")


def read_predictions(path: Path, recordings: bool) -> list[Predictions]:
    """The prediction tables at ``path`` (a table, ``summary.tsv`` or a folder of them);
    ``recordings``: one label per recording (``summary.tsv``) rather than windows."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file or folder: {path}")
    if path.is_dir():
        if recordings:
            if not (path / SUMMARY_FILE).is_file():
                raise DataError(
                    f"no {SUMMARY_FILE} in {path}: recording labels are scored against the "
                    f"recording-level answers `cwtmae predict` writes there"
                )
            return read_summary(path / SUMMARY_FILE)
        tables = sorted(p for p in path.iterdir() if _is_table(p) and p.suffix != ".json")
        stems = {_table_id(p) for p in tables}
        tables += sorted(  # json tables; the other *_pred.json are sidecars of tsv/csv tables
            p for p in path.glob("*_pred.json") if _table_id(p) not in stems
        )
        if not tables:
            raise DataError(f"no prediction table (*_pred.tsv, .csv or .json) in {path}")
        found = [read_prediction_table(p) for p in tables]
    elif path.name == SUMMARY_FILE or (
        recordings and path.suffix == ".tsv" and not _is_table(path)
    ):
        if not recordings:
            raise DataError(
                f"{path} holds one label per recording; annotation files are scored window by "
                "window: give the *_pred tables (or their folder)"
            )
        return read_summary(path)
    elif _is_table(path):
        if recordings:
            raise DataError(
                f"a CSV of recording labels is scored against {SUMMARY_FILE} (one label per "
                f"recording), not a window table such as {path.name}"
            )
        found = [read_prediction_table(path)]
    else:
        raise DataError(
            f"cannot tell the format of {path}: expected a <recording>_pred.tsv/.csv/.json "
            f"table, a {SUMMARY_FILE} or a folder of them"
        )
    names = {tuple(p.label_names) for p in found}
    if len(names) > 1:
        raise DataError(
            f"the tables in {path} have different classes: "
            + "; ".join(", ".join(n) for n in sorted(names))
        )
    return found
