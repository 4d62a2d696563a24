"""A complete store written from arrays in memory, in one go (tests, synthetic data sets).

The store is the one ``prepare`` writes (same writer, same commit and ``finish``), with a
seeded, class-aware subject-wise split unless the caller gives one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cwtmae_cli.data.split import assign_splits, subject_class_counts
from cwtmae_cli.data.store.writer import StoreWriter


def write_store_from_arrays(
    path: Path | str,
    signals: np.ndarray,
    labels: np.ndarray,
    recording: np.ndarray,
    start_s: np.ndarray,
    *,
    fs_hz: float,
    window_s: float,
    channels: list[str],
    label_names: list[str],
    subjects: list[str],
    recording_ids: list[str] | None = None,
    split_fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    split: np.ndarray | None = None,
) -> Path:
    """Write a complete store in one go (tests, synthetic data sets). Overwrites ``path``.

    ``signals`` (N, C, L), ``labels`` (N,), ``recording`` (N,) indexes ``subjects`` (one subject
    per recording), ``start_s`` (N,). ``split`` (N,) overrides the seeded, class-aware
    subject-wise split (:func:`~cwtmae_cli.data.split.assign_splits`).
    """
    signals = np.asarray(signals, dtype=np.float32)
    recording = np.asarray(recording, dtype=np.int32)
    _check_shapes(signals, labels, recording, start_s, channels, subjects)
    n_windows, n_channels, n_samples = signals.shape
    ids = recording_ids or [f"rec{i:04d}" for i in range(len(subjects))]
    if split is None:
        split = _subject_split(labels, recording, subjects, label_names, split_fractions, seed)
    split = np.asarray(split, dtype=np.int8)
    attrs = {
        "fs_hz": float(fs_hz),
        "window_s": float(window_s),
        "n_samples": int(n_samples),
        "channels": list(channels),
        "label_names": list(label_names),
        "recipe": {"name": "arrays", "seed": seed, "split_fractions": list(split_fractions)},
    }
    writer = StoreWriter.create(Path(path), n_channels=n_channels, n_samples=n_samples, attrs=attrs)
    _fill(
        writer, n_windows, signals=signals, labels=np.asarray(labels, np.int16),
        recording=recording, start_s=np.asarray(start_s, np.float64), split=split,
    )
    recordings = _recordings_attr(ids, subjects, recording, split)
    writer.group.update_attributes({"recordings": recordings, "n_committed": n_windows})
    writer.finish(skipped=[])
    return Path(path)


def _fill(writer: StoreWriter, n_windows: int, **values: np.ndarray) -> None:
    """Every array of the store resized to ``n_windows`` and filled with ``values[name]``."""
    for name, array in writer.arrays.items():
        array.resize((n_windows, *array.shape[1:]))
        if n_windows:
            array[:] = values[name]


def _check_shapes(
    signals: np.ndarray,
    labels: np.ndarray,
    recording: np.ndarray,
    start_s: np.ndarray,
    channels: list[str],
    subjects: list[str],
) -> None:
    """ValueError unless the arrays describe the same windows and ``recording`` indexes
    ``subjects``."""
    if signals.ndim != 3:
        raise ValueError(f"signals must be (N, C, L), got shape {signals.shape}")
    n_windows, n_channels, _ = signals.shape
    for name, arr in (("labels", labels), ("recording", recording), ("start_s", start_s)):
        if len(arr) != n_windows:
            raise ValueError(f"{name} has {len(arr)} entries for {n_windows} windows")
    if len(channels) != n_channels:
        raise ValueError(f"{len(channels)} channel names for {n_channels} channels")
    if n_windows and (recording.min() < 0 or recording.max() >= len(subjects)):
        raise ValueError("recording indices must index `subjects`")


def _subject_split(
    labels: np.ndarray,
    recording: np.ndarray,
    subjects: list[str],
    label_names: list[str],
    split_fractions: tuple[float, float, float],
    seed: int,
) -> np.ndarray:
    """The split code of each window ``(N,)``: the seeded, class-aware subject-wise split."""
    labels_arr = np.asarray(labels, dtype=np.int64)
    counts = subject_class_counts(labels_arr, recording, subjects, len(label_names))
    by_subject = assign_splits(counts, split_fractions, seed)
    rec_split = np.array([by_subject[s] for s in subjects], dtype=np.int8)
    return rec_split[recording] if len(recording) else np.zeros(0, np.int8)


def _recordings_attr(
    ids: list[str], subjects: list[str], recording: np.ndarray, split: np.ndarray
) -> list[dict]:
    """The ``recordings`` attribute: one entry per recording, its split -1 when its windows
    are in more than one split (an overriding ``split``)."""
    recordings = []
    for r, (rid, subject) in enumerate(zip(ids, subjects, strict=True)):
        mine = recording == r
        codes = np.unique(split[mine])
        recordings.append(
            {
                "id": rid,
                "subject": subject,
                "source_files": [],
                "dropped": {},
                "n_windows": int(mine.sum()),
                "split": int(codes[0]) if len(codes) == 1 else -1,
            }
        )
    return recordings
