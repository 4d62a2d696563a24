"""``prepare``: source folder -> store, resumable, with worker processes and one writer.

Workers (``--workers N``, spawned processes, ``workers.py``) read, resample and window one
recording each; the main process is the only writer and appends results strictly in recording-id
order, so the store is identical whatever the number of workers. At most ``2 * N`` recordings are
in flight, so memory does not grow with the size of the data set. A rerun skips recordings
already committed.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cwtmae_cli.data.process import ProcessedRecording, check_window, stream_item
from cwtmae_cli.data.recipes.recipe import Recipe
from cwtmae_cli.data.recipes.sources import SourceItem, find_recordings
from cwtmae_cli.data.split import assign_splits
from cwtmae_cli.data.store.lock import StoreLock
from cwtmae_cli.data.store.schema import describe_store, open_store
from cwtmae_cli.data.store.writer import StoreWriter
from cwtmae_cli.data.workers import results_in_order
from cwtmae_cli.errors import CwtmaeError, DataError, StoreError, UsageError
from cwtmae_cli.wording import plural

_ABSENT = object()  # a recipe key missing from one side of a comparison

# progress(n_done, n_total, n_windows_written, recording_id)
Progress = Callable[[int, int, int, str], None]


def staging_path(out: Path) -> Path:
    """Where ``--overwrite`` builds the new store, beside the old one it replaces at the end."""
    return out.with_name(f".{out.name}.new")


def _open_writer(out: Path, recipe: Recipe, overwrite: bool) -> StoreWriter:
    """The writer of ``out``: a new store, a resumed one, or (``overwrite`` of an existing
    path) a new store in :func:`staging_path`, so the old one stays until the new one is made."""
    n_samples = check_window(recipe)
    attrs = {
        "fs_hz": recipe.signal.fs_hz,
        "window_s": recipe.signal.window_s,
        "n_samples": n_samples,
        "channels": list(recipe.signal.channels),
        "label_names": recipe.label_names,
        "window_policy": recipe.window_policy.to_dict(),
        "recipe": recipe.to_dict(),
        "subject_splits": {},
    }
    if overwrite and out.exists():
        staging = staging_path(out)
        if staging.exists():  # left by an overwrite that crashed: start it again
            shutil.rmtree(staging)
        return StoreWriter.create(
            staging, n_channels=len(recipe.signal.channels), n_samples=n_samples, attrs=attrs
        )
    if not out.exists():
        return StoreWriter.create(
            out, n_channels=len(recipe.signal.channels), n_samples=n_samples, attrs=attrs
        )
    if not (out / "zarr.json").is_file():
        raise StoreError(f"{out} exists and is not a store; use --overwrite or another --out")
    writer = StoreWriter.resume(out)
    old = writer.attrs
    if old.get("recipe") != attrs["recipe"]:
        differ = sorted(
            k
            for k in set(old.get("recipe", {})) | set(attrs["recipe"])
            # a key only one side has differs too (a store written by an older cwtmae)
            if old.get("recipe", {}).get(k, _ABSENT) != attrs["recipe"].get(k, _ABSENT)
        )
        raise StoreError(
            f"{out} was prepared with other settings (differs in: {', '.join(differ)}); "
            "use --overwrite to start again or --out for a new store"
        )
    return writer


def prepare_store(
    recipe: Recipe,
    source: Path,
    out: Path,
    *,
    workers: int = 1,
    overwrite: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Write (or resume) the store ``out`` from ``source``; returns the summary.

    The summary is :func:`describe_store` plus ``recordings_without_windows`` (ids),
    ``recordings_found``, ``recordings_resumed``
    (committed by an earlier run), ``recordings_written``, ``skipped`` ([{id, reason}]),
    ``subjects_moved`` (subjects of an already complete store whose split changed because the
    source changed), ``elapsed_s`` and ``windows_per_s``.

    The subject split is assigned once every recording is in (class-aware, from the label
    counts of all of them), so a resumed run assigns what an uninterrupted one would. Raises
    DataError for a missing or empty source, in ``strict`` mode at the first recording that
    cannot be used. When no window is kept, the store this run made is removed and the
    summary's ``path`` is None (an existing store, also one ``--overwrite`` would have replaced,
    is left as it was); :func:`summary_problem` then gives the error.
    """
    if workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    if not recipe.signal.channels:
        raise UsageError(f"recipe `{recipe.name}` does not choose channels: pass --channels A,B")
    t0 = time.monotonic()
    items = find_recordings(recipe, source)
    out = Path(out)
    with _write_errors(out), StoreLock(out):
        writer, made_now, old_attrs = _open_for_run(out, recipe, overwrite)
        n_before = writer.n_committed
        skipped, written, n_resumed = _write_recordings(
            writer, items, recipe, workers, strict=strict, made_now=made_now, progress=progress
        )
        counts = writer.subject_class_counts()
        splits = assign_splits(counts, recipe.split_fractions, recipe.seed)
        writer.finish(skipped, splits)
        drop_empty = made_now or not old_attrs.get("complete")
        summary = _settle(writer, out, skipped, drop_empty)
    summary.update(
        recordings_found=len(items), recordings_resumed=n_resumed, recordings_written=written,
        subjects_moved=_moved_subjects(splits, old_attrs),
        **_speed(summary["n_windows"] - n_before, time.monotonic() - t0),
    )
    return summary


