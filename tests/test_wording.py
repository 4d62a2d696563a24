"""Counts in messages: singular for exactly one."""

from __future__ import annotations

from cwtmae_cli.wording import plural


def test_plural() -> None:
    assert plural(1, "recording") == "1 recording"
    assert plural(0, "recording") == "0 recordings"
    assert plural(2, "window") == "2 windows"
    assert plural(1, "process", "processes") == "1 process"
    assert plural(3, "process", "processes") == "3 processes"
