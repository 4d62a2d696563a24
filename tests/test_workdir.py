"""Defaults of SPEC §1: store discovery, run folders and the latest finished run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cwtmae_cli.errors import StoreError, UsageError
from cwtmae_cli.workdir import (
    FINISHED_MARKER,
    find_store,
    latest_run,
    new_run_dir,
    resolve_workdir,
)


def test_resolve_workdir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("CWTMAE_HOME", str(tmp_path))
    assert resolve_workdir(None) == tmp_path
    assert resolve_workdir(tmp_path / "x") == tmp_path / "x"


def test_find_store_only_one(tmp_path):
    with pytest.raises(StoreError, match="no store"):
        find_store(tmp_path)
    (tmp_path / "stores" / "a.zarr").mkdir(parents=True)
    assert find_store(tmp_path) == tmp_path / "stores" / "a.zarr"
    (tmp_path / "stores" / "b.zarr").mkdir()
    with pytest.raises(UsageError, match="a.zarr, stores/b.zarr"):
        find_store(tmp_path)
    with pytest.raises(StoreError, match="no store at"):
        find_store(tmp_path, tmp_path / "missing.zarr")


def test_runs_latest_finished(tmp_path):
    t = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = new_run_dir(tmp_path, "pretrain", now=t)
    assert first.name == "pretrain-20260102T030405Z"
    first.mkdir(parents=True)
    second = new_run_dir(tmp_path, "pretrain", now=t)
    assert second.name == "pretrain-20260102T030405Z-2"
    second.mkdir()
    assert latest_run(tmp_path, "pretrain") is None
    (first / FINISHED_MARKER).touch()
    assert latest_run(tmp_path, "pretrain") == first
    (second / FINISHED_MARKER).touch()
    assert latest_run(tmp_path, "pretrain") == second
    assert latest_run(tmp_path, "finetune") is None
