"""End to end through the command line: ``cwtmae demo`` at a reduced size, and the four lines of
the product brief typed in an empty folder."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app

STAGES = ["W", "N1", "N2", "N3", "REM"]


@pytest.mark.slow
def test_demo_runs_every_step_and_beats_chance(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, [
        "demo", "--out", str(out), "--subjects", "4", "--minutes", "40", "--device", "cpu",
        "--pretrain-steps", "4", "--finetune-steps", "60",
    ])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "demo.json").read_text())
    assert [s["name"] for s in record["steps"]] == [
        "generate", "prepare", "pretrain", "finetune", "evaluate", "predict"]
    assert all(s["wall_s"] > 0 for s in record["steps"])
    artefacts = {k: Path(v) for k, v in record["artefacts"].items()}
    expected = {"data", "heldout_psg", "store", "pretrain_run", "reconstruction_png",
                "finetune_run", "checkpoint", "report_json", "confusion_png", "predictions_tsv",
                "hypnogram_png"}
    assert set(artefacts) == expected
    listed = re.sub(r"[\s│┃]", "", result.stdout)  # the artefacts table, folded lines joined
    for name, path in artefacts.items():
        assert path.exists(), f"{name}: {path} is missing"
        assert re.sub(r"\s", "", str(path)) in listed, f"{name} not listed"
    assert (artefacts["pretrain_run"] / "FINISHED").exists()
    assert (artefacts["finetune_run"] / "FINISHED").exists()
    assert (artefacts["checkpoint"] / "model.safetensors").exists()
    assert "not real" in (artefacts["data"] / "SYNTHETIC.txt").read_text()
    assert len(list(artefacts["data"].glob("*-PSG.edf"))) == 4  # the fifth night is held back
    assert not (artefacts["data"] / artefacts["heldout_psg"].name).exists()

    rows = artefacts["predictions_tsv"].read_text().splitlines()
    assert len(rows) == 1 + 40 * 2  # header + one row per 30-s window of the held-back night
    report = json.loads(artefacts["report_json"].read_text())
    assert report["summary"]["accuracy"] == pytest.approx(record["test_accuracy"])
    # Chance: 0.2 balanced accuracy for 5 classes; the commonest stage for plain accuracy.
    assert record["test_balanced_accuracy"] > 0.35, record
    assert record["test_accuracy"] > record["test_majority_rate"], record
    assert record["heldout_accuracy"] > 0.4, record
    for text in ("classification report", "precision", "wall time per step", "artefacts"):
        assert text in result.stdout

    # The demo folder is an ordinary working folder: the commands find its store and runs.
    again = CliRunner().invoke(app, ["evaluate", "--workdir", str(out), "--device", "cpu",
                                     "--json", "-"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["summary"]["accuracy"] == pytest.approx(record["test_accuracy"])


def _cwtmae(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CWTMAE_HOME"}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run([sys.executable, "-m", "cwtmae_cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"cwtmae {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done


BRIEF_LINES = [  # the product brief's four lines, which must work as written, in this order
    "cwtmae prepare sleep-edf",
    "cwtmae pretrain --gpus 2",
    "cwtmae finetune --head cot --classes 5",
    "cwtmae predict file.edf",
]
CPU_ADDITIONS = {  # all a CPU-only test machine adds to them
    "pretrain": ["--device", "cpu", "--model", "tiny", "--steps", "2"],
    "finetune": ["--device", "cpu", "--steps", "2"],
    "evaluate": ["--device", "cpu"],
    "predict": ["--device", "cpu"],
}


def _readme_sleep_edf_lines() -> list[list[str]]:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Sleep staging on Sleep-EDF", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    return [shlex.split(line.split("#", 1)[0]) for line in block.splitlines() if line.strip()]


def test_readme_sleep_edf_block_holds_the_brief_lines_in_order() -> None:
    lines = [" ".join(words) for words in _readme_sleep_edf_lines()]
    found = [next(i for i, line in enumerate(lines) if line.startswith(brief))
             for brief in BRIEF_LINES]
    assert found == sorted(found), lines


@pytest.mark.slow
def test_the_brief_lines_work_as_typed_in_an_empty_folder(tmp_path: Path) -> None:
    """Runs the README's Sleep-EDF block (which holds the brief's four lines) in an empty folder,
    with generated data instead of the download and only CPU_ADDITIONS added."""
    from cwtmae_cli.demo.synthetic import write_sleep_edf_dataset

    pairs = write_sleep_edf_dataset(tmp_path / "sleep-edf", n_subjects=5, minutes=30, seed=5)
    folder = tmp_path / "work"
    folder.mkdir()
    # A recording the store never saw, under the name the brief types.
    shutil.copy(pairs[-1][0], folder / "file.edf")
    pairs[-1][0].unlink()
    pairs[-1][1].unlink()
    source = ["--source", str(tmp_path / "sleep-edf")]
    done = {}
    for words in _readme_sleep_edf_lines():
        args = [source if w == "--download" else [w] for w in words[1:]]
        args = [a for group in args for a in group] + CPU_ADDITIONS.get(words[1], [])
        done[words[1]] = _cwtmae(args, folder)
    assert list(done) == ["prepare", "pretrain", "finetune", "evaluate", "predict"]

    assert (folder / "stores" / "sleep-edf.zarr").is_dir()
    assert "stores/sleep-edf.zarr" in done["prepare"].stderr

    assert "using store stores/sleep-edf.zarr" in done["pretrain"].stderr
    (pretrain_run,) = (folder / "runs").glob("pretrain-*")
    assert (pretrain_run / "FINISHED").exists()
    assert json.loads((pretrain_run / "config.json").read_text())["gpus"] == 2

    assert pretrain_run.name in done["finetune"].stderr  # it says which pretraining run it took
    (finetune_run,) = (folder / "runs").glob("finetune-*")
    config = json.loads((finetune_run / "config.json").read_text())
    assert Path(config["pretrained"]).resolve().is_relative_to(pretrain_run.resolve())
    meta = json.loads((finetune_run / "checkpoints" / "best" / "meta.json").read_text())
    assert meta["kind"] == "classifier" and meta["label_names"] == STAGES

    assert finetune_run.name in done["evaluate"].stderr
    assert "accuracy" in done["evaluate"].stdout and "REM" in done["evaluate"].stdout

    assert finetune_run.name in done["predict"].stderr  # the best checkpoint of that run
    table = (folder / "predictions" / "file_pred.tsv").read_text().splitlines()
    assert table[0].split("\t")[:4] == ["onset_s", "duration_s", "label", "confidence"]
    assert len(table) == 1 + 60
    assert {row.split("\t")[2] for row in table[1:]} <= set(STAGES)
    assert (folder / "predictions" / "file_hypnogram.png").stat().st_size > 0
