"""Exact resume: a run SIGKILLed after its step-10 checkpoint and continued with --resume ends
bit-identical to an uninterrupted run; no checkpoint folder is ever half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.runtime.checkpoint import read_meta
from cwtmae_cli.train.rundir import RunDir

pytestmark = pytest.mark.slow

COMMON = "--model tiny --steps 20 --batch-size 4 --device cpu --save-every 10 --seed 3 --lr 1e-3"
ARGS = {
    "pretrain": ["pretrain", *COMMON.split(), "--mask-mode", "time"],
    "finetune": ["finetune", *COMMON.split(), *"--from-scratch --head mlp --eval-every 5".split(),
                 "--class-weights"],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return write_sine_store(tmp_path_factory.mktemp("store") / "sine.zarr", n_per_class=12)


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cwtmae_cli", *args],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _assert_checkpoints_whole(run: Path) -> None:
    for ckpt in (p for p in (run / "checkpoints").iterdir() if not p.name.startswith(".")):
        assert {p.name for p in ckpt.iterdir()} >= {"model.safetensors", "meta.json"}, ckpt
        read_meta(ckpt)
        load_file(str(ckpt / "model.safetensors"))


@pytest.mark.parametrize("command", ["pretrain", "finetune"])
def test_killed_then_resumed_run_is_bit_identical(tmp_path, store, command) -> None:
    args = [*ARGS[command], "--data", str(store)]
    reference = tmp_path / "reference"
    result = CliRunner().invoke(app, [*args, "--out", str(reference)])
    assert result.exit_code == 0, result.output

    killed = tmp_path / "killed"
    proc = _start([*args, "--out", str(killed)])
    step10 = killed / "checkpoints" / "step-0000010"
    deadline = time.monotonic() + 240
    while not step10.exists():  # the rename makes the folder appear complete, all at once
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "no step-10 checkpoint within 240 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "FINISHED").exists(), "the run ended before it could be killed"
    assert not (killed / "checkpoints" / "step-0000020").exists()
    _assert_checkpoints_whole(killed)

    resumed = subprocess.run(
        [sys.executable, "-m", "cwtmae_cli", *args, "--resume", str(killed)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming" in resumed.stderr and "step 10" in resumed.stderr
    assert (killed / "FINISHED").exists()
    _assert_checkpoints_whole(killed)
    assert not [p for p in (killed / "checkpoints").iterdir() if p.name.startswith(".")]

    final = "checkpoints/step-0000020/model.safetensors"
    want, got = load_file(str(reference / final)), load_file(str(killed / final))
    assert want.keys() == got.keys()
    for key in want:
        assert want[key].equal(got[key]), f"{key} differs after resume"
    # the metrics log holds each step once, as the uninterrupted run's does
    steps = [(r["kind"], r["step"]) for r in RunDir(killed).read_metrics()]
    assert steps == [(r["kind"], r["step"]) for r in RunDir(reference).read_metrics()]
    if command == "finetune":
        assert (
            read_meta(killed / "checkpoints" / "best")["step"]
            == read_meta(reference / "checkpoints" / "best")["step"]
        )


def test_resume_refuses_a_changed_setting(tmp_path, store) -> None:
    run = tmp_path / "run"
    args = [*ARGS["pretrain"], "--data", str(store)]
    args[args.index("20")] = "3"  # --steps 3
    assert CliRunner().invoke(app, [*args, "--out", str(run)]).exit_code == 0
    result = CliRunner().invoke(app, ["pretrain", "--resume", str(run), "--lr", "0.5"])
    assert result.exit_code == 2
    assert "--lr 0.5 differs from the run being resumed" in result.output
