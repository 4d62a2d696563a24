"""``cwtmae benchmark`` end to end on a tiny store: the folds' windows as trained on, every
subject tested once per setting, benchmark.json and its summary, resume, and bad input."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

import numpy as np
import pytest
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.benchmark import runner as bench_runner
from cwtmae_cli.cli.app import app
from cwtmae_cli.data.split import TRAIN, VALIDATION
from cwtmae_cli.data.store.schema import open_store
from cwtmae_cli.train import finetune

runner = CliRunner()
FAST = ["--steps", "2", "--batch-size", "4", "--device", "cpu"]
CELLS = {(f, s, p) for f in (0, 1) for s in ("pretrained", "scratch") for p in ("0.5", "1")}
METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "cohen_kappa")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """8 subjects, 3 classes, 500-sample windows, and a finished 2-step tiny pretraining run."""
    root = tmp_path_factory.mktemp("bench")
    write_sine_store(root / "stores" / "sine.zarr", n_per_class=8, n_samples=500, fs_hz=50.0)
    args = ["pretrain", "--model", "tiny", "--steps", "2", "--batch-size", "8"]
    result = runner.invoke(app, [*args, "--device", "cpu", "--workdir", str(root)])
    assert result.exit_code == 0, result.output
    return root


def _spy(monkeypatch) -> list[dict]:
    """Record every cell's finetune plan (its run folder and windows) and training call."""
    calls: list[dict] = []
    plan, run = finetune.plan_finetune, finetune.run_finetune

    def plan_spy(flags, config_file=None, windows=None):
        calls.append({"out": Path(flags["out"]).name, "windows": windows, "trained": False})
        return plan(flags, config_file, windows)

    def run_spy(run_plan, events=None):
        calls[-1]["trained"] = True
        calls[-1]["from_scratch"] = run_plan.config.from_scratch
        return run(run_plan, events)

    monkeypatch.setattr(finetune, "plan_finetune", plan_spy)
    monkeypatch.setattr(finetune, "run_finetune", run_spy)
    return calls


@pytest.fixture(scope="module")
def bench(workdir: Path):
    out = workdir / "runs" / "benchmark-a"
    with pytest.MonkeyPatch.context() as mp:
        calls = _spy(mp)
        result = runner.invoke(
            app,
            ["benchmark", "--folds", "2", "--label-fractions", "1,0.5", *FAST, "--json",
             "--workdir", str(workdir), "--out", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "benchmark.json").read_text()), result, calls


def _subjects_of(workdir: Path, positions: np.ndarray) -> set[str]:
    store = open_store(workdir / "stores" / "sine.zarr")
    recording = np.asarray(store.recording[:])[positions]
    return {store.recordings[int(r)]["subject"] for r in recording}


def test_cells_train_on_their_fold_only_and_both_settings_on_the_same_windows(
    workdir, bench
) -> None:
    _, doc, _, calls = bench
    assert len(calls) == 8 and all(c["trained"] for c in calls)
    by_name = {c["out"]: c for c in calls}
    for fold in doc["folds"]:
        test = set(fold["test_subjects"])
        for fraction in ("0.5", "1"):
            pre = by_name[f"fold{fold['fold']}-pretrained-{fraction}"]
            scratch = by_name[f"fold{fold['fold']}-scratch-{fraction}"]
            assert (pre["from_scratch"], scratch["from_scratch"]) == (False, True)
            for part in (TRAIN, VALIDATION):
                assert np.array_equal(pre["windows"][part], scratch["windows"][part])
                assert not _subjects_of(workdir, pre["windows"][part]) & test
            assert _subjects_of(workdir, pre["windows"][VALIDATION]) == set(fold["val_subjects"])
        half = by_name[f"fold{fold['fold']}-pretrained-0.5"]["windows"][TRAIN]
        full = by_name[f"fold{fold['fold']}-pretrained-1"]["windows"][TRAIN]
        assert len(full) == fold["n_train_windows"] and np.isin(half, full).all()
        assert len(half) < len(full)


