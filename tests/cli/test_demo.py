"""``cwtmae demo``: its options, its refusals, and the pieces of the pipeline that run fast (the
whole pipeline runs in tests/test_e2e.py)."""

from __future__ import annotations

from pathlib import Path

import mne
import pytest
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.demo import DemoConfig
from cwtmae_cli.demo.pipeline import check_config
from cwtmae_cli.demo.steps import STEPS, generate, heldout_truth
from cwtmae_cli.errors import UsageError

runner = CliRunner()


def test_help_names_the_data_synthetic_and_every_option() -> None:
    result = runner.invoke(app, ["demo", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "synthetic" in result.output
    for option in ("--out", "--subjects", "--minutes", "--seed", "--device", "--pretrain-steps",
                   "--finetune-steps"):
        assert option in result.output


@pytest.mark.parametrize(("args", "option"), [(["--subjects", "2"], "--subjects"),
                                              (["--minutes", "5"], "--minutes"),
                                              (["--finetune-steps", "0"], "--finetune-steps")])
def test_sizes_the_pipeline_cannot_run_are_usage_errors(tmp_path: Path, args: list[str],
                                                        option: str) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), *args])
    assert result.exit_code == 2
    assert option in result.output
    assert not (tmp_path / "d").exists()  # refused before anything was written


def test_library_refuses_the_same_sizes(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="subjects"):
        check_config(DemoConfig(tmp_path, n_subjects=2))
    with pytest.raises(UsageError, match="minutes"):
        check_config(DemoConfig(tmp_path, minutes=9))
    check_config(DemoConfig(tmp_path))


def test_steps_run_in_the_order_a_user_types_them_and_show_real_commands(tmp_path: Path) -> None:
    import shlex

    import typer

    assert [name for name, _, _ in STEPS] == [
        "generate", "prepare", "pretrain", "finetune", "evaluate", "predict"]
    shown_state = {"data": "synthetic-sleep-edf", "heldout_psg": "synthetic-heldout/x.edf"}
    lines = [command(DemoConfig(tmp_path), shown_state) for _, command, _ in STEPS[1:]]
    assert lines[0] == "cwtmae prepare sleep-edf --source synthetic-sleep-edf"
    assert lines[1].startswith("cwtmae pretrain --model tiny --steps 40")
    assert lines[2].startswith("cwtmae finetune --head cot --classes 5 --steps 120")
    root = typer.main.get_command(app)
    for line in lines:  # every option shown is one the command has, with a value it accepts
        words = shlex.split(line)
        context = root.commands[words[1]].make_context(words[1], words[2:])
        assert context.params, line


def test_generate_holds_back_one_unseen_subject(tmp_path: Path) -> None:
    config = DemoConfig(tmp_path, n_subjects=3, minutes=10)
    outputs = generate(config, {}, None)
    store_nights = sorted(p.name for p in outputs["data"].glob("*-PSG.edf"))
    assert store_nights == ["SC4001E0-PSG.edf", "SC4011E0-PSG.edf", "SC4021E0-PSG.edf"]
    assert outputs["heldout_psg"].name == "SC4031E0-PSG.edf"
    assert outputs["heldout_psg"].parent != outputs["data"]
    assert outputs["heldout_hypnogram"].name.startswith("SC4031")
    assert "not real data" in (outputs["heldout_psg"].parent / "SYNTHETIC.txt").read_text()
    again = generate(config, {}, None)  # a rerun starts from fresh folders
    assert sorted(p.name for p in again["data"].glob("*-PSG.edf")) == store_nights


def test_heldout_truth_reads_the_stage_of_each_window(tmp_path: Path) -> None:
    outputs = generate(DemoConfig(tmp_path, n_subjects=3, minutes=10), {}, None)
    annotations = mne.read_annotations(outputs["heldout_hypnogram"])
    onsets = [30.0 * i for i in range(20)]
    truth = heldout_truth(outputs["heldout_hypnogram"], onsets)
    assert truth[0] == "W" and truth[-1] is None  # wake first; the last epoch is "Sleep stage ?"
    stage = {"Sleep stage W": "W", "Sleep stage 1": "N1", "Sleep stage 2": "N2",
             "Sleep stage 3": "N3", "Sleep stage 4": "N3", "Sleep stage R": "REM"}
    for onset, label in zip(onsets, truth, strict=True):
        (i,) = [k for k, o in enumerate(annotations.onset)
                if o <= onset < o + annotations.duration[k]]
        assert label == stage.get(annotations.description[i])
