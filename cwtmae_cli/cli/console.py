"""The two consoles: data and reports on stdout, progress and status on stderr."""

from __future__ import annotations

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
