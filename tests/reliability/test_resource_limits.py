"""Resource limits: a full disk while writing a store, a training rank that dies, and a
recording far larger than the memory ``prepare`` may use."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.store import ARRAY_NAMES, open_store

runner = CliRunner()
STAMPS = {"created_utc", "updated_utc"}


def _one_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, OSError)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def _same_store(a: Path, b: Path) -> None:
    x, y = open_store(a), open_store(b)
    for name in ARRAY_NAMES:
        np.testing.assert_array_equal(getattr(x, name)[:], getattr(y, name)[:], err_msg=name)
    assert {k: v for k, v in x.attrs.items() if k not in STAMPS} == {
        k: v for k, v in y.attrs.items() if k not in STAMPS
    }


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> Path:
    from cwtmae_cli.data.synthetic import write_sleep_edf_dataset

    folder = tmp_path_factory.mktemp("nights")
    write_sleep_edf_dataset(folder, n_subjects=4, minutes=10, seed=8)
    return folder


def test_full_disk_mid_recording_is_one_line_and_the_store_resumes(
    tmp_path, nights, monkeypatch
) -> None:
    from zarr.storage import LocalStore

    args = ["prepare", "sleep-edf", "--source", str(nights)]
    reference = tmp_path / "reference.zarr"
    assert runner.invoke(app, [*args, "--out", str(reference)]).exit_code == 0
    real_set = LocalStore.set
    writes = {"signals": 0}

    async def set_until_full(self, key, value, *rest, **kw):
        if key.startswith("signals/c/"):
            writes["signals"] += 1
            if writes["signals"] == 3:  # the third recording's windows: the disk is full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), key)
        return await real_set(self, key, value, *rest, **kw)

    monkeypatch.setattr(LocalStore, "set", set_until_full)
    store = tmp_path / "full.zarr"
    message = _one_error(runner.invoke(app, [*args, "--out", str(store)]))
    assert str(store) in message and "No space left on device" in message
    assert "rerun the same command to resume" in message
    opened = open_store(store)  # opens cleanly at its last commit: two whole recordings
    assert [r["id"] for r in opened.recordings] == ["SC4001E0", "SC4011E0"]
    assert not opened.complete and not (tmp_path / "full.zarr.lock").exists()
    monkeypatch.setattr(LocalStore, "set", real_set)  # space was freed
    result = runner.invoke(app, [*args, "--out", str(store), "--json"])
    assert result.exit_code == 0, result.output
    _same_store(store, reference)


def _spawned_ranks(pid: int) -> list[int]:
    """Pids of the rank processes a ``--gpus N`` launcher spawned (not its resource tracker)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    ranks = []
    for child in sorted(children):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            ranks.append(child)
    return ranks


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_a_killed_rank_ends_the_distributed_run_with_a_clear_error(tmp_path, sine_store) -> None:
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "cwtmae_cli", "pretrain", "--data", str(sine_store),
           "--model", "tiny", "--steps", "400", "--batch-size", "2", "--save-every", "1",
           "--gpus", "2", "--device", "cpu", "--out", str(run)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not (run / "checkpoints" / "step-0000002").exists():
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the two ranks did not start training"
            time.sleep(0.05)
        ranks = _spawned_ranks(proc.pid)
        assert len(ranks) == 2, ranks
        os.kill(ranks[1], signal.SIGKILL)
        killed_at = time.monotonic()
        _, stderr = proc.communicate(timeout=90)
        took_s = time.monotonic() - killed_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = stderr.decode()
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert proc.returncode == 1, text[-2000:]
    assert len(errors) == 1 and "Traceback" not in text, text[-2000:]
    assert "rank 1 was killed by signal 9" in errors[0]
    assert took_s < 60, f"the launcher needed {took_s:.0f} s to notice"
    time.sleep(0.5)
    assert not Path(f"/proc/{ranks[0]}").exists(), "rank 0 was left running"
    print(f"a killed rank ended the run in {took_s:.1f} s: {errors[0]}")
