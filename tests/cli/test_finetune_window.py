"""Fine-tuning through the CLI on windows of another length than the pretraining's: the position
embedding interpolated (and said), a window that is no whole number of patches refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.runtime.checkpoint import read_meta
from cwtmae_cli.runtime.loading import load_state_dict

runner = CliRunner()
CPU = ["--model", "tiny", "--batch-size", "8", "--device", "cpu", "--steps", "2"]


def _invoke(args: list[str]):
    return runner.invoke(app, args, env={"COLUMNS": "200", "CWTMAE_HOME": None})


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("work")
    store = write_sine_store(root / "stores" / "thirty.zarr", n_per_class=8)  # 30 s at 100 Hz
    out = root / "runs" / "pretrain-30s"
    result = _invoke(["pretrain", *CPU, "--data", str(store), "--out", str(out),
                      "--workdir", str(root)])
    assert result.exit_code == 0, result.output
    return out / "checkpoints" / "step-0000002"


def test_ten_second_windows_at_250_hz_fine_tune_a_30_second_encoder(pretrained, tmp_path):
    store = write_sine_store(tmp_path / "ten.zarr", n_per_class=8, n_samples=2500, fs_hz=250.0)
    out = tmp_path / "finetune-10s"
    result = _invoke(["finetune", *CPU, "--data", str(store), "--pretrained", str(pretrained),
                      "--head", "mlp", "--out", str(out), "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert ("fine-tuning on 2500-sample windows (10 s at 250 Hz); the encoder was pretrained on "
            "3000 (30 s at 100 Hz): its position embedding is interpolated from 4 x 30 to 4 x 25 "
            "patches") in " ".join(result.stderr.split())
    best = out / "checkpoints" / "best"
    meta = read_meta(best)
    assert meta["model_config"]["signal_len"] == 2500 and meta["preprocessing"]["fs_hz"] == 250.0
    state = load_state_dict(best)
    assert state["encoder.grid_size"].tolist() == [4, 25]
    assert state["encoder.pos_embed"].shape[1] == 1 + 4 * 25
    evaluated = _invoke(["evaluate", "--checkpoint", str(best), "--data", str(store),
                         "--device", "cpu"])
    assert evaluated.exit_code == 0, evaluated.output


def test_a_window_of_no_whole_number_of_patches_is_refused_in_one_line(pretrained, tmp_path):
    store = write_sine_store(tmp_path / "odd.zarr", n_per_class=8, n_samples=1050, fs_hz=105.0)
    result = _invoke(["finetune", *CPU, "--data", str(store), "--pretrained", str(pretrained),
                      "--workdir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "1050 samples (10 s at 105 Hz)" in lines[0]
    assert "patches of 100" in lines[0] and "1000 or 1100 at 105 Hz" in lines[0]
    assert not (tmp_path / "runs").exists()


def test_the_same_samples_at_another_rate_are_said(pretrained, tmp_path):
    store = write_sine_store(tmp_path / "ecg.zarr", n_per_class=8, n_samples=3000, fs_hz=300.0)
    result = _invoke(["finetune", *CPU, "--data", str(store), "--pretrained", str(pretrained),
                      "--head", "mlp", "--out", str(tmp_path / "ft"), "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert ("fine-tuning on 3000-sample windows (10 s at 300 Hz); the encoder was pretrained on "
            "3000 (30 s at 100 Hz): the same patch grid, so nothing is interpolated, but a patch "
            "spans 0.333 s here against 1 s in pretraining, and each wavelet scale stands for 3 "
            "times the frequency it had there") in " ".join(result.stderr.split())


def test_the_same_windows_at_the_same_rate_say_nothing(pretrained, tmp_path):
    store = write_sine_store(tmp_path / "same.zarr", n_per_class=8)  # 30 s at 100 Hz
    result = _invoke(["finetune", *CPU, "--data", str(store), "--pretrained", str(pretrained),
                      "--head", "mlp", "--out", str(tmp_path / "ft"), "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "the encoder was pretrained on" not in result.stderr
