"""Short gaps of non-finite samples (NaN/Inf: a WFDB "invalid sample", a dropped packet),
bridged by linear interpolation before resampling.

A run of non-finite samples in one channel is a *short gap* when it holds at most
``max_gap`` samples and has a finite sample on both sides; its samples become the straight
line between those two neighbours. Longer runs, and runs at the very start or end of the
recording, stay non-finite, so the windows they reach are dropped as ``non-finite``.

:class:`GapFiller` reads through the recording's ``read(start, stop)`` with a margin of
``max_gap + 1`` samples on each side, so a range read block by block is filled exactly as the
whole recording would be: a short gap that touches the range lies, with both neighbours, inside
the margin; a run cut by the margin is longer than ``max_gap`` anyway.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Read = Callable[[int, int], np.ndarray]  # read(start, stop) -> (C, stop - start)


def gap_samples(max_gap_s: float, fs_hz: float) -> int:
    """The longest gap bridged, in samples at ``fs_hz`` (0: none)."""
    return int(np.floor(max_gap_s * fs_hz + 1e-9))


def _runs(bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and stops (exclusive) of the runs of True in the 1-D ``bad``."""
    edges = np.diff(np.concatenate([[False], bad, [False]]).astype(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def fill_short_gaps(block: np.ndarray, max_gap: int) -> list[tuple[int, int, int]]:
    """Interpolate, in place, the short gaps of ``block`` ``(C, n)`` float32.

    A run touching an edge of the block is left alone: at a recording edge it has no
    neighbour there, elsewhere its length is unknown. Returns ``(channel, start, length)`` of
    each gap filled, ``start`` relative to the block.
    """
    filled = []
    n = block.shape[1]
    for c in range(block.shape[0]):
        bad = ~np.isfinite(block[c])  # (n,)
        if not bad.any():
            continue
        starts, stops = _runs(bad)
        for r0, r1 in zip(starts.tolist(), stops.tolist(), strict=True):
            if r1 - r0 > max_gap or r0 == 0 or r1 == n:
                continue  # long, or touching an edge of the block
            left, right = float(block[c, r0 - 1]), float(block[c, r1])
            steps = np.arange(1, r1 - r0 + 1, dtype=np.float64) / (r1 - r0 + 1)  # (length,)
            block[c, r0:r1] = (left + (right - left) * steps).astype(np.float32)
            filled.append((c, r0, r1 - r0))
    return filled


class GapFiller:
    """``read(start, stop)`` of a recording of ``n_samples`` samples with its short gaps
    bridged; counts each gap once however many reads see it (``n_gaps``,
    ``n_samples_filled``)."""

    def __init__(self, read: Read, n_samples: int, max_gap: int) -> None:
        self._read = read
        self.n_samples = n_samples
        self.max_gap = max_gap
        self._seen: dict[tuple[int, int], int] = {}  # (channel, absolute start) -> length
        self._lo: int | None = None  # the span read so far, [lo, hi)
        self._hi = 0

    @property
    def n_gaps(self) -> int:
        return len(self._seen)

    @property
    def n_samples_filled(self) -> int:
        return int(sum(self._seen.values()))

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)``, ``(C, stop - start)`` float32, short gaps bridged."""
        margin = self.max_gap + 1
        lo, hi = max(0, start - margin), min(self.n_samples, stop + margin)
        block = np.asarray(self._read(lo, hi), dtype=np.float32)  # (C, hi - lo)
        if not np.isfinite(block).all():
            block = block.copy()  # (the reader's own array may be a cached whole recording)
            for c, r0, length in fill_short_gaps(block, self.max_gap):
                self._seen[(c, lo + r0)] = length
        self._lo = start if self._lo is None else min(self._lo, start)
        self._hi = max(self._hi, stop)
        return block[:, start - lo : stop - lo]

    def count_unread(self) -> None:
        """Read the parts of the recording no read has reached (before the first and after the
        last, which streamed windows never need), so that the counts cover the whole recording
        as a whole-recording read would."""
        if self._lo is None:
            self.read(0, self.n_samples)
            return
        if self._lo > 0:
            self.read(0, self._lo)
        if self._hi < self.n_samples:
            self.read(self._hi, self.n_samples)