def _open_for_run(out: Path, recipe: Recipe, overwrite: bool) -> tuple[StoreWriter, bool, dict]:
    """The writer (:func:`_open_writer`), whether this run makes the store, and the attributes
    of the store it resumes (``{}`` when it makes one)."""
    existed = out.exists()
    writer = _open_writer(out, recipe, overwrite)
    made_now = writer.path != out or not existed
    return writer, made_now, {} if made_now else writer.attrs


def _moved_subjects(splits: dict[str, int], old_attrs: dict) -> list[str]:
    """Subjects of an already complete store whose split changed (the source changed)."""
    before = old_attrs.get("subject_splits", {}) if old_attrs.get("complete") else {}
    return sorted(s for s, code in splits.items() if before.get(s, code) != code)


def _speed(n_windows_new: int, elapsed_s: float) -> dict:
    return {
        "elapsed_s": round(elapsed_s, 3),
        "windows_per_s": round(n_windows_new / max(elapsed_s, 1e-9), 1),
    }


def _write_recordings(
    writer: StoreWriter,
    items: list[SourceItem],
    recipe: Recipe,
    workers: int,
    *,
    strict: bool,
    made_now: bool,
    progress: Progress | None,
) -> tuple[list[dict], int, int]:
    """Write the recordings of ``items`` not committed yet, in order; returns the skipped
    ({id, reason}), the number written and the number resumed (committed before). In ``strict``
    mode the first that cannot be used stops the run (DataError)."""
    done = set(writer.committed_ids)
    todo = [i for i in items if i.recording_id not in done]
    n_resumed, n_before = len(items) - len(todo), writer.n_committed
    skipped: list[dict] = []
    written = 0
    if progress:
        progress(n_resumed, len(items), 0, "")
    for item, result in results_in_order(todo, recipe, workers):
        if result is None:  # in this process: stream the recording into the store
            result = _stream_into(writer, item, recipe)
        if isinstance(result, str):
            if strict:
                if made_now and writer.n_committed == 0:  # no half-made store of nothing
                    shutil.rmtree(writer.path)
                raise DataError(f"{result} (stopped by --strict)")
            skipped.append({"id": item.recording_id, "reason": result})
        else:
            if isinstance(result, ProcessedRecording):
                writer.append(result.info, result.signals, result.labels, result.start_s)
            written += 1
        if progress:
            n_done = n_resumed + written + len(skipped)
            progress(n_done, len(items), writer.n_committed - n_before, item.recording_id)
    return skipped, written, n_resumed


