"""Where a prediction came from: the JSON sidecar written beside each prediction table.

As BIDS puts ``*_events.json`` beside ``*_events.tsv``, ``predict`` writes
``<recording>_pred.json`` beside ``<recording>_pred.tsv`` (or ``.csv``): the tool version, the
checkpoint and the sha256 of its weights file, the channel asked for and its name in the file,
the file's sampling rate and the model's, window and stride, the neighbouring windows each one
was classified with (``context``), the recording's start date-time
(so that onsets can be placed in clock time) and a description of every column. With
``--format json`` the table is itself ``<recording>_pred.json``: the same document is its
``provenance`` member instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cwtmae_cli import __version__

NO_START_NOTE = (
    "the file's header gives no start date and time: onsets are seconds from the first sample "
    "and cannot be placed in clock time"
)


@dataclass(frozen=True)
class InputInfo:
    """What ``predict`` read from one recording.

    Attributes:
        channel: the channel asked for (the checkpoint's, or ``--channel``).
        channel_in_file: that channel's name in the file (matching is tolerant).
        fs_in_hz: the file's sampling rate of that channel.
        start: clock date-time of the first sample from the header (naive), or None.
        start_source: which header gave it (``EDF header``, ``WFDB header``), or None.
        padded_s: seconds of padding added to a recording shorter than one window (the
            covering window policy), else 0.
        slots: each channel asked for, in the model's order (empty: ``channel`` alone).
        names_in_file: each one's name in the file, in the same order.
    """

    channel: str
    channel_in_file: str
    fs_in_hz: float
    start: datetime | None = None
    start_source: str | None = None
    padded_s: float = 0.0
    slots: tuple[str, ...] = ()
    names_in_file: tuple[str, ...] = ()

    def channel_records(self) -> list[dict[str, str]]:
        """One ``{"requested", "name_in_file"}`` per channel read, in the model's order."""
        if not self.slots:
            return [{"requested": self.channel, "name_in_file": self.channel_in_file}]
        return [{"requested": slot, "name_in_file": name}
                for slot, name in zip(self.slots, self.names_in_file, strict=True)]


def describe_reading(info: InputInfo, fs_hz: float) -> str:
    """One status line: the channel read, the resampling, the start (or that it is unknown)."""
    if math.isclose(info.fs_in_hz, fs_hz):
        rate = f"{fs_hz:g} Hz (no resampling)"
    else:
        rate = f"resampled {info.fs_in_hz:g} Hz → {fs_hz:g} Hz"
    start = info.start.isoformat() if info.start else "unknown (no date-time in the header)"
    channel = info.channel_in_file
    if info.channel_in_file != info.channel:
        channel = f"{info.channel_in_file} (for {info.channel})"
    return f"channel {channel}, {rate}, start {start}"


def column_descriptions(label_names: list[str]) -> dict[str, dict[str, str]]:
    """BIDS-style descriptions of the table's columns."""
    columns = {
        "onset_s": {
            "Description": "Window onset from the first sample of the recording",
            "Units": "s",
        },
        "duration_s": {"Description": "Window length", "Units": "s"},
        "label": {
            "Description": "Predicted class (the most probable); `bad` when quality control "
            "failed and the window was not classified",
        },
        "confidence": {"Description": "Probability of the predicted class (n/a for bad windows)"},
    }
    for name in label_names:
        columns[f"prob_{name}"] = {"Description": f"Probability of class {name}"}
    columns["quality"] = {
        "Description": "`ok`, or why quality control rejected the window (`flat`, `non-finite`)"
    }
    return columns


def context_record(model_config: dict[str, Any], context: int) -> dict[str, Any]:
    """``{"windows", "trained", "stride_s"}``: the ``context`` windows each window was classified
    with, of the ``trained`` the checkpoint saw, ``stride_s`` apart (None for one window)."""
    stride = model_config.get("context_stride_s") if context > 1 else None
    return {"windows": int(context), "trained": int(model_config.get("context", 1)),
            "stride_s": None if stride is None else float(stride)}


def prediction_provenance(
    table: Any,
    checkpoint: Path,
    weights_sha256: str,
    fs_hz: float,
    n_samples: int,
    table_file: str,
    window_policy: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The sidecar document of one prediction table (``table.input`` must be set).

    ``context``: ``{"windows": k, "trained": K, "stride_s": s}``, the neighbourhood each window
    was classified in (k = 1 and stride None for a single-window model)."""
    info: InputInfo = table.input
    doc: dict[str, Any] = {
        "tool": "cwtmae",
        "tool_version": __version__,
        "created_utc": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "recording": table.recording_id,
        "source": str(table.source),
        "table": table_file,
        "checkpoint": {
            "path": str(Path(checkpoint).resolve()),
            "weights_file": "model.safetensors",
            "weights_sha256": weights_sha256,
        },
        "channels": info.channel_records(),
        "input_fs_hz": info.fs_in_hz,
        "model_fs_hz": fs_hz,
        "resampled": not math.isclose(info.fs_in_hz, fs_hz),
        "window_s": table.window_s,
        "stride_s": table.stride_s,
        "n_samples_per_window": n_samples,
        "window_policy": window_policy,
        "padded_s": info.padded_s,
        "context": context or {"windows": 1, "trained": 1, "stride_s": None},
        "label_names": list(table.label_names),
        "recording_start": info.start.isoformat() if info.start else None,
        "recording_start_source": info.start_source if info.start else None,
    }
    if info.start is None:
        doc["recording_start_note"] = NO_START_NOTE
    else:
        doc["recording_start_note"] = (
            "local clock time as written in the header (no time zone); a window's clock time "
            "is recording_start + onset_s"
        )
    doc["columns"] = column_descriptions(list(table.label_names))
    return doc
