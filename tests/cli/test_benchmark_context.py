"""``cwtmae benchmark --channel A,B --context K``: every cell fine-tunes a several-channel context
model, scores its test windows through the context path, and ``--resume`` keeps both."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.evaluate import inference
from cwtmae_cli.runtime.checkpoint import read_meta

runner = CliRunner()
N_SAMPLES = 500
BENCH = ["benchmark", "--folds", "2", "--label-fractions", "1", "--steps", "2", "--batch-size",
         "4", "--device", "cpu", "--channel", "EEG,EOG", "--context", "3", "--keep-checkpoints"]


def _two_channel_store(path: Path) -> None:
    """48 windows of 10 s in 8 one-recording subjects, 6 consecutive windows each: the class in
    the EEG's frequency, noise in the EOG."""
    rng = np.random.default_rng(0)
    t_s = np.arange(N_SAMPLES) / 50.0
    labels = np.arange(48) % 3
    eeg = 40 * np.sin(2 * np.pi * np.array([2.0, 5.0, 11.0])[labels][:, None] * t_s)
    eog = rng.normal(0, 80, (48, N_SAMPLES))
    recording = np.arange(48) % 8
    write_store_from_arrays(
        path, np.stack([eeg, eog], axis=1).astype(np.float32), labels, recording,
        (np.arange(48) // 8) * 10.0, fs_hz=50.0, window_s=10.0, channels=["EEG", "EOG"],
        label_names=["a", "b", "c"], subjects=[str(i) for i in range(8)],
        split=np.select([recording < 5, recording < 7], [0, 1], 2).astype(np.int8))


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """A 2-step single-channel pretraining, then the 2-fold benchmark with both options; the
    number of windows scored through the context path is counted."""
    root = tmp_path_factory.mktemp("bench-ctx")
    _two_channel_store(root / "stores" / "two.zarr")
    result = runner.invoke(app, ["pretrain", "--model", "tiny", "--steps", "2", "--batch-size",
                                 "8", "--device", "cpu", "--workdir", str(root)])
    assert result.exit_code == 0, result.output
    out = root / "runs" / "benchmark-ctx"
    scored: list[int] = []
    original = inference.predict_proba_context
    with pytest.MonkeyPatch.context() as mp:
        def spy(model, neighbours, *args, **kwargs):
            scored.append(len(neighbours))
            assert neighbours.shape[1] == 3
            return original(model, neighbours, *args, **kwargs)

        mp.setattr(inference, "predict_proba_context", spy)
        result = runner.invoke(app, [*BENCH, "--workdir", str(root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return root, out, scored


def _cell_models(out: Path) -> dict[str, dict]:
    """Cell name -> the model_config of its best checkpoint."""
    return {cell.name: read_meta(cell / "checkpoints" / "best")["model_config"]
            for cell in sorted((out / "cells").iterdir()) if cell.is_dir()}


def test_every_cell_trains_a_two_channel_context_model(bench) -> None:
    _, out, _ = bench
    models = _cell_models(out)
    assert len(models) == 4  # 2 folds x (pretrained, scratch)
    for name, config in models.items():
        assert config["context"] == 3, name
        assert config["in_channels"] == 2, name
    for cell in (out / "cells").glob("*.json"):
        record = json.loads(cell.read_text())
        config = json.loads((out / record["run_dir"] / "config.json").read_text())
        assert config["channel"] == "EEG,EOG" and config["context"] == 3


def test_test_windows_are_scored_through_the_context_path(bench) -> None:
    _, out, scored = bench
    doc = json.loads((out / "benchmark.json").read_text())
    assert sorted(scored) == sorted(cell["n_test_windows"] for cell in doc["per_fold"])


def test_plan_json_keeps_them_and_resume_trains_with_them(bench) -> None:
    root, out, _ = bench
    settings = json.loads((out / "plan.json").read_text())["settings"]["finetune"]
    assert settings["channel"] == "EEG,EOG" and settings["context"] == 3
    redo = sorted((out / "cells").glob("*.json"))[0]
    redo.unlink()
    result = runner.invoke(app, ["benchmark", "--resume", str(out)])
    assert result.exit_code == 0, result.output
    config = _cell_models(out)[redo.stem]
    assert config["context"] == 3 and config["in_channels"] == 2


def test_resume_refuses_a_new_context(bench) -> None:
    _, out, _ = bench
    result = runner.invoke(app, ["benchmark", "--resume", str(out), "--context", "5"])
    assert result.exit_code == 2
    assert "--context" in result.output


@pytest.mark.parametrize("bad", ["2", "0"])
def test_an_even_or_non_positive_context_is_refused_before_anything_is_written(bench, bad):
    root, _, _ = bench
    out = root / "runs" / f"benchmark-bad-{bad}"
    result = runner.invoke(app, [*BENCH[:-3], "--context", bad, "--workdir", str(root),
                                 "--out", str(out)])
    assert result.exit_code == 2
    assert "--context must be an odd number" in result.output
    assert not out.exists()
