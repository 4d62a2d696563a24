"""Which recordings a model has seen, end to end: the lists that pretraining and fine-tuning
write into ``meta.json``, the warnings ``evaluate`` and ``benchmark`` give when the recordings
they score are among them, and ``benchmark --unseen-only`` (runtime/seen.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.split import TEST, TRAIN, VALIDATION
from cwtmae_cli.data.store.schema import open_store
from cwtmae_cli.runtime.checkpoint import read_meta, resolve_checkpoint
from cwtmae_cli.runtime.seen import recording_key

runner = CliRunner()
FAST = ["--steps", "2", "--batch-size", "4", "--device", "cpu"]


def _ok(args: list[str], root: Path):
    result = runner.invoke(app, [*args, "--workdir", str(root)])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """The sine store (8 subjects, one recording each: 0-4 train, 5-6 validation, 7 test), a
    tiny pretraining on its validation split and a classifier fine-tuned from it."""
    root = tmp_path_factory.mktemp("seen")
    write_sine_store(root / "stores" / "sine.zarr", n_per_class=8, n_samples=500, fs_hz=50.0)
    _ok(["pretrain", "--model", "tiny", "--steps", "2", "--batch-size", "4", "--device", "cpu",
         "--splits", "val", "--out", str(root / "runs" / "pre-val")], root)  # fmt: skip
    _ok(["finetune", "--pretrained", str(root / "runs" / "pre-val"), "--head", "mlp", *FAST,
         "--out", str(root / "runs" / "ft")], root)  # fmt: skip
    return root


def _keys(root: Path, *codes: int) -> set[str]:
    """The keys of the store's recordings with windows in the splits ``codes``."""
    store = open_store(root / "stores" / "sine.zarr")
    used = np.unique(np.asarray(store.recording[:])[np.isin(np.asarray(store.split[:]), codes)])
    return {recording_key(store.recordings[int(i)], int(i)) for i in used}


def test_pretraining_lists_the_recordings_of_the_splits_it_trained_on(workdir) -> None:
    entry = read_meta(resolve_checkpoint(workdir / "runs" / "pre-val"))["seen"]["pretraining"]
    assert entry["splits"] == ["val"]
    assert set(entry["recordings"]) == _keys(workdir, VALIDATION)
    assert entry["n_recordings"] == 2


def test_a_classifier_lists_its_training_and_validation_and_carries_its_pretraining(
    workdir,
) -> None:
    seen = read_meta(workdir / "runs" / "ft" / "checkpoints" / "best")["seen"]
    assert set(seen["training"]["recordings"]) == _keys(workdir, TRAIN)
    assert set(seen["validation"]["recordings"]) == _keys(workdir, VALIDATION)
    pretraining = read_meta(resolve_checkpoint(workdir / "runs" / "pre-val"))["seen"]
    assert seen["pretraining"] == pretraining["pretraining"]


def test_a_classifier_trained_from_scratch_lists_no_pretraining(workdir, tmp_path) -> None:
    _ok(["finetune", "--from-scratch", "--model", "tiny", "--head", "mlp", *FAST,
         "--out", str(tmp_path / "scratch")], workdir)  # fmt: skip
    seen = read_meta(tmp_path / "scratch" / "checkpoints" / "best")["seen"]
    assert "pretraining" not in seen and set(seen["training"]["recordings"])


def _evaluate(root: Path, split: str, ckpt: Path | None = None):
    ckpt = ckpt or root / "runs" / "ft" / "checkpoints" / "best"
    return _ok(["evaluate", "--checkpoint", str(ckpt), "--split", split, "--json", "-"], root)


def test_evaluate_on_held_out_recordings_warns_of_nothing(workdir) -> None:
    result = _evaluate(workdir, "test")
    assert json.loads(result.stdout)["seen_in_training"] == {
        "pretraining": 0, "training": 0, "validation": 0,
    }
    assert "saw" not in result.stderr and "trained on" not in result.stderr


def test_evaluate_says_which_scored_recordings_each_stage_saw(workdir) -> None:
    result = _evaluate(workdir, "all")
    doc = json.loads(result.stdout)
    assert doc["seen_in_training"] == {"pretraining": 2, "training": 5, "validation": 2}
    err = " ".join(result.stderr.split())
    assert "fine-tuning trained on 5 of 8 recordings scored here" in err
    assert "pretraining saw 2 of 8 recordings scored here" in err
    assert "transductive" in err
    assert "fine-tuning chose its best checkpoint on 2 of 8 recordings scored here" in err
    assert len(doc["seen_warnings"]) == 3


