"""SIGKILL ``prepare`` at >= 10 seeded random moments (one right after the store appears, the
others spread over the run), rerun it each time: the store always opens and shows whole
recordings only, and the finished store equals an uninterrupted run's."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from crash_checks import KILLS_SURVIVED, kill_loop, remove, store_state
from forked import run_forked

from cwtmae_cli.data.store.schema import ARRAY_NAMES, describe_store, open_store

pytestmark = pytest.mark.slow

N_KILLS = 10
N_RECORDINGS = 12
STAMPS = {"created_utc", "updated_utc"}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """12 Sleep-EDF-style nights of 10 minutes (6 subjects x 2 nights), 20 windows each."""
    from cwtmae_cli.demo.synthetic import write_sleep_edf_dataset

    folder = tmp_path_factory.mktemp("sleep")
    write_sleep_edf_dataset(folder, n_subjects=6, minutes=10, seed=4, nights_per_subject=2)
    return folder


def check_store(store: Path) -> dict[str, bool]:
    """A killed prepare leaves a store that opens and holds whole recordings only."""
    found = store_state(store)
    if not (store / "zarr.json").is_file():
        return found
    opened = open_store(store)
    n_windows = sum(r["n_windows"] for r in opened.recordings)
    assert len(opened) == n_windows
    assert opened.signals[:].shape[0] == n_windows
    assert np.isfinite(opened.signals[:]).all()
    assert (np.diff(opened.recording[:]) >= 0).all()  # recordings appended whole, in order
    assert describe_store(store)["n_windows"] == n_windows
    print(f"  store after the kill: {len(opened.recordings)} recordings committed")
    return found


def _committed_at_least(store: Path, k: int) -> Callable[[], bool]:
    def test() -> bool:
        try:
            attrs = json.loads((store / "zarr.json").read_text())["attributes"]
        except (OSError, ValueError, KeyError):
            return False
        return len(attrs.get("recordings", [])) >= k

    test.__doc__ = f"commit {k}"
    return test


def test_prepare_survives_random_sigkills(tmp_path, source) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    args = ["prepare", "sleep-edf", "--source", str(source)]
    reference = tmp_path / "reference.zarr"
    ref = run_forked([*args, "--out", str(reference)], logs / "ref.log", watch=reference)
    assert ref.status == 0, ref.log[-3000:]
    print(f"reference run: {ref.elapsed_s:.2f} s, store created after {ref.seen_s} s")
    store = tmp_path / "killed.zarr"
    # Kill points: right after the store appears, then at a random moment after the k-th
    # recording was committed (k random, increasing), so the kills spread over the recordings.
    rng = random.Random(21)
    per_recording_s = (ref.elapsed_s - (ref.seen_s or 0.0)) / N_RECORDINGS
    points: list[tuple[Path | Callable[[], bool] | None, float]] = [
        (store / "zarr.json", rng.uniform(0, 0.02))
    ]
    for k in sorted(rng.sample(range(N_RECORDINGS), N_KILLS - 1)):
        points.append((_committed_at_least(store, k), rng.uniform(0, 1.5 * per_recording_s)))
    counts, _ = kill_loop(
        start=lambda resume: [*args, "--out", str(store)],
        is_resumable=lambda: store.exists(),
        restart=lambda: remove(store),
        after_kill=lambda: check_store(store),
        kill_points=points,
        logs=logs,
    )
    KILLS_SURVIVED["prepare"] = counts
    print(f"prepare: {counts['kills']} SIGKILLs survived: {counts}")
    assert counts["kills"] >= N_KILLS
    a, b = open_store(store), open_store(reference)
    assert a.complete and b.complete
    for name in ARRAY_NAMES:
        np.testing.assert_array_equal(getattr(a, name)[:], getattr(b, name)[:], err_msg=name)
    assert {k: v for k, v in a.attrs.items() if k not in STAMPS} == {
        k: v for k, v in b.attrs.items() if k not in STAMPS
    }
    assert not (tmp_path / "killed.zarr.lock").exists()  # the stale lock was taken over
    assert not list(store.rglob("*.partial"))  # temp files of killed writes were cleared
