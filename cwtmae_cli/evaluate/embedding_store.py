"""``embed --out OUT.zarr``: the embeddings and their window table as one zarr v3 group.

==============  ===============  ======================================================
array           dtype, shape     meaning
==============  ===============  ======================================================
``embeddings``  float32 (N, D)   one vector per window (chunked by windows)
``start_s``     float64 (N,)     window onset, seconds from its recording's start
``recording``   int32 (N,)       index into the ``recordings`` attribute
``labels``      int16 (N,)       index into ``label_names``; -1 unlabelled (and recordings)
``split``       int8 (N,)        index into ``split_names``; -1 none (recordings)
==============  ===============  ======================================================

Attributes: ``format`` (``cwtmae-embeddings``), ``schema_version``, ``tool_version``,
``created_utc``, ``embed_dim``, ``n_windows``, ``checkpoint`` (path and kind), ``channels`` (the
checkpoint's channel slots), ``fs_hz`` and ``window_s`` (the checkpoint's), ``input`` (the path
embedded), ``recordings`` (``[{"id", "channels"}]``: the channels read from each),
``label_names`` and ``split_names``. The row order is the ``.npy`` output's. The group is built in
a hidden temporary sibling and renamed into place, so ``OUT.zarr`` is whole or absent.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from cwtmae_cli import __version__
from cwtmae_cli.errors import UsageError

FORMAT = "cwtmae-embeddings"
SCHEMA_VERSION = 1
CHUNK_BYTES = 1024 * 1024  # ~1 MiB of embeddings per chunk


def is_zarr_output(out: Path) -> bool:
    """True when ``--out`` names a zarr group (``OUT.zarr``)."""
    return Path(out).suffix == ".zarr"


def check_free(out: Path) -> Path:
    """``out`` itself; UsageError when it exists (nothing is replaced)."""
    out = Path(out)
    if out.exists():
        raise UsageError(f"{out} already exists; choose another --out")
    return out


def chunk_rows_for(embed_dim: int) -> int:
    """Windows per chunk: a power of two giving about CHUNK_BYTES, between 64 and 65536."""
    target = max(1, CHUNK_BYTES // (4 * max(1, embed_dim)))
    return int(min(65536, max(64, 2 ** int(np.round(np.log2(target))))))


def _codes(values: list[str], names: list[str]) -> np.ndarray:
    index = {name: k for k, name in enumerate(names)}
    return np.array([index[v] if v else -1 for v in values], dtype=np.int64)


def table_arrays(parts: list, split_names: tuple[str, ...]) -> tuple[dict, dict]:
    """The window-aligned arrays of ``parts`` (their rows in order) and the attributes that
    name their codes: ``recordings``, ``label_names``, ``split_names``."""
    recordings: list[dict] = []
    label_names: list[str] = []
    for part in parts:
        label_names += [n for n in part.label_names if n not in label_names]
        label_names += [v for v in dict.fromkeys(part.label) if v and v not in label_names]
    recording, onset_s, labels, split = [], [], [], []
    for part in parts:
        first = len(recordings)
        ids = list(dict.fromkeys(part.recording))  # a store's part holds many recordings
        recordings += [{"id": rid, "channels": list(part.channels)} for rid in ids]
        local = {rid: first + k for k, rid in enumerate(ids)}
        recording.append(np.array([local[r] for r in part.recording], dtype=np.int64))
        onset_s.append(np.asarray(part.onset_s, dtype=np.float64))
        labels.append(_codes(part.label, label_names))
        split.append(_codes(part.split, list(split_names)))
    arrays = {
        "start_s": np.concatenate(onset_s).astype(np.float64),
        "recording": np.concatenate(recording).astype(np.int32),
        "labels": np.concatenate(labels).astype(np.int16),
        "split": np.concatenate(split).astype(np.int8),
    }
    names = {"recordings": recordings, "label_names": label_names,
             "split_names": list(split_names)}
    return arrays, names


def write_zarr(parts: list, out: Path, provenance: dict) -> tuple[Path, int]:
    """``OUT.zarr`` of all ``parts`` in order (see the module docstring); returns it and N.
    ``provenance`` (checkpoint, channels, fs_hz, window_s, input) goes into the attributes."""
    import zarr
    from zarr.codecs import BloscCodec

    from cwtmae_cli.data.split import SPLIT_NAMES

    out = check_free(out)
    vectors = np.concatenate([p.vectors for p in parts]).astype(np.float32)  # (N, D)
    n_windows, embed_dim = vectors.shape
    arrays, names = table_arrays(parts, SPLIT_NAMES)
    blosc = BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")
    k = chunk_rows_for(embed_dim)
    tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        group = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        group.create_array("embeddings", data=vectors, chunks=(k, embed_dim), compressors=blosc)
        for name, values in arrays.items():
            group.create_array(name, data=values, chunks=(max(k, 4096),), compressors=blosc)
        group.update_attributes({
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "tool_version": __version__,
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "embed_dim": int(embed_dim),
            "n_windows": int(n_windows),
            **provenance,
            **names,
        })
        check_free(out)  # not taken while the group was written
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out, int(n_windows)
