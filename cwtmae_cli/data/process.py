"""One recording, start to finish: read, resample, cut, label, trim, quality-check.

:func:`process_item` runs in a worker process and returns only the kept windows and a
description; the writer (main process) appends them to the store.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from cwtmae_cli.data.labels import UNLABELLED, label_windows, wake_trim_mask
from cwtmae_cli.data.readers import read_recording
from cwtmae_cli.data.recipes import Recipe
from cwtmae_cli.data.resample import resample
from cwtmae_cli.data.sources import SourceItem
from cwtmae_cli.data.windows import cut_windows, quality_reasons, window_samples
from cwtmae_cli.errors import DataError


@dataclass
class ProcessedRecording:
    """Kept windows of one recording: ``signals`` (W, C, L) float32, ``labels`` (W,) int16,
    ``start_s`` (W,) float64, and ``info`` (id, subject, source_files, channels, dropped...)."""

    info: dict
    signals: np.ndarray
    labels: np.ndarray
    start_s: np.ndarray


def process_item(item: SourceItem, recipe: Recipe) -> ProcessedRecording:
    """Turn one source recording into kept windows. DataError when it cannot be used."""
    if item.problem:
        raise DataError(f"{item.recording_id}: {item.problem}")
    sig = recipe.signal
    rec = read_recording(
        item.path,
        list(sig.channels) or None,
        item.annotations,
        subject=item.subject,
        recording_id=item.recording_id,
        first_channel_fallback=sig.first_channel_fallback,
        read_annotations=recipe.source.annotations != "none",
    )
    if rec.duration_s < sig.window_s:
        raise DataError(
            f"{item.recording_id}: recording is {rec.duration_s:.1f} s long, shorter than one "
            f"{sig.window_s:g}-s window"
        )
    signal = resample(rec.signal, rec.fs_hz, sig.fs_hz)  # (C, m)
    offset_s = 0.0
    if sig.align_to_annotations and rec.intervals:
        offset_s = min(iv.onset_s for iv in rec.intervals) % sig.window_s
    windows, start_s = cut_windows(signal, sig.fs_hz, sig.window_s, start_s=offset_s)
    del signal
    n_cut = len(start_s)
    reasons: list[str | None] = [None] * n_cut
    labels = np.full(n_cut, UNLABELLED, dtype=np.int16)
    if recipe.labels is not None:
        try:
            labels, reasons = label_windows(start_s, sig.window_s, rec.intervals, recipe.labels)
        except DataError as exc:  # an annotation the label map does not know: say whose
            where = item.annotations.name if item.annotations else item.recording_id
            raise DataError(f"{item.recording_id}: {exc} (in {where})") from None
        trim = recipe.trim_wake
        if trim is not None and trim.enabled:
            inside = wake_trim_mask(
                start_s, sig.window_s, rec.intervals, recipe.labels, trim.wake, trim.minutes
            )
            trimmed = [None if ok else "wake-trimmed" for ok in inside]
            reasons = [r or t for r, t in zip(reasons, trimmed, strict=True)]
    quality = quality_reasons(windows, recipe.flat_ptp)
    reasons = [r or q for r, q in zip(reasons, quality, strict=True)]
    keep = np.array([r is None for r in reasons], dtype=bool)
    dropped = Counter(r for r in reasons if r is not None)
    info = {
        "id": item.recording_id,
        "subject": item.subject,
        "source_files": rec.source_files,
        "file_channels": rec.channels,
        "fs_hz_in": rec.fs_hz,
        "duration_s": round(rec.duration_s, 3),
        "n_windows_cut": n_cut,
        "dropped": dict(sorted(dropped.items())),
    }
    return ProcessedRecording(info, windows[keep], labels[keep], start_s[keep])


def check_window(recipe: Recipe) -> int:
    """Samples per window of ``recipe`` (ConfigError when not whole)."""
    return window_samples(recipe.signal.window_s, recipe.signal.fs_hz)
