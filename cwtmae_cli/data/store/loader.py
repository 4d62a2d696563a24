"""Training access to a store: a torch ``Dataset`` over splits and one or several channels, and
a sampler that reads whole chunks and shuffles within a buffer of them.

Two modes:

- **store mode**: windows are read from the compressed zarr chunks on demand, through a small
  cache of decoded chunks; with :class:`ChunkShuffleSampler` every chunk is decoded once per epoch.
- **in-memory mode**: the selected windows of the channels are decoded once into one float32
  tensor ``(n_windows, L)`` (``(n_windows, C, L)`` for several channels); chosen automatically
  when that fits in ``IN_MEMORY_MAX_BYTES``.

``channel`` is an index, a slot name, or several of either separated by commas (``"MLII,V1"``,
``"0,1"``, a list): windows are then ``(C, L)``, channels in the order asked for.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from cwtmae_cli.data.store.balanced import balanced_order
from cwtmae_cli.data.store.chunks import ChunkReader
from cwtmae_cli.data.store.schema import open_store
from cwtmae_cli.errors import StoreError

IN_MEMORY_MAX_BYTES = 2 * 1024**3


def _resolve_channel(channel: int | str, channels: list[str], path: Path) -> int:
    if isinstance(channel, (int, np.integer)):
        if not 0 <= channel < len(channels):
            raise StoreError(f"channel index {channel} out of range; {path} has {channels}")
        return int(channel)
    from cwtmae_cli.data.readers.channels import match_slot

    return match_slot(str(channel), channels, where=f"store {path}")


def resolve_channels(channel: int | str | Sequence[int | str], channels: list[str],
                     path: Path) -> list[int]:
    """Store channel indices of ``channel`` (one, a comma-separated list, or a sequence), in
    order; StoreError for an index out of range, a missing slot, or one channel asked twice."""
    if isinstance(channel, (int, np.integer)):
        parts: list[int | str] = [int(channel)]
    elif isinstance(channel, str):
        parts = [part.strip() for part in channel.split(",")]
    else:
        parts = list(channel)
    parts = [int(p) if isinstance(p, str) and p.isdigit() else p for p in parts]
    indices = [_resolve_channel(p, channels, path) for p in parts]
    if len(set(indices)) != len(indices):
        raise StoreError(f"channels {', '.join(map(str, parts))} name one channel of store "
                         f"{path} twice; it has {channels}")
    return indices


def _position_mask(positions: Sequence[int] | np.ndarray, n_windows: int, path: Path) -> np.ndarray:
    """(N,) bool: True at the store positions ``positions``."""
    rows = np.asarray(positions, dtype=np.int64).reshape(-1)
    if rows.size and (rows.min() < 0 or rows.max() >= n_windows):
        raise StoreError(
            f"window positions {rows.min()}..{rows.max()} out of range for the {n_windows} "
            f"windows of store {path}"
        )
    keep = np.zeros(n_windows, dtype=bool)
    keep[rows] = True
    return keep


class WindowDataset(Dataset):
    """Windows of one or several channels from the chosen splits of a store, in store order.

    ``ds[i] -> (x, y)``: ``x`` float32 tensor ``(L,)`` (``(C, L)`` for several channels) in
    physical units, ``y`` int (-1 =
    unlabelled). Arrays ``labels, recording, start_s`` (numpy, ``(len(ds),)``) describe the
    selected windows; ``indices`` are their positions in the store.

    ``positions`` (store positions) selects the windows instead of ``splits`` (the store's split
    column): ``cwtmae benchmark`` trains and tests on its own folds this way.
    """

    def __init__(
        self,
        store_path: Path | str,
        splits: Sequence[int] = (0,),
        channel: int | str | Sequence[int | str] = 0,
        labelled_only: bool = False,
        in_memory: bool | None = None,
        cache_chunks: int = 16,
        positions: Sequence[int] | np.ndarray | None = None,
    ) -> None:
        self.store_path = Path(store_path)
        store = open_store(self.store_path)
        self.channels = resolve_channels(channel, store.channels, self.store_path)
        self.channel = self.channels[0]
        self.channel_names = [store.channels[c] for c in self.channels]  # the store's slots
        self.channel_name = ",".join(self.channel_names)
        self.label_names = store.label_names
        self.fs_hz, self.window_s, self.n_samples = store.fs_hz, store.window_s, store.n_samples
        self.window_policy: dict | None = store.attrs.get("window_policy")  # None: plain windows
        self.chunk_windows = store.chunk_windows
        all_labels = np.asarray(store.labels[:], dtype=np.int64)  # (N,)
        split = np.asarray(store.split[:])  # (N,)
        if (split < 0).any():
            raise StoreError(
                f"store {self.store_path} is unfinished: its subject split is assigned when "
                "`cwtmae prepare` completes; rerun the same prepare command to finish it"
            )
        if positions is None:
            keep = np.isin(split, np.asarray(list(splits)))
        else:
            keep = _position_mask(positions, len(all_labels), self.store_path)
        if labelled_only:
            keep &= all_labels >= 0
        self.indices = np.flatnonzero(keep).astype(np.int64)  # (n,) store positions, ascending
        self.labels = all_labels[self.indices]
        self.recording = np.asarray(store.recording[:], dtype=np.int64)[self.indices]
        self.start_s = np.asarray(store.start_s[:], dtype=np.float64)[self.indices]
        if in_memory is None:
            in_memory = (len(self.indices) * len(self.channels) * self.n_samples * 4
                         <= IN_MEMORY_MAX_BYTES)
        self.in_memory = bool(in_memory)
        self.cache_chunks = cache_chunks
        self._store = store
        self._reader: ChunkReader | None = None
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._data: np.ndarray | None = self._load_all() if self.in_memory else None

    def __len__(self) -> int:
        return len(self.indices)

    # -- chunk access -------------------------------------------------------------------------
    def _chunk(self, chunk: int) -> np.ndarray:
        """Decoded chunk ``chunk`` of the channels, ``(k, L)`` or ``(k, C, L)`` (uncached)."""
        if self._reader is None:  # first use, or after unpickling in a DataLoader worker
            if self._store is None:
                self._store = open_store(self.store_path)
            self._reader = ChunkReader(self.store_path / "signals", self._store.group["signals"])
        try:
            if len(self.channels) == 1:
                return self._reader.read(chunk, self.channel)
            return np.stack([self._reader.read(chunk, c) for c in self.channels], axis=1)
        except Exception as exc:  # blosc / zarr raise several types for a damaged chunk
            k = self.chunk_windows
            raise StoreError(
                f"cannot read windows {chunk * k}-{(chunk + 1) * k - 1} of store "
                f"{self.store_path}: {exc}; the store is damaged, prepare it again"
            ) from None

    def _read_chunk(self, chunk: int) -> np.ndarray:
        """Decoded chunk ``chunk`` of the channels: ``(k, L)`` or ``(k, C, L)`` (cached)."""
        cached = self._cache.get(chunk)
        if cached is not None:
            self._cache.move_to_end(chunk)
            return cached
        data = self._chunk(chunk)  # (k, L)
        self._cache[chunk] = data
        while len(self._cache) > self.cache_chunks:
            self._cache.popitem(last=False)
        return data

    def _load_all(self) -> np.ndarray:
        out = np.empty((len(self.indices), *self.window_shape), dtype=np.float32)  # (n, [C,] L)
        for positions in self.chunk_groups():
            rows = self.indices[positions]
            chunk = int(rows[0] // self.chunk_windows)
            out[positions] = self._chunk(chunk)[rows - chunk * self.chunk_windows]
        return out

    @property
    def window_shape(self) -> tuple[int, ...]:
        """``(L,)`` for one channel, ``(C, L)`` for several."""
        C = len(self.channels)
        return (self.n_samples,) if C == 1 else (C, self.n_samples)

    def chunk_groups(self) -> list[np.ndarray]:
        """Dataset positions grouped by the store chunk holding them, in store order."""
        if len(self.indices) == 0:
            return []
        chunk_of = self.indices // self.chunk_windows  # (n,) non-decreasing
        bounds = np.flatnonzero(np.diff(chunk_of)) + 1
        return np.split(np.arange(len(self.indices)), bounds)

    # -- item and batch access ----------------------------------------------------------------
    def get_batch(self, indices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows at dataset positions ``indices``: ``x`` (B, L) (``(B, C, L)`` for several
        channels) float32 in physical units, ``y`` (B,) int64."""
        positions = np.asarray(indices, dtype=np.int64)
        y = torch.from_numpy(self.labels[positions].copy())
        if self._data is not None:
            # numpy's take is many times faster than torch's CPU indexing for wide rows
            return torch.from_numpy(np.take(self._data, positions, axis=0)), y
        rows = self.indices[positions]  # (B,) store positions
        chunks = rows // self.chunk_windows
        x = np.empty((len(rows), *self.window_shape), dtype=np.float32)  # (B, [C,] L)
        for chunk in np.unique(chunks):
            sel = chunks == chunk
            x[sel] = self._read_chunk(int(chunk))[rows[sel] - chunk * self.chunk_windows]
        return torch.from_numpy(x), y

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"window {i} out of range for {len(self)} windows")
        x, y = self.get_batch(np.array([i % len(self)]))
        return x[0], int(y[0])

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, int]]:
        """Batched fetch used by ``torch.utils.data.DataLoader`` (one read per chunk)."""
        x, y = self.get_batch(np.asarray(indices, dtype=np.int64))
        return [(x[j], int(y[j])) for j in range(len(indices))]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_store"], state["_reader"], state["_cache"] = None, None, OrderedDict()
        return state


