"""The two consoles: data and reports on stdout, progress and status on stderr."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.text import Text

# Consoles look up sys.stdout / sys.stderr when they print, so test runners that swap them work.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def note(message: str) -> None:
    """A status line on stderr (what a default picked, where something was written)."""
    err.print(Text(message, style="cyan"))


def warn(message: str) -> None:
    """A warning line on stderr."""
    err.print(Text(f"warning: {message}", style="yellow"))


def error_line(message: str) -> None:
    """The one red line an error becomes; the message is printed literally (no markup)."""
    first_line = " ".join(str(message).split("\n")).strip() or "unknown error"
    err.print(Text(f"error: {first_line}", style="bold red"))


def stderr_is_terminal() -> bool:
    """Whether stderr is an interactive terminal (not a file or pipe). Asked of the stream
    itself, not of rich: FORCE_COLOR asks for colour, not for a bar redrawn into a log file."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_bar(
    label: str, *fields: str, unit: str = "", counter: str | None = None, transient: bool = False
) -> Any:
    """Progress on stderr: ``label``, the bar, done/total ``unit``, the text columns ``fields``
    (format strings over the task, e.g. ``"{task.fields[rate]:.0f} windows/s"``), elapsed, ETA.

    A rich bar on a terminal; when stderr is not a terminal (a log file, nohup, a batch job),
    plain lines at a steady interval instead (:class:`~cwtmae_cli.cli.plain_progress.
    PlainProgress`; ``counter`` formats their count, default ``"{done}/{total} <unit>"``)."""
    if not stderr_is_terminal():
        from cwtmae_cli.cli.plain_progress import PlainProgress

        counter = counter or f"{{done}}/{{total}} {unit}".strip()
        return PlainProgress(label, fields, err, counter=counter)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        *([TextColumn(unit)] if unit else []),
        *(TextColumn(field) for field in fields),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=transient,
    )
