"""Several channels through the training commands: pretrain and fine-tune on two store
channels, a single-channel pretrained encoder widened, a one-channel store refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.runtime.checkpoint import read_meta
from cwtmae_cli.runtime.loading import load_state_dict

runner = CliRunner()
CPU = ["--model", "tiny", "--batch-size", "8", "--device", "cpu", "--steps", "2"]
N_SAMPLES = 1000


def _store(path: Path, channels: list[str]) -> Path:
    """48 windows of 10 s: the class in the EEG's frequency, the EOG noise; 8 subjects."""
    rng = np.random.default_rng(0)
    t_s = np.arange(N_SAMPLES) / 100.0
    labels = np.arange(48) % 3
    eeg = 40 * np.sin(2 * np.pi * np.array([2.0, 5.0, 11.0])[labels][:, None] * t_s)
    by_name = {"EEG": eeg, "EOG": rng.normal(0, 80, (48, N_SAMPLES))}
    signals = np.stack([by_name[c] for c in channels], axis=1).astype(np.float32)
    recording = np.arange(48) % 8
    return write_store_from_arrays(
        path, signals, labels, recording, (np.arange(48) // 8) * 10.0, fs_hz=100.0,
        window_s=10.0, channels=channels, label_names=["a", "b", "c"],
        subjects=[str(i) for i in range(8)],
        split=np.select([recording < 5, recording < 7], [0, 1], 2).astype(np.int8))


def _run(args: list[str], workdir: Path, name: str) -> Path:
    out = workdir / "runs" / name
    result = runner.invoke(app, [*args, *CPU, "--workdir", str(workdir), "--out", str(out)],
                           env={"COLUMNS": "200", "CWTMAE_HOME": None})
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("work")
    _store(root / "stores" / "two.zarr", ["EEG", "EOG"])
    return root


def test_pretraining_on_two_channels_records_them_in_order(workdir: Path) -> None:
    run = _run(["pretrain", "--channel", "EOG,EEG"], workdir, "pretrain-two")
    meta = read_meta(run / "checkpoints" / "step-0000002")
    assert meta["preprocessing"]["channels"] == ["EOG", "EEG"]
    assert meta["preprocessing"]["channel"] == "EOG,EEG"
    assert meta["model_config"]["in_channels"] == 2 and (run / "reconstruction.png").is_file()
    shown = runner.invoke(app, ["inspect", str(run)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert [line for line in shown.output.splitlines() if "channel_slots" in line][0].split(
        "channel_slots")[1].strip(" │|") == "1: EOG, 2: EEG"


def test_a_single_channel_encoder_fine_tunes_on_two_channels(workdir: Path) -> None:
    pre = _run(["pretrain", "--channel", "EEG"], workdir, "pretrain-one")
    pre_ckpt = pre / "checkpoints" / "step-0000002"
    run = _run(["finetune", "--channel", "EEG,EOG", "--pretrained", str(pre_ckpt),
                "--freeze-encoder", "--head", "mlp"], workdir, "finetune-two")
    best = run / "checkpoints" / "best"
    meta = read_meta(best)
    assert meta["model_config"]["in_channels"] == 2
    assert meta["preprocessing"]["channels"] == ["EEG", "EOG"]
    kernel = load_state_dict(pre_ckpt)["encoder.patch_embed.proj.weight"]  # (D, 3, pf, pt)
    widened = load_state_dict(best)["encoder.patch_embed.proj.weight"]  # (D, 6, pf, pt)
    torch.testing.assert_close(widened, torch.cat([kernel, kernel], dim=1) / 2)

    one = _store(workdir / "one.zarr", ["EEG"])
    result = runner.invoke(app, ["evaluate", "--checkpoint", str(best), "--data", str(one),
                                 "--device", "cpu"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "the model reads 2 channels (EEG, EOG) but the store has 1 (EEG)" in result.output
    assert len(result.output.strip().splitlines()) == 1