class ChunkShuffleSampler(Sampler[int]):
    """Dataset positions in a chunk-friendly shuffled order, sharded across ranks.

    Each epoch: the store chunks are permuted, then taken ``buffer_chunks`` at a time and the
    windows within each buffer are permuted (in-memory datasets are fully permuted: no I/O to
    save). The global order is padded by wrapping (or cut with ``drop_last``) to a multiple of
    ``num_replicas``, and rank ``r`` takes the ``r``-th contiguous block, so ranks read different
    chunks and all yield the same count. Deterministic for ``(seed, epoch, num_replicas, rank)``.
    With ``class_labels`` (one per dataset position) an epoch is drawn class-balanced instead
    (``balance_power``: see :func:`~cwtmae_cli.data.store.balanced.balanced_order`).
    """

    def __init__(
        self,
        dataset: WindowDataset,
        seed: int = 0,
        shuffle: bool = True,
        num_replicas: int = 1,
        rank: int = 0,
        drop_last: bool = False,
        buffer_chunks: int = 8,
        class_labels: np.ndarray | None = None,
        balance_power: float = 1.0,
    ) -> None:
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} not in [0, {num_replicas})")
        self.dataset, self.seed, self.shuffle = dataset, seed, shuffle
        self.num_replicas, self.rank, self.drop_last = num_replicas, rank, drop_last
        self.buffer_chunks = max(1, buffer_chunks)
        self.class_labels = class_labels  # given: class-balanced draws (data/store/balanced.py)
        self.balance_power = balance_power
        self.epoch = 0
        n = len(dataset)
        self.num_samples = n // num_replicas if drop_last else -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def global_order(self) -> np.ndarray:
        """The order of all ranks together, ``(total_size,)`` dataset positions."""
        n = len(self.dataset)
        if not self.shuffle:
            order = np.arange(n)
        elif self.class_labels is not None:
            rng = np.random.default_rng([self.seed, self.epoch])
            order = balanced_order(self.class_labels, n, rng, self.balance_power)
        else:
            rng = np.random.default_rng([self.seed, self.epoch])
            if getattr(self.dataset, "in_memory", False):
                order = rng.permutation(n)
            else:
                groups = self.dataset.chunk_groups()
                shuffled = [groups[i] for i in rng.permutation(len(groups))]
                parts = []
                for b in range(0, len(shuffled), self.buffer_chunks):
                    parts.append(
                        rng.permutation(np.concatenate(shuffled[b : b + self.buffer_chunks]))
                    )
                order = np.concatenate(parts) if parts else np.arange(0)
        if n and self.total_size > n:
            order = np.resize(order, self.total_size)  # pads by wrapping around
        return order[: self.total_size].astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        start = self.rank * self.num_samples
        return iter(self.global_order()[start : start + self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples
