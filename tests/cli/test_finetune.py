"""``cwtmae finetune`` from the command line: default pretrained run, accuracy on a separable
store, layer-wise rates in a real run, validation-only selection, and the bad-input matrix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.store import loader
from cwtmae_cli.runtime.checkpoint import read_meta
from cwtmae_cli.runtime.loading import load_classifier
from cwtmae_cli.runtime.state import load_train_state

runner = CliRunner()
CPU = ["--batch-size", "8", "--device", "cpu"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A separable 3-class store and a finished tiny pretraining run on it."""
    root = tmp_path_factory.mktemp("work")
    write_sine_store(root / "stores" / "sine.zarr", n_per_class=16)
    result = runner.invoke(
        app,
        [
            "pretrain",
            "--model",
            "tiny",
            "--steps",
            "8",
            *CPU,
            "--lr",
            "2e-3",
            "--workdir",
            str(root),
        ],
    )
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def finetune_run(workdir: Path, tmp_path_factory):
    """``cwtmae finetune --head cot --classes 3`` as a user types it, recording which splits
    the command opened."""
    opened: list[tuple[int, ...]] = []
    original = loader.WindowDataset.__init__

    def spy(self, store_path, splits=(0,), *args, **kwargs):
        opened.append(tuple(splits))
        original(self, store_path, splits, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loader.WindowDataset, "__init__", spy)
        result = runner.invoke(
            app,
            [
                "finetune",
                "--head",
                "cot",
                "--classes",
                "3",
                "--steps",
                "30",
                *CPU,
                "--lr",
                "2e-3",
                "--layer-decay",
                "0.5",
                "--eval-every",
                "10",
                "--workdir",
                str(workdir),
            ],
        )
    assert result.exit_code == 0, result.output
    run = max((workdir / "runs").glob("finetune-*"))
    return run, result, opened


@pytest.mark.slow
def test_defaults_pick_the_store_and_the_latest_pretraining_run(workdir, finetune_run) -> None:
    run, result, _ = finetune_run
    pretrain = max((workdir / "runs").glob("pretrain-*"))
    assert "using store stores/sine.zarr" in result.stderr
    assert f"using pretrained checkpoint runs/{pretrain.name}/checkpoints/step-0000008" in (
        result.stderr
    )
    meta = read_meta(run / "checkpoints" / "best")
    assert meta["pretrained"] == str((pretrain / "checkpoints" / "step-0000008").resolve())
    assert meta["label_names"] == ["f0", "f1", "f2"] and meta["kind"] == "classifier"
    config = json.loads((run / "config.json").read_text())  # resolved: the model it trained
    assert (config["device"], config["model"], config["classes"]) == ("cpu", "tiny", 3)
    assert config["model_config"] == meta["model_config"] and config["pretrained"]
    assert not [k for k, v in config.items() if v is None or v == "auto"], config


@pytest.mark.slow
def test_separable_classes_reach_90_percent_validation_accuracy(finetune_run) -> None:
    run, result, _ = finetune_run
    model, meta = load_classifier(run)  # a run folder means its best checkpoint
    assert meta["metrics"]["split"] == "val"
    assert meta["metrics"]["accuracy"] >= 0.9
    assert "best val macro_f1" in result.stdout
    assert model.config["num_classes"] == 3 and not model.training


@pytest.mark.slow
def test_the_test_split_is_never_opened(finetune_run) -> None:
    _, _, opened = finetune_run
    assert opened and all(2 not in splits for splits in opened)
    assert {splits for splits in opened} == {(0,), (1,)}


@pytest.mark.slow
def test_layer_decay_gives_each_layer_its_own_rate_in_a_real_run(finetune_run) -> None:
    run, _, _ = finetune_run
    groups = load_train_state(run / "checkpoints" / "step-0000030")["optimizer"]["param_groups"]
    num_layers = max(g["layer_id"] for g in groups) + 1
    assert num_layers == 4  # tiny: depth 2 + embeddings + head
    head_lr = next(g["lr"] for g in groups if g["layer_id"] == num_layers - 1)
    assert head_lr > 0
    for group in groups:
        expected = 0.5 ** (num_layers - 1 - group["layer_id"])
        assert group["lr"] / head_lr == pytest.approx(expected), group["names"][:2]
    assert len({round(g["lr"] / head_lr, 6) for g in groups}) == num_layers


def _runs(workdir: Path) -> list[str]:
    return sorted(p.name for p in (workdir / "runs").iterdir())


@pytest.mark.slow
def test_bad_input_exits_1_with_a_clear_message_and_writes_nothing(
    workdir, finetune_run, tmp_path
) -> None:
    finetune, _, _ = finetune_run
    pretrain = max((workdir / "runs").glob("pretrain-*"))
    corrupt = tmp_path / "corrupt"
    shutil.copytree(pretrain / "checkpoints" / "step-0000008", corrupt)
    weights = corrupt / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    unlabelled = write_sine_store(tmp_path / "unlabelled.zarr", n_per_class=4, labelled=False)
    cases = [
        (["--pretrained", str(finetune)], "is a fine-tuned classifier checkpoint"),
        (["--data", str(unlabelled)], "has no labelled training windows"),
        (["--classes", "5"], "--classes 5 but store"),
        (["--pretrained", str(corrupt)], "model.safetensors is corrupted"),
        (["--data", str(tmp_path / "missing.zarr")], "no store at"),
    ]
    before = _runs(workdir)
    for args, message in cases:
        result = runner.invoke(
            app, ["finetune", "--steps", "2", *CPU, "--workdir", str(workdir), *args]
        )
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
        assert _runs(workdir) == before


