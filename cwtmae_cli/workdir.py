"""The working folder and the defaults of SPEC §1.

Layout under the working folder (``--workdir``, else ``$CWTMAE_HOME``, else the current directory)::

    stores/<recipe>.zarr                      written by ``prepare``
    runs/<command>-<UTC timestamp>/           written by ``pretrain`` / ``finetune`` / ...

A run folder is *finished* when it holds a ``FINISHED`` marker, written last by the training engine.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from cwtmae_cli.errors import StoreError, UsageError

STORES_DIR = "stores"
RUNS_DIR = "runs"
FINISHED_MARKER = "FINISHED"


def resolve_workdir(workdir: Path | None = None) -> Path:
    """``workdir`` if given, else ``$CWTMAE_HOME``, else the current directory."""
    if workdir is not None:
        return Path(workdir)
    env = os.environ.get("CWTMAE_HOME")
    return Path(env) if env else Path.cwd()


def default_store_path(workdir: Path, recipe_name: str) -> Path:
    """Where ``prepare RECIPE`` writes when ``--out`` is not given."""
    return workdir / STORES_DIR / f"{recipe_name}.zarr"


def find_store(workdir: Path, data: Path | None = None) -> Path:
    """The store to use: ``data`` if given, else the only ``*.zarr`` under ``stores/``."""
    if data is not None:
        if not Path(data).exists():
            raise StoreError(f"no store at {data}; run `cwtmae prepare RECIPE` first")
        return Path(data)
    stores = sorted(p for p in (workdir / STORES_DIR).glob("*.zarr") if p.is_dir())
    if not stores:
        raise StoreError(
            f"no store in {workdir / STORES_DIR}; run `cwtmae prepare RECIPE` first or pass --data"
        )
    if len(stores) > 1:
        names = ", ".join(str(p.relative_to(workdir)) for p in stores)
        raise UsageError(
            f"several stores in {workdir / STORES_DIR} ({names}); choose one with --data"
        )
    return stores[0]


def new_run_dir(workdir: Path, command: str, now: datetime | None = None) -> Path:
    """A fresh, not yet existing ``runs/<command>-<UTC timestamp>`` path (not created)."""
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    base = workdir / RUNS_DIR / f"{command}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def latest_run(workdir: Path, command: str, finished: bool = True) -> Path | None:
    """The newest ``runs/<command>-*`` folder (finished ones only by default), or None."""
    runs_dir = workdir / RUNS_DIR
    if not runs_dir.is_dir():
        return None
    candidates = [
        p
        for p in runs_dir.glob(f"{command}-*")
        if p.is_dir() and (not finished or (p / FINISHED_MARKER).exists())
    ]
    if not candidates:
        return None
    # Names carry a sortable UTC stamp; the mtime breaks ties between runs of the same second.
    return max(candidates, key=lambda p: (p.name.split("-", 1)[1], p.stat().st_mtime))
