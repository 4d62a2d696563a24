"""TensorBoard event files: which numbers of a metrics line become scalars, and what a run does
when the optional ``tensorboard`` package is absent."""

from __future__ import annotations

import sys

from cwtmae_cli.train.tensorboard import TensorBoardLog, scalars_of, tensorboard_missing


def test_a_metrics_line_becomes_kind_prefixed_scalars() -> None:
    record = {
        "kind": "val",
        "step": 20,
        "epoch": 1.25,
        "best": True,
        "macro_f1": 0.5,
        "n_windows": 12,
        "per_class": {"AF": {"f1": 0.25, "support": 3}, "N": {"f1": None}},
        "classes_never_predicted": ["AF"],
        "single_class_answer": False,
    }
    assert scalars_of(record) == {
        "val/macro_f1": 0.5,
        "val/n_windows": 12.0,
        "val/per_class/AF/f1": 0.25,
        "val/per_class/AF/support": 3.0,
    }


def test_without_tensorboard_the_run_is_told_and_no_writer_opens(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import -> ImportError
    line = tensorboard_missing()
    assert line is not None and "tensorboard is not installed" in line
    assert "cwtmae[tensorboard]" in line and "\n" not in line
    assert TensorBoardLog.open(tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_a_resumed_run_holds_each_step_once(tmp_path) -> None:
    """Resumed from step 2 of 4, the run logs steps 3 and 4 again: TensorBoard shows the first
    session's events from step 3 on as purged (the resumed writer's purge_step says so), as the
    metrics.jsonl lines are."""
    import pytest

    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    from stand_ins import write_sine_store
    from typer.testing import CliRunner

    from cwtmae_cli.cli.app import app
    from cwtmae_cli.train.rundir import RunDir

    store = write_sine_store(tmp_path / "s.zarr", n_per_class=4)
    (tmp_path / "c.toml").write_text("log_every = 1\n")
    run = tmp_path / "run"
    args = ["pretrain", "--model", "tiny", "--steps", "4", "--batch-size", "4", "--device",
            "cpu", "--save-every", "2", "--config", str(tmp_path / "c.toml"), "--data",
            str(store), "--out", str(run)]
    assert CliRunner().invoke(app, args).exit_code == 0
    resume = ["pretrain", "--resume", str(run / "checkpoints" / "step-0000002")]
    assert CliRunner().invoke(app, resume).exit_code == 0
    files = sorted(run.glob("events.out.tfevents.*"), key=lambda f: f.stat().st_mtime)
    assert len(files) == 2
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    restarts = [e.step for e in EventFileLoader(str(files[1])).Load()
                if e.HasField("session_log") and e.session_log.status == e.session_log.START]
    assert restarts == [3]  # what TensorBoard purges the first session's events from
    events = accumulator.EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    logged = [r for r in RunDir(run).read_metrics() if r["kind"] == "train"]
    assert [r["step"] for r in logged] == [1, 2, 3, 4]
    seen = [(e.step, e.value) for e in events.Scalars("train/loss")]
    assert seen == [(r["step"], pytest.approx(r["loss"], rel=1e-6)) for r in logged]
