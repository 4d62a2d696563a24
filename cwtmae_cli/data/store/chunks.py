"""Decoding one channel's chunk of ``signals`` straight from its file.

zarr's synchronous API runs every read through its event-loop thread and thread pools: several
thread hand-offs per chunk, which on a busy machine cost ten times the Blosc decode itself. For
the layout :class:`~cwtmae_cli.data.store.writer.StoreWriter` writes (zarr v3, default chunk keys,
``bytes`` little-endian then ``blosc``, float32) the loader reads and decodes the chunk file
itself; for any other layout it falls back to zarr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _is_plain_blosc(array: Any) -> bool:
    from zarr.codecs import BloscCodec, BytesCodec

    meta = array.metadata
    codecs = tuple(getattr(meta, "codecs", ()))
    encoding = getattr(meta, "chunk_key_encoding", None)
    return (
        getattr(meta, "zarr_format", None) == 3
        and len(codecs) == 2
        and isinstance(codecs[0], BytesCodec)
        and str(getattr(codecs[0].endian, "value", codecs[0].endian)) == "little"
        and isinstance(codecs[1], BloscCodec)
        and getattr(encoding, "name", None) == "default"
        and getattr(encoding, "separator", None) == "/"
        and np.dtype(array.dtype) == np.float32
        and len(array.chunks) == 3
        and array.chunks[1] == 1
    )


class ChunkReader:
    """``read(chunk, channel) -> (k, L)`` float32: rows ``chunk * k ...`` of one channel.

    The last chunk may come back longer than the array (zarr stores whole chunks); callers index
    only rows that exist.
    """

    def __init__(self, array_path: Path, array: Any) -> None:
        self.array_path = Path(array_path)
        self.array = array
        self.k, _, self.n_samples = array.chunks
        self.fill_value = float(array.fill_value or 0.0)
        self.direct = _is_plain_blosc(array)

    def read(self, chunk: int, channel: int) -> np.ndarray:
        k = self.k
        if not self.direct:
            return np.asarray(self.array[chunk * k : (chunk + 1) * k, channel, :])  # (<=k, L)
        from numcodecs import blosc

        path = self.array_path / "c" / str(chunk) / str(channel) / "0"
        try:
            encoded = path.read_bytes()
        except FileNotFoundError:  # zarr does not write chunks that are all fill value
            return np.full((k, self.n_samples), self.fill_value, dtype=np.float32)
        data = np.frombuffer(blosc.decompress(encoded), dtype="<f4")
        return data.reshape(k, self.n_samples)  # (k, L), read-only view of the decoded bytes
