"""The two consoles: data and reports on stdout, progress and status on stderr."""

from __future__ import annotations

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


def progress_bar(label: str, *fields: str) -> Any:
    """A rich progress bar on stderr: ``label``, the bar, done/total, the text columns ``fields``
    (format strings over the task, e.g. ``"{task.fields[rate]:.0f} windows/s"``), elapsed, ETA."""
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
        *(TextColumn(field) for field in fields),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
