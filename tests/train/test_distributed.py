"""``--gpus 2 --device cpu``: two gloo processes pretrain (loss falls) and fine-tune; with dropout
off, fine-tuning matches one process on the same global batch."""

from __future__ import annotations

from pathlib import Path

import pytest
from safetensors.torch import load_file
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.train.rundir import RunDir

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return write_sine_store(tmp_path_factory.mktemp("store") / "sine.zarr", n_per_class=12)


def _invoke(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def test_two_processes_pretrain_and_the_loss_falls(tmp_path, store) -> None:
    run = tmp_path / "pre"
    args = "--model tiny --steps 16 --batch-size 8 --lr 2e-3 --gpus 2 --device cpu".split()
    _invoke(["pretrain", "--data", str(store), *args, "--out", str(run)])
    losses = [r["loss"] for r in RunDir(run).read_metrics() if r["kind"] == "train"]
    assert len(losses) == 2  # logged at steps 10 and 16, averaged over both ranks
    assert losses[-1] < losses[0]
    assert (run / "FINISHED").exists() and (run / "reconstruction.png").exists()
    assert RunDir(run).read_config()["gpus"] == 2


def test_two_processes_finetune_like_one_on_the_same_global_batch(tmp_path, store) -> None:
    settings = (
        "--from-scratch --model tiny --head cot --dropout 0 --steps 6 --batch-size 8 --lr 1e-3 "
        "--device cpu --eval-every 3 --seed 5"
    )
    common = ["finetune", "--data", str(store), *settings.split()]
    _invoke([*common, "--out", str(tmp_path / "one")])
    _invoke([*common, "--gpus", "2", "--out", str(tmp_path / "two")])
    final = "checkpoints/step-0000006/model.safetensors"
    one, two = load_file(str(tmp_path / "one" / final)), load_file(str(tmp_path / "two" / final))
    worst = max(float((one[k] - two[k]).abs().max()) for k in one)
    assert worst < 1e-4, f"largest weight difference {worst}"
    val = {
        p.name: [r for r in RunDir(tmp_path / p.name).read_metrics() if r["kind"] == "val"]
        for p in (tmp_path / "one", tmp_path / "two")
    }
    assert [r["step"] for r in val["one"]] == [r["step"] for r in val["two"]] == [3, 6]
    for a, b in zip(val["one"], val["two"], strict=True):
        assert a["n_windows"] == b["n_windows"]  # every validation window counted once
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
        assert a["accuracy"] == b["accuracy"]


def test_the_same_command_joins_a_torchrun_launch(tmp_path, store) -> None:
    import os
    import subprocess
    import sys

    run = tmp_path / "torchrun"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "cwtmae_cli",
        "pretrain",
        "--data",
        str(store),
        "--model",
        "tiny",
        "--steps",
        "4",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--out",
        str(run),
    ]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (run / "FINISHED").exists()
    assert done.stdout.count("run folder") == 1  # only rank 0 reports
    assert "4 / 4" in done.stdout and "on 2 processes" in done.stdout