def _without_lists(ckpt: Path, out: Path) -> Path:
    """A copy of checkpoint ``ckpt`` whose meta.json has no ``seen`` (an older cwtmae's)."""
    shutil.copytree(ckpt, out)
    meta = json.loads((out / "meta.json").read_text())
    del meta["seen"]
    (out / "meta.json").write_text(json.dumps(meta))
    return out


def test_evaluate_says_when_the_checkpoint_lists_nothing(workdir, tmp_path) -> None:
    old = _without_lists(workdir / "runs" / "ft" / "checkpoints" / "best", tmp_path / "old")
    result = _evaluate(workdir, "test", old)
    assert json.loads(result.stdout)["seen_in_training"] is None
    assert "cannot be checked" in " ".join(result.stderr.split())


def _benchmark(root: Path, out: str, *extra: str):
    return runner.invoke(
        app,
        ["benchmark", "--folds", "2", "--label-fractions", "1", *FAST, *extra,
         "--workdir", str(root), "--out", str(root / "runs" / out)],
    )  # fmt: skip


def test_benchmark_warns_that_pretraining_saw_tested_recordings(workdir) -> None:
    result = _benchmark(workdir, "bench", "--pretrained", str(workdir / "runs" / "pre-val"))
    assert result.exit_code == 0, result.output
    doc = json.loads((workdir / "runs" / "bench" / "benchmark.json").read_text())
    assert doc["seen_in_pretraining"] == {"pretraining": 2}
    line = "pretraining saw 2 of 8 recordings tested by the folds"
    assert line in " ".join(result.stderr.split())
    assert any(line in " ".join(w.split()) for w in doc["warnings"])


def test_benchmark_unseen_only_tests_only_recordings_pretraining_did_not_see(workdir) -> None:
    result = _benchmark(workdir, "bench-unseen", "--unseen-only",
                        "--pretrained", str(workdir / "runs" / "pre-val"))  # fmt: skip
    assert result.exit_code == 0, result.output
    run = workdir / "runs" / "bench-unseen"
    doc = json.loads((run / "benchmark.json").read_text())
    assert doc["seen_in_pretraining"] == {"pretraining": 0}
    assert doc["settings"]["unseen_only"] is True
    tested = {s for fold in doc["folds"] for s in fold["test_subjects"]}
    trained = {s for fold in doc["folds"] for s in fold["train_subjects"] + fold["val_subjects"]}
    assert tested == {"s0", "s1", "s2", "s3", "s4", "s7"}
    assert not trained & {"s5", "s6"}
    assert "saw" not in " ".join(w for w in doc["warnings"])
    assert "left out 2 labelled recordings" in " ".join(result.stderr.split())
    again = runner.invoke(app, ["benchmark", "--resume", str(run), "--unseen-only"])
    assert again.exit_code == 2 and "--unseen-only" in again.stderr


def test_unseen_only_refuses_a_pretraining_that_saw_everything_or_lists_nothing(
    workdir, tmp_path
) -> None:
    everything = tmp_path / "pre-all"
    _ok(["pretrain", "--model", "tiny", "--steps", "1", "--batch-size", "8", "--device", "cpu",
         "--splits", "train,val,test", "--out", str(everything)], workdir)  # fmt: skip
    for pretrained, says in (
        (everything, "saw all 8 labelled recordings"),
        (_without_lists(resolve_checkpoint(everything), tmp_path / "old"), "does not list"),
    ):
        result = _benchmark(workdir, f"refused-{pretrained.name}", "--unseen-only",
                            "--pretrained", str(pretrained))  # fmt: skip
        assert result.exit_code == 1, result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and says in lines[0]
        assert not (workdir / "runs" / f"refused-{pretrained.name}").exists()
    assert _keys(workdir, TRAIN, VALIDATION, TEST)  # the store is untouched


def test_inspect_shows_how_many_recordings_each_stage_saw(workdir, tmp_path) -> None:
    ckpt = workdir / "runs" / "ft"
    seen = json.loads(runner.invoke(app, ["inspect", str(ckpt), "--json"]).stdout)["seen"]
    assert {stage: entry["n_recordings"] for stage, entry in seen.items()} == {
        "training": 5, "validation": 2, "pretraining": 2,
    }
    assert seen["pretraining"]["splits"] == ["val"]
    old = _without_lists(ckpt / "checkpoints" / "best", tmp_path / "old")
    assert json.loads(runner.invoke(app, ["inspect", str(old), "--json"]).stdout)["seen"] is None
