"""Reading a prepared store (SPEC §3): zarr v3 group with five window-aligned arrays.

=============  ===============  =====================================================
array          dtype, shape     meaning
=============  ===============  =====================================================
``signals``    float32 (N,C,L)  windows in physical units, channels in recipe order
``labels``     int16 (N,)       class index into ``label_names``; -1 = unlabelled
``recording``  int32 (N,)       index into the ``recordings`` attribute
``start_s``    float64 (N,)     window start, seconds from the recording start
``split``      int8 (N,)        0 train, 1 validation, 2 test (per subject); -1 until done
=============  ===============  =====================================================

Only the first ``n_committed`` windows (an attribute updated after each whole recording) are
visible through :class:`Store`; anything past it belongs to a recording being written or to an
interrupted run, and is never shown.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from cwtmae_cli.data.readers.channels import slot_usage
from cwtmae_cli.data.split import SPLIT_NAMES
from cwtmae_cli.errors import StoreError

SCHEMA_VERSION = 1
ARRAY_NAMES = ("signals", "labels", "recording", "start_s", "split")


class _CommittedPrefix:
    """The first ``n`` rows of a zarr array (used only while a store is partly written)."""

    def __init__(self, array: Any, n: int) -> None:
        self._array, self._n = array, n
        self.shape = (n, *array.shape[1:])
        self.dtype, self.chunks = array.dtype, array.chunks

    def __len__(self) -> int:
        return self._n

    def _rows(self, key: Any) -> Any:
        if isinstance(key, slice):
            return slice(*key.indices(self._n))
        if isinstance(key, (int, np.integer)):
            if not -self._n <= key < self._n:
                raise IndexError(f"index {key} out of range for {self._n} windows")
            return int(key) % self._n
        idx = np.asarray(key)
        if idx.dtype == bool:
            return np.flatnonzero(idx[: self._n])
        if idx.size and (idx.max() >= self._n or idx.min() < -self._n):
            raise IndexError(f"index out of range for {self._n} windows")
        return idx % self._n

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            return self._array[(self._rows(key[0]), *key[1:])]
        if key is Ellipsis:
            return self._array[: self._n]
        rows = self._rows(key)
        if isinstance(rows, np.ndarray):
            return self._array.get_orthogonal_selection(rows)
        return self._array[rows]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self._array[: self._n]
        return data if dtype is None else data.astype(dtype)


class Store:
    """A read-only view of a prepared store. Open it with :func:`open_store`."""

    def __init__(self, path: Path, group: Any) -> None:
        self.path = Path(path)
        self.group = group
        self.attrs: dict = group.attrs.asdict()
        self.n_windows = int(self.attrs.get("n_committed", 0))
        for name in ARRAY_NAMES:
            array = group[name]
            if array.shape[0] < self.n_windows:
                raise StoreError(
                    f"store {path} is damaged: `{name}` has {array.shape[0]} windows but "
                    f"{self.n_windows} are committed; prepare it again with --overwrite"
                )
            view = (
                array
                if array.shape[0] == self.n_windows
                else _CommittedPrefix(array, self.n_windows)
            )
            setattr(self, name, view)

    def __len__(self) -> int:
        return self.n_windows

    @property
    def fs_hz(self) -> float:
        return float(self.attrs["fs_hz"])

    @property
    def window_s(self) -> float:
        return float(self.attrs["window_s"])

    @property
    def n_samples(self) -> int:
        return int(self.signals.shape[2])

    @property
    def channels(self) -> list[str]:
        return list(self.attrs["channels"])

    @property
    def label_names(self) -> list[str]:
        return list(self.attrs["label_names"])

    @property
    def recordings(self) -> list[dict]:
        return list(self.attrs.get("recordings", []))

    @property
    def complete(self) -> bool:
        """True when ``prepare`` finished (every recording of the source was processed)."""
        return bool(self.attrs.get("complete", False))

    @property
    def chunk_windows(self) -> int:
        """Windows per chunk along the first axis (the unit the loader reads)."""
        return int(self.group["signals"].chunks[0])


def open_store(path: Path | str) -> Store:
    """Open a store read-only. StoreError if it is missing, not a store, or another schema."""
    import zarr

    path = Path(path)
    if not (path / "zarr.json").is_file():
        hint = "" if path.exists() else "; run `cwtmae prepare RECIPE` first"
        raise StoreError(f"{path} is not a cwtmae store (no zarr.json){hint}")
    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception as exc:  # zarr raises several types for unreadable metadata
        raise StoreError(f"cannot open store {path}: {exc}") from exc
    version = group.attrs.get("schema_version")
    if version != SCHEMA_VERSION:
        raise StoreError(
            f"store {path} has schema_version {version!r}, this cwtmae reads {SCHEMA_VERSION}; "
            "prepare it again with this version"
        )
    missing = [name for name in ARRAY_NAMES if name not in group]
    if missing:
        raise StoreError(f"store {path} lacks the arrays {', '.join(missing)}; prepare it again")
    return Store(path, group)


def describe_store(path: Path | str) -> dict:
    """What a store holds: windows per split per class, subjects, and drops by reason.

    Returns a JSON-serialisable dict with keys ``path, complete, n_windows, n_recordings,
    fs_hz, window_s, n_samples, channels, channels_read, label_names, splits`` (``channels_read``:
    :func:`~cwtmae_cli.data.readers.channels.slot_usage`; ``{"train": {"n_windows", "n_subjects",
    "subjects" (sorted ids), "n_recordings", "per_class": {name: count, "unlabelled": count},
    "missing_classes": [names of classes the store holds but this split, which has subjects,
    does not]}, ...}``), ``n_unassigned`` (windows not yet given a split: an unfinished
    ``prepare``), ``subjects_per_class`` (class -> ids of the subjects holding it),
    ``split_fractions`` (the recipe's), ``resampled`` (``[{"fs_hz_in", "n_recordings",
    "recordings"}]``, one entry per input rate), ``gaps_interpolated`` (``{"n_gaps",
    "n_samples", "recordings", "max_gap_s"}``: short non-finite runs bridged), ``window_policy``
    (the store's attribute; None for stores written before policies were kept), ``padded``
    (``{"recordings", "max_padded_s"}``: recordings shorter than a window, padded), ``dropped``
    (``{reason: count}`` over all recordings) and ``skipped`` (recordings that failed).
    """
    store = open_store(path)
    labels = np.asarray(store.labels[:], dtype=np.int64)  # (N,)
    split = np.asarray(store.split[:], dtype=np.int64)  # (N,)
    recording = np.asarray(store.recording[:], dtype=np.int64)  # (N,)
    recordings = store.recordings
    names = store.label_names
    return {
        "path": str(store.path),
        "complete": store.complete,
        "n_windows": store.n_windows,
        "n_recordings": len(recordings),
        "n_subjects": len({r["subject"] for r in recordings}),
        "fs_hz": store.fs_hz,
        "window_s": store.window_s,
        "n_samples": store.n_samples,
        "channels": store.channels,
        "channels_read": slot_usage(store.channels, recordings),
        "label_names": names,
        "splits": _split_table(labels, split, recording, recordings, names),
        "split_fractions": list(store.attrs.get("recipe", {}).get("split_fractions", [])),
        "subjects_per_class": _subjects_per_class(labels, recording, recordings, names),
        "n_unassigned": int((split < 0).sum()),
        "resampled": _resampled(recordings),
        "gaps_interpolated": _gaps(recordings, store.attrs.get("recipe", {}).get("max_gap_s")),
        "window_policy": store.attrs.get("window_policy"),
        "padded": {  # recordings shorter than one window, padded (covering policy)
            "recordings": [str(r["id"]) for r in recordings if r.get("padded_s")],
            "max_padded_s": max((float(r.get("padded_s") or 0) for r in recordings), default=0),
        },
        "dropped": _dropped(recordings),
        "skipped": list(store.attrs.get("skipped", [])),
    }


def _split_table(
    labels: np.ndarray,
    split: np.ndarray,
    recording: np.ndarray,
    recordings: list[dict],
    names: list[str],
) -> dict[str, dict]:
    """Per split: windows, subjects, recordings, windows per class and the classes missing."""
    splits: dict[str, dict] = {}
    held = np.bincount(labels[labels >= 0], minlength=len(names)) > 0  # (K,) classes in the store
    for code, split_name in enumerate(SPLIT_NAMES):
        in_split = labels[split == code]
        counts = np.bincount(in_split[in_split >= 0], minlength=len(names))
        recs = [recordings[i] for i in np.unique(recording[split == code])]
        per_class = {name: int(counts[i]) for i, name in enumerate(names)}
        per_class["unlabelled"] = int((in_split < 0).sum())
        subjects = sorted({r["subject"] for r in recs})
        lacking = [n for i, n in enumerate(names) if held[i] and not counts[i]] if recs else []
        splits[split_name] = {
            "n_windows": int(in_split.size),
            "n_subjects": len(subjects),
            "subjects": subjects,
            "n_recordings": len(recs),
            "per_class": per_class,
            "missing_classes": lacking,
        }
    return splits


def _subjects_per_class(
    labels: np.ndarray, recording: np.ndarray, recordings: list[dict], names: list[str]
) -> dict[str, list[str]]:
    """Class -> sorted ids of the subjects holding at least one window of it."""
    subject_of = np.array([r["subject"] for r in recordings] or [""], dtype=object)
    labelled = labels >= 0
    return {
        name: sorted(set(subject_of[recording[labelled & (labels == k)]]))
        for k, name in enumerate(names)
    }


def _resampled(recordings: list[dict]) -> list[dict]:
    """One entry per input rate: the rate and the recordings read at it."""
    by_rate: dict[float, list[str]] = {}
    for rec in recordings:
        if "fs_hz_in" in rec:
            by_rate.setdefault(float(rec["fs_hz_in"]), []).append(str(rec["id"]))
    return [
        {"fs_hz_in": fs_in, "n_recordings": len(ids), "recordings": ids}
        for fs_in, ids in sorted(by_rate.items())
    ]


def _dropped(recordings: list[dict]) -> dict[str, int]:
    """Windows dropped, by reason, over all recordings (sorted by reason)."""
    dropped: Counter[str] = Counter()
    for rec in recordings:
        dropped.update(rec.get("dropped", {}))
    return dict(sorted(dropped.items()))


def _gaps(recordings: list[dict], max_gap_s: float | None) -> dict:
    """Short non-finite runs bridged by interpolation, over all recordings."""
    bridged = [r for r in recordings if r.get("gaps_interpolated")]
    return {
        "n_gaps": sum(r["gaps_interpolated"] for r in bridged),
        "n_samples": sum(r.get("gap_samples_interpolated", 0) for r in bridged),
        "recordings": [str(r["id"]) for r in bridged],
        "max_gap_s": max_gap_s,
    }
