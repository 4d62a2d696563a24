"""One recording, start to finish: read, resample, cut, label, trim, quality-check.

:func:`process_item` runs in a worker process and returns only the kept windows and a
description; the writer (main process) appends them to the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cwtmae_cli.data.gaps import GapFiller, gap_samples
from cwtmae_cli.data.labels import UNLABELLED, LabelSpec, label_windows, wake_trim_mask
from cwtmae_cli.data.readers.channels import slot_matches
from cwtmae_cli.data.readers.dispatch import RecordingStream, open_recording
from cwtmae_cli.data.readers.recording import Recording
from cwtmae_cli.data.recipes.recipe import Recipe
from cwtmae_cli.data.recipes.sources import SourceItem
from cwtmae_cli.data.resample import resample, resample_range, resampled_length
from cwtmae_cli.data.window_policy import cut_policy_windows
from cwtmae_cli.data.windows import count_windows, cut_windows, quality_reasons, window_samples
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
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    info = stream_item(item, recipe, lambda *part: parts.append(part), block_windows=None)
    if len(parts) == 1:
        return ProcessedRecording(info, *parts[0])
    signals, labels, start_s = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    return ProcessedRecording(info, signals, labels, start_s)


# emit(signals (w, C, L) float32, labels (w,) int16, start_s (w,) float64): kept windows, in order
Emit = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


def stream_item(
    item: SourceItem, recipe: Recipe, emit: Emit, block_windows: int | None = 256
) -> dict:
    """:func:`process_item` in blocks: the kept windows of every ``block_windows`` windows cut
    go to ``emit`` as soon as they are made; returns the recording's ``info``.

    EDF/BDF files are read (and resampled) block by block, so memory does not grow with the
    recording's length; ``block_windows=None`` reads the recording whole. Both give the same
    windows, bit for bit (:func:`~cwtmae_cli.data.resample.resample_range`).
    """
    if item.problem:
        raise DataError(f"{item.recording_id}: {item.problem}")
    _check_recording_label(item, recipe)
    stream, duration_s = _open_stream(item, recipe)
    rec, sig, policy = stream.recording, recipe.signal, recipe.window_policy
    offset_s = 0.0
    if sig.align_to_annotations and rec.intervals:
        offset_s = min(iv.onset_s for iv in rec.intervals) % sig.window_s
    dropped: Counter[str] = Counter()
    gaps = GapFiller(stream.read, stream.n_samples, gap_samples(recipe.max_gap_s, rec.fs_hz))

    def keep(windows: np.ndarray, start_s: np.ndarray) -> None:
        _emit_kept(item, recipe, rec.intervals, windows, start_s, emit, dropped)

    n_pad = 0
    plain = not policy.cover and policy.stride_s == policy.window_s
    source = (gaps, stream.n_samples, rec.fs_hz)
    if block_windows is None or not plain:  # overlapping or covering windows: read it whole
        n_cut, n_pad = _cut_whole(*source, recipe, offset_s, plain, keep)
    else:
        n_cut = _cut_blocks(*source, recipe, offset_s, block_windows, keep)
        gaps.count_unread()  # the gaps no window reached count too, as in a whole read
    return _info(item, recipe, rec, duration_s, n_cut, n_pad, dropped, gaps)


def _open_stream(item: SourceItem, recipe: Recipe) -> tuple[RecordingStream, float]:
    """The recording opened for reading, and its duration; DataError when it is shorter than
    one window (and the recipe does not pad)."""
    sig = recipe.signal
    stream = open_recording(
        item.path,
        list(sig.channels) or None,
        item.annotations,
        subject=item.subject,
        recording_id=item.recording_id,
        first_channel_fallback=sig.first_channel_fallback,
        read_annotations=recipe.source.annotations != "none",
        epoch_s=recipe.source.epoch_s or sig.window_s,
    )
    duration_s = stream.n_samples / stream.recording.fs_hz
    if duration_s < sig.window_s and not recipe.window_policy.cover:
        raise DataError(
            f"{item.recording_id}: recording is {duration_s:.1f} s long, shorter than one "
            f"{sig.window_s:g}-s window"
        )
    return stream, duration_s


# keep(windows (w, C, L), start_s (w,)): label, trim and check windows; emit the kept ones
Keep = Callable[[np.ndarray, np.ndarray], None]


def _cut_whole(
    gaps: GapFiller,
    n_in: int,
    fs_in: float,
    recipe: Recipe,
    offset_s: float,
    plain: bool,
    keep: Keep,
) -> tuple[int, int]:
    """Windows ``offset_s`` after the start of a recording of ``n_in`` samples at ``fs_in``,
    read and resampled whole, to ``keep``; returns the number cut and the samples of padding (a
    covering policy)."""
    sig, policy = recipe.signal, recipe.window_policy
    signal = resample(gaps.read(0, n_in), fs_in, sig.fs_hz)  # (C, m)
    n_pad = 0
    if plain:
        windows, start_s = cut_windows(signal, sig.fs_hz, sig.window_s, start_s=offset_s)
    else:
        first = int(round(offset_s * sig.fs_hz))
        windows, start_s, n_pad = cut_policy_windows(signal[:, first:], sig.fs_hz, policy)
        start_s = start_s + first / sig.fs_hz
    del signal
    keep(windows, start_s)
    return len(start_s), n_pad


def _cut_blocks(
    gaps: GapFiller,
    n_in: int,
    fs_in: float,
    recipe: Recipe,
    offset_s: float,
    block_windows: int,
    keep: Keep,
) -> int:
    """Plain windows ``offset_s`` after the start of a recording of ``n_in`` samples at
    ``fs_in``, read and resampled ``block_windows`` at a time, to ``keep``; returns the number
    cut."""
    sig = recipe.signal
    n_out = resampled_length(n_in, fs_in, sig.fs_hz)
    n_samples = window_samples(sig.window_s, sig.fs_hz)
    first = int(round(offset_s * sig.fs_hz))
    n_windows = count_windows(n_out, n_samples, n_samples, first)
    for b in range(0, n_windows, block_windows):
        n_block = min(block_windows, n_windows - b)
        begin = first + b * n_samples
        end = begin + n_block * n_samples
        block = resample_range(gaps.read, n_in, fs_in, sig.fs_hz, begin, end)  # (C, n_block * L)
        windows, _ = cut_windows(block, sig.fs_hz, sig.window_s)  # (n_block, C, L)
        keep(windows, (begin + np.arange(n_block) * n_samples) / sig.fs_hz)  # start_s (n_block,)
    return n_windows


def _info(
    item: SourceItem,
    recipe: Recipe,
    rec: Recording,
    duration_s: float,
    n_cut: int,
    n_pad: int,
    dropped: Counter,
    gaps: GapFiller,
) -> dict:
    """The recording's description in the store (``recordings`` attribute)."""
    sig = recipe.signal
    info = {
        "id": item.recording_id,
        "subject": item.subject,
        "source_files": rec.source_files,
        "file_channels": rec.channels,
        # per slot: True when the file lacks the slot's names and its first channel was read
        "channel_fallback": [
            not slot_matches(slot, name)
            for slot, name in zip(sig.channels, rec.channels, strict=False)
        ],
        "fs_hz_in": rec.fs_hz,
        "duration_s": round(duration_s, 3),
        "n_windows_cut": n_cut,
        "dropped": dict(sorted(dropped.items())),
        # short runs of non-finite samples bridged by linear interpolation (data/gaps.py)
        "gaps_interpolated": gaps.n_gaps,
        "gap_samples_interpolated": gaps.n_samples_filled,
    }
    if item.label is not None:
        info["label"] = item.label
    if recipe.window_policy.cover:
        info["padded_s"] = round(n_pad / sig.fs_hz, 3)
    return info


def _check_recording_label(item: SourceItem, recipe: Recipe) -> None:
    """DataError when a recording-level label (a reference CSV) is outside the label map;
    checked before the recording is read."""
    if item.label is None or recipe.labels is None:
        return
    try:
        recipe.labels.class_of(item.label)
    except DataError:
        known = ", ".join(sorted(recipe.labels.map)) or ", ".join(recipe.labels.names)
        where = recipe.source.reference_file or "the label file"
        raise DataError(
            f"{item.recording_id}: label `{item.label}` in {where} is not in the recipe's "
            f"label map ({known})"
        ) from None


def _recording_labels(
    label: str, spec: LabelSpec, n_windows: int
) -> tuple[np.ndarray, list[str | None]]:
    """Every window of a recording takes its recording-level ``label``: ``(W,)`` labels and
    drop reasons, as :func:`label_windows` returns them."""
    labels = np.full(n_windows, UNLABELLED, dtype=np.int16)
    cls = spec.class_of(label)
    if cls == "drop":
        return labels, [f"label {label}"] * n_windows
    if cls != "unlabelled":
        labels[:] = cls
    return labels, [None] * n_windows


def _emit_kept(
    item: SourceItem,
    recipe: Recipe,
    intervals: list,
    windows: np.ndarray,
    start_s: np.ndarray,
    emit: Emit,
    dropped: Counter,
) -> None:
    """Label, wake-trim and quality-check ``windows`` (W, C, L); emit the kept ones and count
    the others in ``dropped`` by reason."""
    sig = recipe.signal
    n_cut = len(start_s)
    reasons: list[str | None] = [None] * n_cut
    labels = np.full(n_cut, UNLABELLED, dtype=np.int16)
    if recipe.labels is not None and item.label is not None:
        labels, reasons = _recording_labels(item.label, recipe.labels, n_cut)
    elif recipe.labels is not None:
        try:
            labels, reasons = label_windows(start_s, sig.window_s, intervals, recipe.labels)
        except DataError as exc:  # an annotation the label map does not know: say whose
            where = item.annotations.name if item.annotations else item.recording_id
            raise DataError(f"{item.recording_id}: {exc} (in {where})") from None
        trim = recipe.trim_wake
        if trim is not None and trim.enabled:
            inside = wake_trim_mask(
                start_s, sig.window_s, intervals, recipe.labels, trim.wake, trim.minutes
            )
            trimmed = [None if ok else "wake-trimmed" for ok in inside]
            reasons = [r or t for r, t in zip(reasons, trimmed, strict=True)]
    quality = quality_reasons(windows, recipe.flat_ptp)
    reasons = [r or q for r, q in zip(reasons, quality, strict=True)]
    keep = np.array([r is None for r in reasons], dtype=bool)
    dropped.update(r for r in reasons if r is not None)
    emit(windows[keep], labels[keep], start_s[keep])


def check_window(recipe: Recipe) -> int:
    """Samples per window of ``recipe`` (ConfigError when not whole)."""
    return window_samples(recipe.signal.window_s, recipe.signal.fs_hz)
