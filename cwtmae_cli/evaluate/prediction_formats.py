"""Prediction files that other tools open: EDF+ annotations and BIDS events.

- ``edf``: ``<recording>_pred.edf``, an EDF+C file with one annotation per window (onset and
  duration in seconds from the recording's first sample, the predicted class as its text,
  ``bad (<reason>)`` for a window quality control rejected), for ``mne.read_annotations`` and
  EDFbrowser. Beside the annotation signal it holds one flat 1-Hz signal, ``Dummy``, that only
  spans the recording (readers that refuse a file without an ordinary signal open it; its values
  mean nothing). The header's start is the recording's own (so EDFbrowser lines the annotations
  up with the recording), or EDF+'s unknown date when the recording gave none.
- ``bids``: ``<recording>_events.tsv`` with the BIDS columns ``onset``, ``duration``,
  ``trial_type`` (the predicted class, ``bad`` when not classified) and ``value`` (the class's
  index in the model's classes, ``n/a`` for ``bad``), then ``confidence``, ``prob_<class>`` and
  ``quality``; and ``<recording>_events.json`` describing every column (BIDS sidecar). A
  recording id that is a BIDS name (``sub-01_task-sleep_eeg``) loses its data-type suffix
  (``sub-01_task-sleep_events.tsv``), as BIDS names events files.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime
from pathlib import Path

from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.evaluate.prediction_paths import write_json
from cwtmae_cli.evaluate.provenance import column_descriptions
from cwtmae_cli.evaluate.summary import BAD_LABEL
from cwtmae_cli.evaluate.table import TABLE_FORMATS, PredictionTable, write_table

FORMATS = (*TABLE_FORMATS, "edf", "bids")
EDF_RECORD_S = 60  # data-record length of the EDF+ file (1 Hz dummy: 60 samples a record)


def edf_annotations(table: PredictionTable) -> list[tuple[float, float, str]]:
    """(onset_s, duration_s, text) of each window: its class, ``bad (<reason>)`` if rejected."""
    return [
        (
            round(float(onset), 6),
            float(table.window_s),
            label if reason is None else f"{BAD_LABEL} ({reason})",
        )
        for onset, label, reason in zip(table.onset_s, table.labels, table.quality, strict=True)
    ]


def _edf_start(start: datetime | None) -> datetime | None:
    """The header's start: whole seconds, None (unknown) outside EDF's years 1985-2084."""
    if start is None or not 1985 <= start.year <= 2084:
        return None
    return start.replace(microsecond=0)


def write_edf_annotations(table: PredictionTable, path: Path) -> Path:
    """Write ``table`` as the EDF+C annotation file ``path`` (see the module docstring).

    Onsets are seconds from the recording's first sample; a header start in whole seconds drops
    a fraction of a second of a WFDB start time, so that fraction is added to every onset to
    keep clock times right.
    """
    start = table.input.start if table.input else None
    header_start = _edf_start(start)
    shift_s = (start - header_start).total_seconds() if header_start and start else 0.0
    annotations = [(o + shift_s, d, text) for o, d, text in edf_annotations(table)]
    span_s = max((o + d for o, d, _ in annotations), default=float(table.window_s))
    n_records = max(1, math.ceil(span_s / EDF_RECORD_S))
    dummy = [0.0] * (n_records * EDF_RECORD_S)  # 1 Hz
    tmp = Path(path).with_name(Path(path).name + ".part.edf")
    write_edf(
        tmp,
        [dummy],
        [1.0],
        ["Dummy"],
        units="",
        annotations=annotations,
        record_duration_s=EDF_RECORD_S,
        start=header_start,
        patient_name="X",
    )
    tmp.replace(path)
    return Path(path)


def _cell(value) -> str:
    if value is None:
        return "n/a"
    return repr(round(value, 6)) if isinstance(value, float) else str(value)


def bids_rows(table: PredictionTable) -> tuple[list[str], list[list[str]]]:
    """The columns of the events file and its rows as text (``n/a`` for an empty cell)."""
    probs = [f"prob_{name}" for name in table.label_names]
    columns = ["onset", "duration", "trial_type", "value", "confidence", *probs, "quality"]
    index = {name: k for k, name in enumerate(table.label_names)}
    rows = []
    for onset, duration, label, confidence, *rest in table.rows():
        value = None if label == BAD_LABEL else index[label]
        rows.append([_cell(v) for v in (onset, duration, label, value, confidence, *rest)])
    return columns, rows


def bids_sidecar(label_names: list[str]) -> dict:
    """The ``_events.json`` document: a BIDS description of every column."""
    described = column_descriptions(list(label_names))
    levels = {name: f"predicted class {name}" for name in label_names}
    levels[BAD_LABEL] = "not classified: the window failed quality control (see `quality`)"
    doc = {
        "onset": {**described["onset_s"], "Units": "s"},
        "duration": described["duration_s"],
        "trial_type": {
            "LongName": "Predicted class",
            "Description": "The most probable class of the window",
            "Levels": levels,
        },
        "value": {
            "Description": "Index of the predicted class in the model's classes (n/a for bad)",
            "Levels": {str(k): name for k, name in enumerate(label_names)},
        },
    }
    doc.update({k: v for k, v in described.items() if k not in ("onset_s", "duration_s", "label")})
    return doc


def write_bids_events(table: PredictionTable, tsv_path: Path, json_path: Path) -> Path:
    """Write ``table`` as ``<stem>_events.tsv`` and its ``_events.json``; returns the tsv."""
    columns, rows = bids_rows(table)
    tmp = Path(tsv_path).with_name(Path(tsv_path).name + ".part")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    tmp.replace(tsv_path)
    write_json(json_path, bids_sidecar(table.label_names))
    return Path(tsv_path)


def write_prediction_file(
    table: PredictionTable, path: Path, fmt: str, provenance: dict | None = None
) -> list[Path]:
    """Write ``table`` as ``fmt`` (one of :data:`FORMATS`) at ``path``; the files written, the
    prediction file first (``bids`` adds its ``_events.json``). ``provenance`` goes into a json
    table only."""
    if fmt == "edf":
        return [write_edf_annotations(table, path)]
    if fmt == "bids":
        json_path = Path(path).with_suffix(".json")
        return [write_bids_events(table, path, json_path), json_path]
    return [write_table(table, path, fmt, provenance=provenance)]
