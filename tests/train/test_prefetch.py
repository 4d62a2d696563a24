"""The prefetching loop gives the plain loop's batches, in order, and reads one ahead."""

from __future__ import annotations

import threading

import pytest

from cwtmae_cli.train.prefetch import prefetched


def test_batches_come_in_order_and_each_is_read_once_on_another_thread() -> None:
    reads: list[tuple[int, str]] = []

    def fetch(item: int) -> int:
        reads.append((item, threading.current_thread().name))
        return item * 10

    assert list(prefetched(fetch, range(5))) == [0, 10, 20, 30, 40]
    assert [item for item, _ in reads] == [0, 1, 2, 3, 4]
    assert all(name.startswith("cwtmae-prefetch") for _, name in reads)
    assert list(prefetched(fetch, [])) == []


def test_the_next_batch_is_being_read_while_the_consumer_works() -> None:
    started = {1: threading.Event()}

    def fetch(item: int) -> int:
        if item in started:
            started[item].set()
        return item

    batches = prefetched(fetch, range(3))
    assert next(batches) == 0
    assert started[1].wait(timeout=5)  # item 1 was asked for before the consumer wanted it
    assert list(batches) == [1, 2]


def test_a_failed_read_comes_out_of_the_batch_that_needed_it() -> None:
    def fetch(item: int) -> int:
        if item == 2:
            raise OSError("chunk 2 unreadable")
        return item

    batches = prefetched(fetch, range(4))
    assert [next(batches), next(batches)] == [0, 1]
    with pytest.raises(OSError, match="chunk 2 unreadable"):
        next(batches)
