"""Recordings processed ahead in worker processes, handed back in order (``prepare --workers``).

Each worker (a spawned process) reads, resamples and windows one recording; results come back
strictly in the order of the list, so the store is the same whatever the number of workers, and
at most ``2 * workers`` recordings are in flight, so memory does not grow with the data set.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from cwtmae_cli.data.process import ProcessedRecording, process_item
from cwtmae_cli.data.recipes.recipe import Recipe
from cwtmae_cli.data.recipes.sources import SourceItem
from cwtmae_cli.errors import CwtmaeError, DataError


def _safe_process(item: SourceItem, recipe: Recipe) -> ProcessedRecording | str:
    """Worker entry point: the processed recording, or the reason it cannot be used."""
    try:
        return process_item(item, recipe)
    except CwtmaeError as exc:
        return str(exc)
    except Exception as exc:  # a library failing on a damaged file: report, keep going
        return f"{item.recording_id}: {type(exc).__name__}: {exc}"


def results_in_order(
    todo: list[SourceItem], recipe: Recipe, workers: int
) -> Iterator[tuple[SourceItem, ProcessedRecording | str | None]]:
    """Yield ``(item, result)`` in ``todo`` order, computing up to ``2 * workers`` ahead; with
    one worker the result is None: the caller streams the recording itself."""
    if workers == 1 or len(todo) <= 1:
        for item in todo:
            yield item, None
        return
    ahead = 2 * workers
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        pending: dict[int, Future] = {}
        try:
            for i, item in enumerate(todo):
                while len(pending) < ahead and i + len(pending) < len(todo):
                    j = i + len(pending)
                    pending[j] = pool.submit(_safe_process, todo[j], recipe)
                try:
                    result = pending.pop(i).result()
                except BrokenProcessPool as exc:
                    raise DataError(
                        f"a worker process died while reading {item.recording_id} (out of "
                        "memory?); rerun to resume, with fewer --workers"
                    ) from exc
                yield item, result
        finally:
            for future in pending.values():
                future.cancel()