@pytest.mark.slow
def test_whole_chain_on_the_real_mitbih_store(tmp_path, shared_data) -> None:
    """prepare mitdb-af -> pretrain -> finetune -> evaluate, on the real MIT-BIH records."""
    work = ["--workdir", str(tmp_path)]
    steps = [
        ["prepare", "mitdb-af", "--source", str(shared_data / "mitdb")],
        ["pretrain", "--model", "tiny", "--steps", "4", *CPU],
        ["finetune", "--head", "mlp", "--classes", "2", "--steps", "4", *CPU],
        ["evaluate", "--device", "cpu"],
    ]
    for args in steps:
        result = runner.invoke(app, [*args, *work])
        assert result.exit_code == 0, (args, result.output)
    model, meta = load_classifier(max((tmp_path / "runs").glob("finetune-*")))
    assert sorted(meta["label_names"]) == ["AF", "non-AF"]
    assert meta["preprocessing"]["fs_hz"] == 100.0 and meta["preprocessing"]["n_samples"] == 3000
    assert "macro-F1" in result.output
    with torch.no_grad():
        assert model(torch.randn(2, 3000)).shape == (2, 2)


@pytest.mark.slow
def test_freeze_encoder_trains_the_head_only(workdir, tmp_path) -> None:
    pretrain = max((workdir / "runs").glob("pretrain-*"))
    run = tmp_path / "probe"
    result = runner.invoke(
        app,
        [
            "finetune",
            "--freeze-encoder",
            "--steps",
            "3",
            *CPU,
            "--pretrained",
            str(pretrain),
            "--out",
            str(run),
            "--workdir",
            str(workdir),
        ],
    )
    assert result.exit_code == 0, result.output
    from safetensors.torch import load_file

    start = load_file(str(pretrain / "checkpoints" / "step-0000008" / "model.safetensors"))
    tuned = load_file(str(run / "checkpoints" / "step-0000003" / "model.safetensors"))
    encoder = [k for k in tuned if k.startswith("encoder.")]
    assert encoder and all(tuned[k].equal(start[k]) for k in encoder)
    groups = load_train_state(run / "checkpoints" / "step-0000003")["optimizer"]["param_groups"]
    names = [name for g in groups for name in g["names"]]
    assert names and all(name.startswith("head.") for name in names)


def test_without_any_pretraining_run_the_error_says_what_to_do(tmp_path) -> None:
    write_sine_store(tmp_path / "stores" / "small.zarr", n_per_class=4)
    result = runner.invoke(app, ["finetune", "--batch-size", "4", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no finished pretraining run" in result.output and "--from-scratch" in result.output
    assert not (tmp_path / "runs").exists()


def test_a_class_missing_from_validation_is_warned_before_training(tmp_path, monkeypatch):
    import numpy as np

    from cwtmae_cli.data.store.arrays import write_store_from_arrays
    from cwtmae_cli.train import finetune as finetune_module

    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 0, 1])  # validation (the last 4): no f2
    split = np.array([0] * 6 + [1] * 4, np.int8)
    store = write_store_from_arrays(
        tmp_path / "s.zarr",
        np.random.default_rng(0).normal(0, 1, (10, 1, 300)).astype(np.float32),
        labels,
        np.repeat(np.arange(5), 2),
        np.tile([0.0, 3.0], 5),
        fs_hz=100.0,
        window_s=3.0,
        channels=["EEG Fpz-Cz"],
        label_names=["f0", "f1", "f2"],
        subjects=list("abcde"),
        split=split,
    )

    def no_training(plan, progress):
        raise RuntimeError("training started")

    monkeypatch.setattr(finetune_module, "run_finetune", no_training)
    args = ["finetune", "--data", str(store), "--from-scratch", "--model", "tiny"]
    result = runner.invoke(app, [*args, "--batch-size", "2", "--workdir", str(tmp_path)])
    assert str(result.exception) == "training started"  # the warning came before it
    assert "warning: the validation split has no f2 window: the best checkpoint is chosen by" in (
        " ".join(result.stderr.split())
    )
    assert "the train split has no" not in result.stderr


@pytest.mark.slow
def test_tensorboard_gets_the_validation_metrics(finetune_run) -> None:
    from cwtmae_cli.train.rundir import RunDir

    run, _, _ = finetune_run
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator"
    ).EventAccumulator(str(run), size_guidance={"scalars": 0})
    accumulator.Reload()
    val = [r for r in RunDir(run).read_metrics() if r["kind"] == "val"]
    assert [r["step"] for r in val] == [10, 20, 30]
    for key in ("macro_f1", "accuracy"):
        seen = [(e.step, e.value) for e in accumulator.Scalars(f"val/{key}")]
        assert seen == [(r["step"], pytest.approx(r[key], rel=1e-6)) for r in val], key
    assert [e.step for e in accumulator.Scalars("train/lr")][-1] == 30
