"""The per-window prediction table of one recording and its TSV / CSV / JSON files.

Columns, in order: ``onset_s``, ``duration_s``, ``label``, ``confidence``, ``prob_<class>`` for
every class of the model, ``quality``. A window that failed quality control has label ``bad``, its
reason (``flat``, ``non-finite``) in ``quality`` and empty confidence and probabilities; a
classified window has ``quality`` ``ok``.

- ``tsv`` (default) follows BIDS ``*_events.tsv`` habits: tab-separated, a header line, ``n/a`` for
  an empty cell, onsets in seconds from the start of the recording.
- ``csv``: comma-separated, an empty cell for an empty value.
- ``json``: ``{"recording", "source", "label_names", "columns", "summary", "windows": [{...}]}``
  with ``null`` for empty values, and ``provenance`` when one is given (for tsv and csv that
  document is the ``<recording>_pred.json`` sidecar instead; see :mod:`provenance`).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cwtmae_cli.evaluate.provenance import InputInfo
from cwtmae_cli.evaluate.summary import BAD_LABEL, recording_summary

TABLE_FORMATS = ("tsv", "csv", "json")  # predict writes more (prediction_formats.FORMATS)
OK_QUALITY = "ok"


@dataclass
class PredictionTable:
    """Per-window predictions of one recording.

    Attributes:
        recording_id: name of the recording (file stem or WFDB record name).
        source: the file or record the windows came from.
        label_names: the model's K classes.
        window_s: window length in seconds (every row's ``duration_s``).
        stride_s: seconds between window onsets.
        onset_s: (W,) float64 window onsets in seconds from the recording start.
        probs: (W, K) float32 class probabilities; rows of ``bad`` windows are NaN.
        quality: (W,) ``None`` for a classified window, else the quality-control reason.
        input: what was read from the file (channel, rate, start), when known.
    """

    recording_id: str
    source: str
    label_names: list[str]
    window_s: float
    stride_s: float
    onset_s: np.ndarray
    probs: np.ndarray
    quality: list[str | None]
    input: InputInfo | None = None
    summary: dict = field(init=False)

    def __post_init__(self) -> None:
        n_windows = len(self.onset_s)
        if self.probs.shape != (n_windows, len(self.label_names)) or len(self.quality) != n_windows:
            raise ValueError(
                f"onset_s ({n_windows},), probs {self.probs.shape} and quality "
                f"({len(self.quality)},) do not fit {len(self.label_names)} classes"
            )
        self.summary = recording_summary(
            self.labels, self.onset_s, self.label_names, self.window_s, self.stride_s
        )

    @property
    def labels(self) -> list[str]:
        """(W,) predicted class name of each window, ``bad`` where quality control failed."""
        best = np.argmax(np.nan_to_num(self.probs, nan=-1.0), axis=1) if len(self.probs) else []
        return [
            BAD_LABEL if reason is not None else self.label_names[int(k)]
            for k, reason in zip(best, self.quality, strict=True)
        ]

    @property
    def confidence(self) -> np.ndarray:
        """(W,) probability of the predicted class; NaN for ``bad`` windows."""
        if not len(self.probs):
            return np.zeros(0, dtype=np.float32)
        return np.max(self.probs, axis=1)

    @property
    def columns(self) -> list[str]:
        probs = [f"prob_{name}" for name in self.label_names]
        return ["onset_s", "duration_s", "label", "confidence", *probs, "quality"]

    def rows(self) -> list[list]:
        """One list per window, in :attr:`columns` order; ``None`` marks an empty value."""
        out = []
        for i, label in enumerate(self.labels):
            bad = self.quality[i] is not None
            probs = [None] * len(self.label_names) if bad else [float(p) for p in self.probs[i]]
            out.append(
                [
                    float(self.onset_s[i]),
                    float(self.window_s),
                    label,
                    None if bad else float(self.confidence[i]),
                    *probs,
                    self.quality[i] if bad else OK_QUALITY,
                ]
            )
        return out


def _cell(value, empty: str) -> str:
    if value is None:
        return empty
    if isinstance(value, float):
        return repr(round(value, 6))  # microsecond / 1e-6 resolution, no exponent for onsets
    return str(value)


def write_table(
    table: PredictionTable, path: Path, fmt: str = "tsv", provenance: dict | None = None
) -> Path:
    """Write ``table`` to ``path`` as ``fmt`` (tsv, csv or json); returns ``path``.
    ``provenance`` goes into a json table (tsv and csv get it as a sidecar, not here)."""
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(TABLE_FORMATS)}")
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        if fmt == "json":
            doc = {
                "recording": table.recording_id,
                "source": table.source,
                "label_names": table.label_names,
                "columns": table.columns,
                "summary": table.summary,
                "windows": [dict(zip(table.columns, row, strict=True)) for row in table.rows()],
            }
            if provenance is not None:
                doc["provenance"] = provenance
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        else:
            empty = "n/a" if fmt == "tsv" else ""
            writer = csv.writer(fh, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
            writer.writerow(table.columns)
            for row in table.rows():
                writer.writerow([_cell(v, empty) for v in row])
    tmp.replace(path)
    return path


def read_table(path: Path) -> list[dict]:
    """Rows of a written TSV/CSV/JSON prediction file as dicts (strings for TSV/CSV; for tests
    and for users' scripts)."""
    path = Path(path)
    if path.suffix == ".json":
        return json.loads(path.read_text())["windows"]
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t" if path.suffix == ".tsv" else ","))
