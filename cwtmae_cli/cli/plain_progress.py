"""Progress as plain lines, for a stderr that is not a terminal (a log file, nohup, SLURM).

A rich progress bar redraws one line with control codes; written to a file it becomes one long
truncated line. :class:`PlainProgress` takes the same calls (``add_task``, ``update``, ``start``,
``stop``, ``console``) and prints one ordinary line at a steady interval instead::

    pretrain: step 120/1000 (12 %)  epoch 1.20  loss 0.4121  lr 3.00e-04  45.1 samples/s
    elapsed 0:00:41  ETA 0:05:01      (one line in the log; folded here)

The first progress and the last state are always printed; in between, at most one line per
``CWTMAE_PROGRESS_INTERVAL_S`` seconds (default 10; 0 prints every update).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.text import Text

from cwtmae_cli.errors import UsageError

INTERVAL_ENV = "CWTMAE_PROGRESS_INTERVAL_S"
DEFAULT_INTERVAL_S = 10.0


def progress_interval_s() -> float:
    """Seconds between plain progress lines: ``$CWTMAE_PROGRESS_INTERVAL_S`` or the default."""
    text = os.environ.get(INTERVAL_ENV, "").strip()
    if not text:
        return DEFAULT_INTERVAL_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        raise UsageError(f"{INTERVAL_ENV} must be a number of seconds >= 0, got {text!r}")
    return value


def clock_text(seconds: float | None) -> str:
    """``0:05:01``; ``?`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _plain(template: str, task: _Task) -> str:
    """A rich column's format string filled in, its markup (``[bold]``) dropped, as rich does."""
    return Text.from_markup(template.format(task=task)).plain


@dataclass
class _Task:
    """What a rich format string sees as ``task`` (``task.description``, ``task.fields[...]``)."""

    description: str
    total: float | None
    completed: float
    fields: dict[str, Any]
    started_s: float
    start_completed: float
    printed: tuple | None = None  # (completed, total) of the last line printed
    last_print_s: float | None = None


class PlainProgress:
    """The subset of ``rich.progress.Progress`` the commands use, printing plain lines.

    ``label`` and ``fields`` are the rich format strings of the bar (markup is dropped);
    ``counter`` formats the count, over ``done`` and ``total`` (e.g. ``"step {done}/{total}"``).
    """

    def __init__(
        self,
        label: str,
        fields: tuple[str, ...],
        console: Console,
        counter: str = "{done}/{total}",
        interval_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.fields = fields
        self.console = console
        self.counter = counter
        self.interval_s = progress_interval_s() if interval_s is None else interval_s
        self.clock = clock
        self.tasks: list[_Task] = []

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Nothing to draw until the first update."""

    def stop(self) -> None:
        """Print each task's last state unless that line was already printed."""
        for task in self.tasks:
            if task.printed is not None and task.printed != (task.completed, task.total):
                self._print(task)

    def add_task(
        self, description: str, total: float | None = None, completed: float = 0, **fields: Any
    ) -> int:
        now = self.clock()
        self.tasks.append(_Task(description, total, completed, dict(fields), now, completed))
        return len(self.tasks) - 1

    def update(
        self,
        task_id: int,
        *,
        total: float | None = None,
        completed: float | None = None,
        advance: float | None = None,
        description: str | None = None,
        **fields: Any,
    ) -> None:
        task = self.tasks[task_id]
        if total is not None:
            task.total = total
        if completed is not None:
            task.completed = completed
        if advance is not None:
            task.completed += advance
        if description is not None:
            task.description = description
        task.fields.update(fields)
        now = self.clock()
        first = task.printed is None
        finished = task.total is not None and task.completed >= task.total
        finished = finished and task.printed != (task.completed, task.total)  # not twice
        due = task.last_print_s is not None and now - task.last_print_s >= self.interval_s
        if first or finished or due:
            self._print(task)

    def line(self, task: _Task) -> str:
        """The plain line of ``task`` now."""
        now = self.clock()
        elapsed_s = now - task.started_s
        done = int(task.completed)
        total = None if task.total is None else int(task.total)
        count = self.counter.format(done=done, total="?" if total is None else total)
        if total:
            count += f" ({100 * task.completed / total:.0f} %)"
        parts = [f"{_plain(self.label, task)}: {count}"]
        for template in self.fields:
            text = re.sub(r"\s{2,}", "  ", _plain(template, task).strip())
            if text:
                parts.append(text)
        parts.append(f"elapsed {clock_text(elapsed_s)}")
        if total is not None:
            progressed = task.completed - task.start_completed
            eta_s = None
            if task.completed >= total:
                eta_s = 0.0
            elif progressed > 0 and elapsed_s > 0:
                eta_s = (total - task.completed) * elapsed_s / progressed
            parts.append(f"ETA {clock_text(eta_s)}")
        return "  ".join(parts)

    def _print(self, task: _Task) -> None:
        self.console.print(self.line(task), markup=False, highlight=False, soft_wrap=True)
        task.printed = (task.completed, task.total)
        task.last_print_s = self.clock()