def test_every_subject_is_tested_exactly_once_per_setting_and_fraction(workdir, bench) -> None:
    _, doc, _, _ = bench
    store = open_store(workdir / "stores" / "sine.zarr")
    everyone = sorted({r["subject"] for r in store.recordings})
    assert {(c["fold"], c["setting"], str(c["label_fraction"]).rstrip("0").rstrip("."))
            for c in doc["per_fold"]} == {(f, s, "1" if p == "1" else "0.5")
                                          for f, s, p in CELLS}  # fmt: skip
    for setting in ("pretrained", "scratch"):
        for fraction in (0.5, 1.0):
            rows = [c for c in doc["per_fold"]
                    if c["setting"] == setting and c["label_fraction"] == fraction]  # fmt: skip
            tested = [s for c in rows for s in c["test_subjects"]]
            assert sorted(tested) == everyone
            n_test = sum(c["n_test_windows"] for c in rows)
            scored = sum(np.sum(c["test"]["confusion_matrix"]) for c in rows)
            assert n_test == len(store.labels[:]) == scored


def test_benchmark_json_structure_and_summary_from_the_per_fold_numbers(bench) -> None:
    out, doc, result, _ = bench
    assert doc["complete"] and doc["settings"]["n_folds"] == 2
    assert doc["settings"]["label_fractions"] == [0.5, 1.0]
    assert set(doc["summary"]) == {"pretrained", "scratch"}
    for setting, by_fraction in doc["summary"].items():
        assert set(by_fraction) == {"0.5", "1"}
        for key, stats in by_fraction.items():
            rows = [c["test"] for c in doc["per_fold"]
                    if c["setting"] == setting and f"{c['label_fraction']:g}" == key]  # fmt: skip
            assert stats["n_folds"] == len(rows) == 2
            for metric in METRICS:
                values = [r[metric] for r in rows if r[metric] is not None]
                assert stats[metric]["n"] == len(values)
                if len(values) == 2:
                    assert stats[metric]["mean"] == pytest.approx(statistics.mean(values))
                    assert stats[metric]["sd"] == pytest.approx(statistics.stdev(values))
    printed = json.loads(result.stdout)
    assert printed["summary"] == doc["summary"] and printed["plot"].endswith(".png")
    assert (out / "label_efficiency.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "FINISHED").is_file() and (out / "plan.json").is_file()
    assert not list((out / "cells").glob("*/checkpoints"))  # removed once scored


def test_a_store_of_per_window_labels_claims_no_recording_level_figures(bench) -> None:
    _, doc, result, _ = bench  # the sine store's recordings hold windows of several classes
    assert doc["labels_per_recording"] is False and doc["score"] is None
    assert not any("test_recording_level" in c or "recipe_score" in c["test"]
                   for c in doc["per_fold"])  # fmt: skip
    for by_fraction in doc["summary"].values():
        for stats in by_fraction.values():
            assert "recording_level" not in stats and "recipe_score" not in stats
    table = runner.invoke(app, ["benchmark", "--resume", str(bench[0])])
    assert table.exit_code == 0, table.output
    assert "recording" not in table.stdout and "gain" in table.stdout
    # stderr names recordings only to say which tested ones the pretraining saw (test_seen...)
    assert "recording level" not in table.stderr and "recording-level" not in table.stderr


def test_resume_trains_only_the_cells_without_a_result(workdir, bench, tmp_path, monkeypatch):
    out, doc, _, _ = bench
    copy = tmp_path / "benchmark-copy"
    shutil.copytree(out, copy)
    (copy / "FINISHED").unlink()
    for name in ("fold0-scratch-0.5", "fold1-pretrained-1"):
        (copy / "cells" / f"{name}.json").unlink()  # the cell folder stays: an interrupted cell
    calls = _spy(monkeypatch)
    result = runner.invoke(app, ["benchmark", "--resume", str(copy), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert sorted(c["out"] for c in calls if c["trained"]) == [
        "fold0-scratch-0.5",
        "fold1-pretrained-1",
    ]
    assert result.stderr.count("finished before, skipped") == 6
    again = json.loads((copy / "benchmark.json").read_text())
    assert len(again["per_fold"]) == 8 and again["complete"]
    kept = [c for c in again["per_fold"] if c["run_dir"] not in
            ("cells/fold0-scratch-0.5", "cells/fold1-pretrained-1")]  # fmt: skip
    assert kept == [c for c in doc["per_fold"] if c in kept] and len(kept) == 6


def test_an_interrupted_benchmark_keeps_finished_cells_and_resume_skips_them(
    workdir, tmp_path, monkeypatch
) -> None:
    ran: list[str] = []

    def fake_cell(plan, cell, events=None):
        if len(ran) == 3 and not plan.resumed:
            raise KeyboardInterrupt
        ran.append(cell.name)
        scores = {m: 0.5 for m in METRICS}
        return {"fold": cell.fold, "setting": cell.setting, "label_fraction": cell.fraction,
                "run_dir": cell.name, "test": scores}  # fmt: skip

    monkeypatch.setattr(bench_runner, "run_cell", fake_cell)
    out = tmp_path / "interrupted"
    args = ["benchmark", "--folds", "2", "--label-fractions", "0.5,1", *FAST]
    result = runner.invoke(app, [*args, "--workdir", str(workdir), "--out", str(out)])
    assert result.exit_code == 130 and len(ran) == 3
    assert len(list((out / "cells").glob("*.json"))) == 3 and not (out / "FINISHED").exists()
    first = list(ran)
    result = runner.invoke(app, ["benchmark", "--resume", str(out)])
    assert result.exit_code == 0, result.output
    assert len(ran) == 8 and not set(ran[3:]) & set(first)
    assert json.loads((out / "benchmark.json").read_text())["complete"]


def _error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--folds", "1"], 2, "needs at least 2 folds"),
        (["--label-fractions", "0,1"], 2, "outside (0, 1]"),
        (["--label-fractions", "0.5,1.5"], 2, "outside (0, 1]"),
        (["--folds", "9"], 1, "need at least 9 subjects"),
        (["--batch-size", "64"], 1, "fewer than one batch of 64"),
        (["--resume", "nowhere"], 2, "not a benchmark run folder"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(workdir, args, code, message) -> None:
    before = sorted((workdir / "runs").iterdir())
    base = ["benchmark", "--workdir", str(workdir)]
    result = runner.invoke(app, [*base, *args])
    assert result.exit_code == code, result.output
    assert message in _error(result)
    assert sorted((workdir / "runs").iterdir()) == before


def test_no_pretraining_run_is_a_data_error(tmp_path) -> None:
    write_sine_store(tmp_path / "stores" / "sine.zarr", n_per_class=4, n_samples=200)
    result = runner.invoke(app, ["benchmark", "--device", "cpu", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no finished pretraining run" in _error(result)
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_resume_refuses_new_settings(bench) -> None:
    out, _, _, _ = bench
    result = runner.invoke(app, ["benchmark", "--resume", str(out), "--folds", "3"])
    assert result.exit_code == 2
    assert "leave out --folds" in _error(result)


def test_resume_refuses_another_workdir_and_accepts_its_own(workdir, bench, tmp_path) -> None:
    out, _, _, _ = bench
    args = ["benchmark", "--resume", str(out), "--workdir"]
    result = runner.invoke(app, [*args, str(tmp_path)])
    assert result.exit_code == 2
    assert f"started in workdir {workdir}, not {tmp_path}" in _error(result)
    result = runner.invoke(app, [*args, str(workdir)])
    assert result.exit_code == 0, result.output


def test_the_table_says_when_a_mean_covers_fewer_folds(capsys) -> None:
    from cwtmae_cli.benchmark.results import summarize
    from cwtmae_cli.cli.benchmark import render

    def cell(fold: int, setting: str, kappa: float | None) -> dict:
        scores = {"accuracy": 0.9, "balanced_accuracy": 0.8, "macro_f1": 0.7, "cohen_kappa": kappa}
        return {"fold": fold, "setting": setting, "label_fraction": 1.0, "test": scores}

    cells = [cell(0, "pretrained", 0.5), cell(1, "pretrained", None),
             cell(0, "scratch", 0.25), cell(1, "scratch", 0.75)]  # fmt: skip
    doc = {"settings": {"n_folds": 2}, "summary": summarize(cells, [1.0]), "run_dir": "r"}
    render(doc)
    text = capsys.readouterr().out
    assert text.count("(n=1)") == 1  # pretrained kappa: one fold of two defines it
    assert "0.354" in text  # scratch kappa sd: stdev(0.25, 0.75)
    assert "+0.000" in text  # macro-F1 gain: 0.7 - 0.7


def test_a_setting_whose_mean_kappa_is_near_chance_is_said(capsys) -> None:
    from cwtmae_cli.benchmark.results import summarize
    from cwtmae_cli.cli.benchmark import render

    def cell(fold: int, setting: str, kappa: float) -> dict:
        scores = {"accuracy": 0.94, "balanced_accuracy": 0.5, "macro_f1": 0.5, "cohen_kappa": kappa}
        return {"fold": fold, "setting": setting, "label_fraction": 0.2, "test": scores}

    cells = [cell(0, "pretrained", 0.04), cell(1, "pretrained", 0.12),
             cell(0, "scratch", 0.30), cell(1, "scratch", 0.20)]  # fmt: skip
    render({"settings": {"n_folds": 2}, "summary": summarize(cells, [0.2]), "run_dir": "r"})
    err = " ".join(capsys.readouterr().err.split())
    assert "pretrained at 20 % of labels: mean kappa 0.080 over 2 folds is near chance" in err
    assert "scratch at" not in err  # 0.25: not near chance


def test_a_class_kept_above_its_fraction_is_said_and_nothing_is_written(workdir) -> None:
    from cwtmae_cli.benchmark.plan import BenchmarkSettings, plan_benchmark

    settings = BenchmarkSettings(
        n_folds=2, label_fractions=(0.1, 1.0), finetune={"batch_size": 3, "device": "cpu"}
    )
    before = sorted((workdir / "runs").iterdir())
    plan = plan_benchmark(settings, workdir=workdir, out=workdir / "runs" / "benchmark-new")
    assert sorted((workdir / "runs").iterdir()) == before
    lines = [w for w in plan.warnings if "at label fraction 0.1" in w]
    for fold in plan.folds:  # 0.1 x n < 0.5 for every class of these small training parts
        n_class = np.bincount(plan.labels[fold.train], minlength=3)
        for k, n in enumerate(n_class):
            windows = "1 training window" if n == 1 else f"{n} training windows"
            line = f"fold {fold.index} at label fraction 0.1: class `f{k}` has {windows}; 1 is kept"
            assert (n > 0 and n < 5) == any(w.startswith(line) for w in lines)
    assert not any("at label fraction 1:" in w for w in plan.warnings)


def test_the_plan_says_when_the_windows_differ_from_the_pretrainings(workdir, tmp_path) -> None:
    from cwtmae_cli.benchmark.plan import BenchmarkSettings, plan_benchmark

    settings = BenchmarkSettings(n_folds=2, label_fractions=(1.0,),
                                 finetune={"batch_size": 3, "device": "cpu"})
    same = plan_benchmark(settings, workdir=workdir, out=tmp_path / "same")
    assert not any("the encoder was pretrained on" in n for n in same.notes)
    faster = write_sine_store(tmp_path / "faster.zarr", n_per_class=8, n_samples=500, fs_hz=100.0)
    plan = plan_benchmark(settings, workdir=workdir, data=faster, out=tmp_path / "faster")
    assert ("fine-tuning on 500-sample windows (5 s at 100 Hz); the encoder was pretrained on "
            "500 (10 s at 50 Hz): the same patch grid") in " ".join(plan.notes)
    assert not (tmp_path / "faster").exists()  # a plan writes nothing
