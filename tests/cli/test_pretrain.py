"""``cwtmae pretrain`` from the command line: defaults, run folder layout, checkpoints, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.runtime.checkpoint import describe_checkpoint, read_meta
from cwtmae_cli.runtime.loading import load_mae
from cwtmae_cli.train.rundir import RunDir
from cwtmae_cli.train.tensorboard import tensorboard_missing

runner = CliRunner()
TINY = ["--model", "tiny", "--batch-size", "8", "--device", "cpu"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("work")
    write_sine_store(root / "stores" / "sine.zarr", n_per_class=8)
    return root


@pytest.fixture(scope="module")
def pretrain_run(workdir: Path) -> tuple[Path, object]:
    toml = workdir / "pre.toml"
    toml.write_text("log_every = 3\nsteps = 100\n[pretrain]\nlr = 0.002\n")
    result = runner.invoke(
        app,
        [
            "pretrain",
            *TINY,
            "--steps",
            "12",
            "--save-every",
            "6",
            "--config",
            str(toml),
            "--workdir",
            str(workdir),
        ],
    )
    assert result.exit_code == 0, result.output
    runs = sorted((workdir / "runs").glob("pretrain-*"))
    assert len(runs) == 1
    return runs[0], result


@pytest.mark.slow
def test_defaults_are_announced_and_the_run_folder_is_complete(pretrain_run) -> None:
    run, result = pretrain_run
    assert "using store stores/sine.zarr" in result.stderr
    # stderr is no terminal here: plain progress lines (the first, the last), no bar redraws
    lines = [line for line in result.stderr.splitlines() if line.startswith("pretrain: step")]
    assert lines[0].startswith("pretrain: step 1/12 (8 %)") and len(lines) >= 2
    assert lines[-1].startswith("pretrain: step 12/12 (100 %)  epoch 12.00  loss ")
    for part in (" lr ", " samples/s", "elapsed 0:", "ETA 0:00:00"):
        assert part in lines[-1]
    assert "━" not in result.stderr and "\r" not in result.stderr
    assert "run folder" in result.stdout and "reconstruction.png" in result.stdout
    events = sorted(p.name for p in run.glob("events.out.tfevents.*"))
    assert len(events) == (0 if tensorboard_missing() else 1), events
    assert {p.name for p in run.iterdir()} - set(events) == {
        "config.json",
        "metrics.jsonl",
        "checkpoints",
        "latest",
        "FINISHED",
        "reconstruction.png",
    }
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step-0000006",
        "step-0000012",
    ]
    assert (run / "latest").read_text().strip() == "checkpoints/step-0000012"
    config = json.loads((run / "config.json").read_text())
    assert (config["steps"], config["lr"], config["log_every"]) == (12, 0.002, 3)  # flag > toml
    # resolved values, not what was asked: the device used, the preset's mask ratio, the model
    assert (config["device"], config["mask_ratio"], config["epochs"]) == ("cpu", 0.75, 12.0)
    assert config["precision"] == "fp32"  # --precision auto on a CPU (bf16 measured slower)
    meta = read_meta(run / "checkpoints" / "step-0000012")
    assert config["model_config"] == meta["model_config"]
    assert meta["run_config"]["precision"] == "fp32"  # the checkpoint records it too
    assert not [k for k, v in config.items() if v is None or v == "auto"], config
    losses = [r["loss"] for r in RunDir(run).read_metrics() if r["kind"] == "train"]
    assert len(losses) == 4 and losses[-1] < losses[0]


@pytest.mark.slow
def test_checkpoint_meta_rebuilds_the_model(pretrain_run) -> None:
    run, _ = pretrain_run
    meta = read_meta(run / "checkpoints" / "step-0000012")
    # 15 training windows make one batch of 8 per epoch: step 12 ends epoch 12
    assert (meta["kind"], meta["preset"], meta["step"], meta["epoch"]) == ("mae", "tiny", 12, 12.0)
    assert meta["preprocessing"] == {
        "fs_hz": 100.0,
        "window_s": 30.0,
        "window_policy": {
            "window_s": 30.0, "stride_s": 30.0, "cover": False, "short_recordings": "dropped"
        },
        "n_samples": 3000,
        "channel": "EEG Fpz-Cz",
        "channels": ["EEG Fpz-Cz"],
        "channel_alternatives": ["EEG Fpz-Cz"],
        "cwt_scales": 32,
        "standardize": "per-window-zscore",
    }
    assert meta["run_config"]["command"] == "pretrain" and meta["store"].endswith("sine.zarr")
    model, loaded = load_mae(run)  # a run folder means its latest checkpoint
    assert loaded["step"] == 12 and model.config == meta["model_config"]
    info = describe_checkpoint(run)
    assert info["kind"] == "mae" and info["resumable"] and info["n_parameters"] > 0


@pytest.mark.slow
def test_an_existing_run_folder_is_never_overwritten(pretrain_run, workdir) -> None:
    run, _ = pretrain_run
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    result = runner.invoke(
        app, ["pretrain", *TINY, "--steps", "2", "--out", str(run), "--workdir", str(workdir)]
    )
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.output
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--data", "missing.zarr"], 1, "no store at missing.zarr"),
        (["--splits", "train,holdout"], 2, "unknown split `holdout`"),
        (["--steps", "2", "--epochs", "2"], 2, "either --epochs or --steps"),
        (["--device", "tpu"], 2, "unknown --device `tpu`"),
        (["--model", "huge"], 2, "--model must be one of tiny, small, base"),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(workdir, args, code, message) -> None:
    result = runner.invoke(
        app, ["pretrain", "--workdir", str(workdir), "--out", str(workdir / "never"), *args]
    )
    assert result.exit_code == code, result.output
    assert message in result.output
    assert not (workdir / "never").exists()


def test_no_store_in_the_working_folder(tmp_path) -> None:
    result = runner.invoke(app, ["pretrain", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert "run `cwtmae prepare RECIPE` first" in result.output
    assert not (tmp_path / "runs").exists()


def _event_accumulator(run: Path):
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator"
    ).EventAccumulator(str(run), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


@pytest.mark.slow
def test_tensorboard_gets_the_logged_losses_and_the_reconstruction(pretrain_run) -> None:
    run, _ = pretrain_run
    events = _event_accumulator(run)
    logged = [r for r in RunDir(run).read_metrics() if r["kind"] == "train"]
    for key in ("loss", "lr", "grad_norm"):
        seen = [(e.step, e.value) for e in events.Scalars(f"train/{key}")]
        assert seen == [(r["step"], pytest.approx(r[key], rel=1e-6)) for r in logged], key
    images = events.Images("reconstruction")
    assert [i.step for i in images] == [12]
    assert images[0].width > 500 and images[0].height > 500  # the 4-panel figure, not a blank


@pytest.mark.slow
def test_a_run_without_tensorboard_says_so_in_one_line_and_finishes(
    workdir, tmp_path, monkeypatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    out = tmp_path / "run"
    args = ["pretrain", *TINY, "--steps", "2", "--out", str(out), "--workdir", str(workdir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "tensorboard is" in line]
    assert len(said) == 1 and "writes no TensorBoard event files" in said[0]
    assert (out / "FINISHED").is_file() and not list(out.glob("events.out.tfevents.*"))
