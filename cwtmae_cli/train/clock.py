"""The engine's clock: wall time, and the part of it spent training."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class TrainClock:
    """Wall time since the start, and how much of it was training. Validation and checkpoint
    writes are not training: ``samples_per_s`` leaves them out (``elapsed_s`` stays wall time);
    with them in, short runs reported a fraction of the real rate."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.paused_s = 0.0

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started

    def train_s(self, elapsed_s: float) -> float:
        return max(elapsed_s - self.paused_s, 1e-9)

    @contextmanager
    def paused(self) -> Iterator[None]:
        paused_from = time.perf_counter()
        try:
            yield
        finally:
            self.paused_s += time.perf_counter() - paused_from
