"""Progress when stderr is not a terminal: plain lines at a steady interval, first and last
always, with count, percentage, the command's fields, elapsed time and ETA."""

from __future__ import annotations

import io
import re
import sys

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cwtmae_cli.cli import console
from cwtmae_cli.cli.app import app
from cwtmae_cli.cli.plain_progress import INTERVAL_ENV, PlainProgress, clock_text
from cwtmae_cli.errors import UsageError

BAR_GLYPHS = re.compile("[━╸╺\r]")


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def _progress(interval_s: float, counter: str = "step {done}/{total}"):
    buffer = io.StringIO()
    clock = FakeClock()
    bar = PlainProgress(
        "[bold]{task.description}",
        ("loss {task.fields[loss]:.2f}",),
        Console(file=buffer, width=300),
        counter=counter,
        interval_s=interval_s,
        clock=clock,
    )
    return bar, clock, buffer


def test_one_line_per_interval_plus_the_first_and_the_last() -> None:
    bar, clock, buffer = _progress(interval_s=10.0)
    with bar:
        task = bar.add_task("pretrain", total=100, loss=0.0)
        for step in range(1, 101):  # one step per second
            clock.now_s = float(step)
            bar.update(task, completed=step, loss=1.0 / step)
    lines = buffer.getvalue().splitlines()
    steps = [int(re.search(r"step (\d+)/100", line).group(1)) for line in lines]
    assert steps == [1, 11, 21, 31, 41, 51, 61, 71, 81, 91, 100]
    assert lines[0] == "pretrain: step 1/100 (1 %)  loss 1.00  elapsed 0:00:01  ETA 0:01:39"
    assert lines[-1].startswith("pretrain: step 100/100 (100 %)  loss 0.01")
    assert lines[-1].endswith("ETA 0:00:00")


def test_eta_counts_only_the_progress_made_in_this_session() -> None:
    bar, clock, buffer = _progress(interval_s=0.0)
    task = bar.add_task("finetune", total=1000, completed=500, loss=0.5)  # resumed at 500
    clock.now_s = 20.0
    bar.update(task, completed=600)  # 100 steps in 20 s: 400 more take 80 s
    assert buffer.getvalue().strip().endswith("elapsed 0:00:20  ETA 0:01:20")


def test_stop_prints_the_last_state_once_and_an_unknown_total_has_no_eta() -> None:
    bar, clock, buffer = _progress(interval_s=60.0, counter="{done} done")
    task = bar.add_task("prepare", total=None, loss=0.0)
    for i in range(1, 6):
        clock.now_s = float(i)
        bar.update(task, completed=i)
    bar.stop()
    bar.stop()
    lines = buffer.getvalue().splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "prepare: 1 done",
        "prepare: 5 done",
    ]
    assert "ETA" not in buffer.getvalue()


def test_interval_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv(INTERVAL_ENV, "0")
    bar = PlainProgress("x", (), Console(file=io.StringIO()))
    assert bar.interval_s == 0.0
    monkeypatch.setenv(INTERVAL_ENV, "soon")
    with pytest.raises(UsageError, match=INTERVAL_ENV):
        PlainProgress("x", (), Console(file=io.StringIO()))
    monkeypatch.delenv(INTERVAL_ENV)
    assert PlainProgress("x", (), Console(file=io.StringIO())).interval_s == 10.0


def test_clock_text() -> None:
    assert (clock_text(0), clock_text(61.4), clock_text(3725), clock_text(None)) == (
        "0:00:00",
        "0:01:01",
        "1:02:05",
        "?",
    )


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_rich_bar_and_a_file_the_plain_lines(monkeypatch) -> None:
    from rich.progress import Progress

    monkeypatch.setenv("FORCE_COLOR", "1")  # colour asked for is not a terminal
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert isinstance(console.progress_bar("x"), PlainProgress)
    monkeypatch.setattr(sys, "stderr", _Tty())
    assert isinstance(console.progress_bar("x"), Progress)


def test_prepare_logs_plain_lines_on_a_non_terminal_stderr(shared_data, tmp_path) -> None:
    result = CliRunner().invoke(
        app,
        ["prepare", "mitdb-af", "--source", str(shared_data / "mitdb"), "--out",
         str(tmp_path / "s.zarr")],
        env={"COLUMNS": "200", INTERVAL_ENV: None},
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("mitdb-af: ")]
    assert len(lines) >= 2 and not BAR_GLYPHS.search(result.stderr)
    assert lines[-1].startswith("mitdb-af: 6/6 recordings (100 %)")
    assert "windows/s" in lines[-1] and "elapsed" in lines[-1] and "ETA 0:00:00" in lines[-1]
