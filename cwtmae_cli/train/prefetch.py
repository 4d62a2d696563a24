"""Data loading that overlaps compute: batch ``k + 1`` is read on a background thread while the
step on batch ``k`` runs. The batches and their order are exactly those of a plain loop."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Batch = TypeVar("Batch")


def prefetched(fetch: Callable[[Item], Batch], items: Iterable[Item]) -> Iterator[Batch]:
    """``fetch(item)`` for each item in order, one fetch ahead of the consumer on one thread.

    An exception raised by ``fetch`` comes out of the ``next()`` that asks for its batch. A
    consumer that stops early waits for at most the one fetch in flight.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cwtmae-prefetch") as pool:
        pending: Future | None = None
        for item in items:
            ahead = pool.submit(fetch, item)
            if pending is not None:
                yield pending.result()
            pending = ahead
        if pending is not None:
            yield pending.result()
