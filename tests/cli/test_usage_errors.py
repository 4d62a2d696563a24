"""Usage errors exit 2 with one line, before any store, checkpoint or recording is looked at.

Each command runs in an empty working folder with a recording path that does not exist: if the
option check came after the lookups, the command would fail there instead (exit 1, "no store",
"no recording", "no finished fine-tuning run"), so exit 2 with the option's message shows the
order too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app

runner = CliRunner()

CASES = [
    (["prepare", "nosuch-recipe"], "no recipe `nosuch-recipe`"),
    (["prepare", "missing/recipe.toml"], "recipe file missing/recipe.toml does not exist"),
    (["prepare", "sleep-edf", "--fs", "-100"], "--fs must be > 0"),
    (["prepare", "sleep-edf", "--window-s", "0"], "--window-s must be > 0"),
    (["prepare", "sleep-edf", "--window-s", "0.001"], "not a whole number of samples"),
    (["prepare", "sleep-edf", "--workers", "0"], "'--workers'"),
    (["prepare", "sleep-edf", "--workers", "100000"], "--workers 100000 is more than"),
    (["prepare", "sleep-edf", "--seed", "-1"], "'--seed'"),
    (["pretrain", "--steps", "0"], "--steps must be at least 1"),
    (["pretrain", "--epochs", "-3"], "--epochs must be at least 1"),
    (["pretrain", "--batch-size", "-64"], "--batch-size must be at least 1"),
    (["pretrain", "--lr", "-0.001"], "--lr must be positive"),
    (["pretrain", "--lr", "30"], "--lr 30 is not a learning rate"),
    (["pretrain", "--mask-ratio", "1.5"], "--mask-ratio must be between 0 and 1"),
    (["pretrain", "--gpus", "0"], "--gpus must be at least 1"),
    (["pretrain", "--gpus", "64", "--batch-size", "64", "--device", "cpu"], "--gpus 64 CPU"),
    (["pretrain", "--device", "gpu"], "unknown --device `gpu`"),
    (["pretrain", "--model", "huge"], "--model must be one of"),
    (["pretrain", "--steps", "ten"], "'--steps'"),
    (["finetune", "--dropout", "1.5"], "--dropout must be in [0, 1)"),
    (["finetune", "--layer-decay", "0"], "--layer-decay must be in (0, 1]"),
    (["finetune", "--label-smoothing", "-0.1"], "--label-smoothing must be in [0, 1)"),
    (["finetune", "--save-every", "0"], "--save-every must be at least 1"),
    (["finetune", "--classes", "1"], "--classes must be at least 2"),
    (["finetune", "--class-weights", "--balanced-sampling"], "choose one"),
    (["finetune", "--balance-power", "0.5"], "needs --balanced-sampling"),
    (["finetune", "--balanced-sampling", "--balance-power", "0"], "--balance-power must be in"),
    (["evaluate", "--split", "everything"], "unknown split `everything`"),
    (["evaluate", "--batch-size", "0"], "'--batch-size'"),
    (["evaluate", "--device", "tpu"], "unknown --device `tpu`"),
    (["predict", "nowhere.edf", "--stride-s", "0"], "--stride-s must be > 0"),
    (["predict", "nowhere.edf", "--stride-s", "-30"], "--stride-s must be > 0"),
    (["predict", "nowhere.edf", "--format", "xlsx"], "unknown --format `xlsx`"),
    (["predict", "nowhere.edf", "--device", "tpu"], "unknown --device `tpu`"),
    (["prepare", "sleep-edf", "--no-such-option"], "No such option: --no-such-option"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_option_exits_2_with_one_line_before_any_work(
    args: list[str], message: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*args, "--workdir", str(tmp_path)], env={"COLUMNS": "200"})
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0]
    assert list(tmp_path.iterdir()) == []  # nothing was created: no store, run or predictions


def test_a_typer_range_error_names_the_command_help() -> None:
    result = runner.invoke(app, ["predict", "x.edf", "--batch-size", "0"])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("(see `cwtmae predict --help`)")
    assert "╭" not in result.stderr  # one line, not rich's framed box


def test_cwtmae_alone_still_shows_the_command_list() -> None:
    result = runner.invoke(app, [])
    assert "Usage" in result.output and "prepare" in result.output
    assert "error:" not in result.output


def test_a_stride_off_the_sample_grid_is_refused_before_the_model_loads(tmp_path, monkeypatch):
    from results_fixtures import SLEEP_LABELS, save_classifier, tiny_classifier

    from cwtmae_cli.runtime import loading

    ckpt = save_classifier(tmp_path / "ckpt", tiny_classifier(5), SLEEP_LABELS)
    edf = tmp_path / "rec.edf"
    edf.write_bytes(b"")  # never read: the stride is refused first

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the options were checked")

    monkeypatch.setattr(loading, "load_classifier", no_loading)
    result = runner.invoke(
        app, ["predict", str(edf), "--checkpoint", str(ckpt), "--out", str(tmp_path / "out"),
              "--stride-s", "0.0013", "--device", "cpu"]
    )
    assert result.exit_code == 2, result.output
    assert "--stride-s 0.0013 is not a whole number of samples at the checkpoint's 100 Hz" in (
        result.stderr
    )
