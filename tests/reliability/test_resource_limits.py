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
from cwtmae_cli.data.store.schema import ARRAY_NAMES, open_store

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
    from cwtmae_cli.demo.synthetic import write_sleep_edf_dataset

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


CAPPED = r"""
import resource, sys, threading
# Address space, not memory, is what RLIMIT_AS caps: keep thread stacks (8 MiB reserved each by
# default, for Python and C threads alike) and malloc arenas from eating it.
threading.stack_size(512 * 1024)
resource.setrlimit(resource.RLIMIT_STACK, (1 << 20, resource.getrlimit(resource.RLIMIT_STACK)[1]))
from pathlib import Path
from cwtmae_cli.cli.app import app
from cwtmae_cli.data.readers.dispatch import read_recording
import mne, scipy.signal, zarr  # noqa: F401  (imported before the cap: their code is not data)

cap_bytes, edf, out = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
size_kb = int(Path("/proc/self/status").read_text().split("VmSize:")[1].split()[0])
limit = size_kb * 1024 + cap_bytes
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    read_recording(edf, ["Fpz-Cz"])
    print("WHOLE-READ-FITS")
except Exception as exc:  # MemoryError, or DataError wrapping one
    print("WHOLE-READ-FAILS", type(exc).__name__, str(exc)[:200])
try:
    app(["prepare", "edf", "--source", str(edf.parent), "--channels", "Fpz-Cz", "--out", out])
except SystemExit as exc:
    sys.exit(exc.code)
"""
CAP_MB = 120
HOURS = 48


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_prepare_streams_a_recording_larger_than_its_memory_cap(tmp_path) -> None:
    import subprocess
    import sys

    from cwtmae_cli.data.edf_writer import write_edf
    from cwtmae_cli.data.readers.dispatch import open_recording

    n = int(HOURS * 3600 * 100)
    rng = np.random.default_rng(0)
    eeg = 30 * np.sin(2 * np.pi * 10 * np.arange(n) / 100) + rng.normal(0, 10, n)  # (n,)
    edf = write_edf(tmp_path / "src" / "long.edf", eeg[None], 100.0, ["EEG Fpz-Cz"],
                    record_duration_s=30.0)  # fmt: skip
    del eeg
    whole_bytes = n * (8 + 8 + 4)  # float64 read, float64 scaled, float32 result
    assert whole_bytes > 2.5 * CAP_MB * 2**20  # loading it whole needs far more than the cap
    out = tmp_path / "long.zarr"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MALLOC_ARENA_MAX": "2"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", CAPPED, str(CAP_MB * 2**20), str(edf), str(out)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert "WHOLE-READ-FAILS" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    store = open_store(out)
    assert len(store) == HOURS * 120 and store.complete
    stream = open_recording(edf, ["Fpz-Cz"])
    for w in (0, 1234, len(store) - 1):  # spot checks: each window is its slice of the file
        expected = stream.read(w * 3000, (w + 1) * 3000)
        np.testing.assert_array_equal(store.signals[w], expected)
        assert store.start_s[w] == w * 30.0
    print(f"{HOURS} h recording ({whole_bytes / 2**20:.0f} MiB to load whole) prepared under a "
          f"{CAP_MB} MiB cap: {len(store)} windows")  # fmt: skip


@pytest.fixture(scope="module")
def odd_rates(tmp_path_factory) -> Path:
    """A 256 Hz EDF (resampled to 100 Hz by the ``edf`` recipe) and a 360 Hz WFDB record."""
    from bad_inputs import write_wfdb

    from cwtmae_cli.data.edf_writer import write_edf

    folder = tmp_path_factory.mktemp("rates")
    rng = np.random.default_rng(3)
    write_edf(folder / "edf" / "r256.edf", rng.normal(0, 20, (1, 256 * 611)), 256.0,
              ["EEG Fpz-Cz"], record_duration_s=1.0)  # fmt: skip
    write_wfdb(folder / "wfdb", seconds=333)
    return folder


@pytest.mark.parametrize(
    ("recipe_name", "where", "channels"),
    [("sleep-edf", "nights", None), ("edf", "edf", ["Fpz-Cz"]), ("mitdb-af", "wfdb", None)],
)
def test_streamed_windows_equal_the_whole_recordings(
    recipe_name, where, channels, nights, odd_rates
) -> None:
    """Block-wise reading and resampling give the same windows, labels and drops as reading
    whole, bit for bit: at the recipe's rate (100 Hz EEG), from 256 Hz and from 360 Hz."""
    from cwtmae_cli.data.process import process_item, stream_item
    from cwtmae_cli.data.recipes.load import load_recipe
    from cwtmae_cli.data.recipes.recipe import with_overrides
    from cwtmae_cli.data.recipes.sources import find_recordings

    recipe = with_overrides(load_recipe(recipe_name), channels=channels)
    source = nights if where == "nights" else odd_rates / where
    item = find_recordings(recipe, source)[0]
    whole = process_item(item, recipe)
    assert len(whole.labels) > 5
    parts: list[tuple] = []
    info = stream_item(item, recipe, lambda *part: parts.append(part), block_windows=3)
    assert len(parts) > 2 and info == whole.info
    for got, want in zip(
        (np.concatenate(a) for a in zip(*parts, strict=True)),
        (whole.signals, whole.labels, whole.start_s),
        strict=True,
    ):
        np.testing.assert_array_equal(got, want)
