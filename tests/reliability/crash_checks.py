"""What must hold after every SIGKILL, and the seeded kill loop shared by the crash tests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from forked import Outcome, run_forked

# command -> kills survived (filled by the crash tests, reported at the end of the session)
KILLS_SURVIVED: dict[str, dict[str, int]] = {}


def check_run_folder(run: Path) -> dict[str, bool]:
    """Every checkpoint a killed run left opens cleanly; returns what the kill interrupted."""
    from cwtmae_cli.runtime.checkpoint import read_meta, resolve_checkpoint
    from cwtmae_cli.runtime.loading import load_state_dict
    from cwtmae_cli.runtime.state import load_train_state

    found = {"checkpoint_write": False, "pointer_write": False, "resumable": False}
    ckpts = run / "checkpoints"
    if not ckpts.is_dir():
        return found
    steps = []
    for ckpt in sorted(ckpts.iterdir()):
        if ckpt.name.startswith("."):  # a temp folder: the kill fell inside save_checkpoint
            assert ".tmp-" in ckpt.name or ".old-" in ckpt.name, ckpt
            found["checkpoint_write"] = True
            continue
        meta = read_meta(ckpt)  # raises on a half-written meta.json
        load_state_dict(ckpt, meta)  # raises on a checksum mismatch
        if ckpt.name.startswith("step-"):
            assert int(ckpt.name[5:]) == meta["step"]
            load_train_state(ckpt)
            steps.append(ckpt)
    found["pointer_write"] = any(".tmp-" in p.name for p in run.glob(".*"))
    if steps:
        found["resumable"] = True
        assert resolve_checkpoint(run, prefer="latest") == steps[-1]
        pointer = run / "latest"
        if pointer.is_file():  # may lag one checkpoint behind, never ahead or dangling
            target = run / pointer.read_text().strip()
            assert target in steps, f"latest points at {target}"
    return found


def kill_loop(
    start: Callable[[bool], list[str]],
    is_resumable: Callable[[], bool],
    restart: Callable[[], None],
    after_kill: Callable[[], dict[str, bool]],
    kill_points: list[tuple[Path | Callable[[], bool] | None, float]],
    logs: Path,
) -> tuple[dict[str, int], Outcome]:
    """Start, SIGKILL, check, resume; once per kill point, then let the command finish.

    A kill point ``(watch, offset_s)`` kills ``offset_s`` after the path ``watch`` appears or the
    test ``watch()`` first holds (after the start when ``watch`` is None). ``start(resume)``
    gives the command line; when the command finishes before its kill, ``restart()`` clears the
    output and the point is tried again from scratch.
    """
    counts = {"kills": 0, "runs": 0}
    todo = list(kill_points)
    for attempt in range(4 * len(kill_points) + 2):
        resume = is_resumable()
        watch, offset_s = todo[0] if todo else (None, None)
        outcome = run_forked(
            start(resume),
            logs / f"attempt-{attempt:02d}.log",
            kill_after_s=offset_s if watch is None else None,
            watch=watch,
            kill_after_seen_s=offset_s if watch is not None else None,
        )
        where = "start" if watch is None else getattr(watch, "name", None) or watch.__doc__
        print(
            f"attempt {attempt}: {'resume' if resume else 'start'}, kill point {where}"
            f"+{offset_s if offset_s is None else round(offset_s, 3)} s: {outcome.status} "
            f"after {outcome.elapsed_s:.2f} s"
        )
        if outcome.killed:
            todo.pop(0)
            counts["kills"] += 1
            for key, hit in after_kill().items():
                counts[key] = counts.get(key, 0) + int(hit)
            continue
        assert outcome.status == 0, outcome.log[-3000:]
        assert "Traceback" not in outcome.log
        counts["runs"] += 1
        if not todo:
            return counts, outcome
        restart()  # finished before this kill point: go again from scratch
    raise AssertionError(f"no clean finish after {counts['kills']} kills")


def strip_times(records: list[dict]) -> list[dict]:
    """Metrics records without wall-clock fields (the rest must match exactly)."""
    clock = {"elapsed_s", "samples_per_s"}
    return [{k: v for k, v in r.items() if k not in clock} for r in records]


_PARTIALS_SEEN: set[str] = set()


def store_state(store: Path) -> dict[str, bool]:
    """What a kill interrupted in a store: data past the last commit, zarr temp files."""
    found = {"store_write": False, "uncommitted_data": False}
    if not (store / "zarr.json").is_file():
        return found
    partials = {p.name for p in store.rglob("*.partial")}  # zarr temp names are unique
    found["store_write"] = bool(partials - _PARTIALS_SEEN)
    _PARTIALS_SEEN.update(partials)
    attrs = json.loads((store / "zarr.json").read_text()).get("attributes", {})
    committed = int(attrs.get("n_committed", 0))
    for meta in store.glob("*/zarr.json"):
        if json.loads(meta.read_text())["shape"][0] != committed:
            found["uncommitted_data"] = True
    return found


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