def _settle(writer: StoreWriter, out: Path, skipped: list[dict], drop_empty: bool) -> dict:
    """The finished store's summary; the store is removed when it holds no window and
    ``drop_empty`` (made by this run, or never complete), else put at ``out``."""
    summary = _summary(writer.path, skipped)
    summary["path"] = str(out)
    if summary["n_windows"] == 0 and drop_empty:
        shutil.rmtree(writer.path)  # a store of nothing would only mislead the next command
        summary["path"] = None  # nothing was written (an old store at `out` is untouched)
    elif writer.path != out:  # --overwrite: the new store is whole; now replace the old one
        _replace(out, writer.path)
    return summary


def _summary(path: Path, skipped: list[dict]) -> dict:
    summary = describe_store(path)
    summary["recordings_without_windows"] = [
        r["id"] for r in open_store(path).recordings if not r.get("n_windows")
    ]
    summary["skipped"] = skipped
    return summary


def _replace(out: Path, new: Path) -> None:
    """Put the finished store ``new`` at ``out``, then delete the store it replaces."""
    old = out.with_name(f".{out.name}.old")
    if old.exists():
        shutil.rmtree(old)
    os.replace(out, old)
    os.replace(new, out)
    shutil.rmtree(old)


@contextmanager
def _write_errors(out: Path) -> Iterator[None]:
    """A full disk or a read-only folder while writing: one StoreError; the store keeps its
    last commit, so the same command resumes once the problem is fixed."""
    try:
        yield
    except OSError as exc:
        raise StoreError(
            f"cannot write store {out}: {exc.strerror or exc}; free some space (or fix the "
            "permissions) and rerun the same command to resume"
        ) from exc


def _stream_into(writer: StoreWriter, item: SourceItem, recipe: Recipe) -> dict | str:
    """Process ``item`` block by block straight into the store, then commit it: memory stays
    bounded however long the recording. Returns its info, or why it cannot be used (then
    nothing of it stays in the store)."""
    block = writer.arrays["signals"].chunks[0]  # whole chunks per block: each written once

    def emit(signals, labels, start_s) -> None:
        writer.append_part(signals, labels, start_s)

    try:
        info = stream_item(item, recipe, emit, block_windows=block)
    except OSError:
        raise  # a write error: the caller reports it; the store keeps its last commit
    except CwtmaeError as exc:
        writer.discard()
        return str(exc)
    except Exception as exc:  # a library failing on a damaged file: report, keep going
        writer.discard()
        return f"{item.recording_id}: {type(exc).__name__}: {exc}"
    writer.commit(info)
    return info


def summary_problem(summary: dict) -> str | None:
    """The one-line failure a summary amounts to (skipped recordings, or no window kept)."""
    skipped = summary.get("skipped", [])
    if summary["n_windows"] == 0:
        drops = ", ".join(f"{reason}: {n}" for reason, n in summary["dropped"].items())
        msg = f"no windows kept from {plural(summary['n_recordings'], 'recording')}"
        if drops:
            msg += f" (dropped: {drops})"
        empty = summary.get("recordings_without_windows") or []
        if empty:
            msg += f" in {', '.join(empty[:3])}" + (", ..." if len(empty) > 3 else "")
        if "wake-trimmed" in summary["dropped"]:
            msg += (
                "; the windows lie outside the wake kept around sleep (trim_wake); to keep all "
                'wake, prepare with a recipe holding `extends = "sleep-edf"` and '
                "`[trim_wake] enabled = false`"
            )
        if skipped:
            msg += f"; {plural(len(skipped), 'recording')} failed, first: {skipped[0]['reason']}"
        if summary.get("path") is None:
            msg += "; no store was written"
        return msg
    if skipped:
        first = skipped[0]["reason"]
        kept = plural(summary["n_recordings"], "recording")
        return (
            f"{plural(len(skipped), 'recording')} skipped (first: {first}); the windows of the "
            f"other {kept} were written"
        )
    return None
