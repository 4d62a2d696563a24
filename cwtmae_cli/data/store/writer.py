"""The single writer of a store: create or resume, append one whole recording, commit.

Commit protocol: arrays are grown and written first; only then is ``n_committed`` (with the
``recordings`` list) updated in the group's ``zarr.json``. Windows are written with split
``UNASSIGNED`` (-1): the class-aware subject split needs every recording's label counts, so
:meth:`StoreWriter.finish` assigns it, rewrites the ``split`` array and only then marks the
store complete (a kill in between leaves an incomplete store whose rerun assigns again).
zarr's local store writes every file to a temporary name and renames it, so each step is
atomic: a reader, or a resumed run, sees the store as of the last commit, and anything past
``n_committed`` is discarded on resume.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from cwtmae_cli import __version__
from cwtmae_cli.data.split import subject_class_counts
from cwtmae_cli.data.store.schema import ARRAY_NAMES, SCHEMA_VERSION, open_store

CHUNK_BYTES = 3 * 1024 * 1024  # ~3 MiB of one channel per chunk: 256 windows of 3000 samples
_DTYPES = {
    "signals": "float32",
    "labels": "int16",
    "recording": "int32",
    "start_s": "float64",
    "split": "int8",
}
_VECTOR_CHUNK = 65536
UNASSIGNED = -1  # split code of windows written before the split is assigned


def chunk_windows_for(n_samples: int) -> int:
    """Windows per chunk: a power of two giving about CHUNK_BYTES per channel chunk."""
    target = max(1, CHUNK_BYTES // (4 * n_samples))
    return int(min(4096, max(8, 2 ** int(np.round(np.log2(target))))))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StoreWriter:
    """Appends recordings to a store; the only object that writes one."""

    def __init__(self, path: Path, group: Any) -> None:
        self.path = Path(path)
        self.group = group
        self.arrays = {name: group[name] for name in ARRAY_NAMES}
        self.n_pending = 0  # windows of the recording being written, past the last commit

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        n_channels: int,
        n_samples: int,
        attrs: dict,
        chunk_windows: int | None = None,
    ) -> StoreWriter:
        """A new, empty store at ``path`` (replacing whatever is there).

        Built in a hidden temporary sibling and renamed into place, so a crash during creation
        never leaves a half-made store that a rerun could not resume.
        """
        import zarr
        from zarr.codecs import BloscCodec


        path = Path(path)
        for stale in path.parent.glob(f".{path.name}.tmp-*"):  # left by a crashed create
            shutil.rmtree(stale, ignore_errors=True)
        tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
        k = chunk_windows or chunk_windows_for(n_samples)
        group = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        blosc = BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")
        for name, dtype in _DTYPES.items():
            if name == "signals":
                shape, chunks = (0, n_channels, n_samples), (k, 1, n_samples)
            else:
                shape, chunks = (0,), (max(_VECTOR_CHUNK, k),)
            group.create_array(
                name, shape=shape, chunks=chunks, dtype=dtype, compressors=blosc, fill_value=0
            )
        base = {
            "schema_version": SCHEMA_VERSION,
            "tool_version": __version__,
            "created_utc": _now(),
            "n_committed": 0,
            "recordings": [],
            "complete": False,
            "skipped": [],
        }
        group.update_attributes({**base, **attrs})
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
        return cls(path, zarr.open_group(str(path), mode="r+"))

    @classmethod
    def resume(cls, path: Path) -> StoreWriter:
        """Reopen a store for appending; drops whatever lies past the last commit."""
        import zarr

        open_store(path)  # validates schema and arrays
        writer = cls(path, zarr.open_group(str(path), mode="r+"))
        n = writer.n_committed
        for array in writer.arrays.values():
            if array.shape[0] != n:
                array.resize((n, *array.shape[1:]))
        for partial in Path(path).rglob("*.partial"):  # zarr's temp files of a killed write
            partial.unlink(missing_ok=True)
        return writer

    @property
    def attrs(self) -> dict:
        return self.group.attrs.asdict()

    @property
    def n_committed(self) -> int:
        return int(self.group.attrs.get("n_committed", 0))

    @property
    def committed_ids(self) -> list[str]:
        return [r["id"] for r in self.group.attrs.get("recordings", [])]

    def append(
        self,
        info: dict,
        signals: np.ndarray,
        labels: np.ndarray,
        start_s: np.ndarray,
        split_code: int = UNASSIGNED,
    ) -> None:
        """Write one whole recording's windows, then commit it.

        ``info`` holds ``id, subject, source_files, dropped``; ``signals`` (W, C, L),
        ``labels`` (W,), ``start_s`` (W,). ``W`` may be 0 (every window dropped).
        """
        self.append_part(signals, labels, start_s, split_code)
        self.commit(info, split_code)

    def append_part(
        self,
        signals: np.ndarray,
        labels: np.ndarray,
        start_s: np.ndarray,
        split_code: int = UNASSIGNED,
    ) -> None:
        """Write more windows of the recording being appended (``signals`` (w, C, L), ``labels``
        and ``start_s`` (w,)), after the last commit: invisible until :meth:`commit`."""
        n_old = self.n_committed + self.n_pending
        n_new = n_old + len(labels)
        if n_new > n_old:
            rec_index = len(self.group.attrs.get("recordings", []))
            values = {
                "signals": np.asarray(signals, dtype=np.float32),
                "labels": np.asarray(labels, dtype=np.int16),
                "recording": np.full(n_new - n_old, rec_index, dtype=np.int32),
                "start_s": np.asarray(start_s, dtype=np.float64),
                "split": np.full(n_new - n_old, split_code, dtype=np.int8),
            }
            for name, array in self.arrays.items():
                array.resize((n_new, *array.shape[1:]))
                array[n_old:n_new] = values[name]
        self.n_pending = n_new - self.n_committed

    def commit(self, info: dict, split_code: int = UNASSIGNED) -> None:
        """Commit the recording whose windows :meth:`append_part` wrote (possibly none)."""
        recordings = list(self.group.attrs.get("recordings", []))
        n_new = self.n_committed + self.n_pending
        entry = {**info, "split": int(split_code), "n_windows": self.n_pending}
        # The commit: one atomic rewrite of the group's zarr.json. (Not `attrs.update`: zarr's
        # Attributes is a MutableMapping whose update writes the file once per key.)
        self.group.update_attributes(
            {"recordings": [*recordings, entry], "n_committed": n_new, "updated_utc": _now()}
        )
        self.n_pending = 0

    def discard(self) -> None:
        """Drop the windows written since the last commit (a recording that failed midway)."""
        n = self.n_committed
        for array in self.arrays.values():
            if array.shape[0] != n:
                array.resize((n, *array.shape[1:]))
        self.n_pending = 0

    def subject_class_counts(self) -> dict[str, np.ndarray]:
        """Committed windows per class of every subject with at least one kept window."""
        n = self.n_committed
        recordings = self.group.attrs.get("recordings", [])
        n_classes = len(self.group.attrs.get("label_names", []))
        labels = self.arrays["labels"][:n]  # (n,)
        recording = self.arrays["recording"][:n]  # (n,)
        subjects = [r["subject"] for r in recordings]
        counts = subject_class_counts(labels, recording, subjects, n_classes)
        kept = {r["subject"] for r in recordings if r.get("n_windows")}
        return {s: c for s, c in counts.items() if s in kept}

    def finish(self, skipped: list[dict], subject_splits: dict[str, int] | None = None) -> None:
        """Mark the store complete (every recording processed or listed in ``skipped``).

        With ``subject_splits`` (subject -> split code), first write each window's split and
        each recording's ``split`` (-1 for a subject not in it: one that kept no window).
        """
        attrs: dict[str, Any] = {"complete": True, "skipped": skipped, "updated_utc": _now()}
        if subject_splits is not None:
            recordings = list(self.group.attrs.get("recordings", []))
            codes = [subject_splits.get(r["subject"], UNASSIGNED) for r in recordings]
            n = self.n_committed
            if n:
                by_recording = np.asarray(codes, dtype=np.int8)  # (R,)
                self.arrays["split"][:n] = by_recording[self.arrays["recording"][:n]]
            attrs["recordings"] = [
                {**r, "split": code} for r, code in zip(recordings, codes, strict=True)
            ]
            attrs["subject_splits"] = dict(sorted(subject_splits.items()))
        self.group.update_attributes(attrs)
