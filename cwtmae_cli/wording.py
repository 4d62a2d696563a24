"""Counts in messages: ``1 recording``, ``2 recordings``, never ``1 recordings`` or ``(s)``."""

from __future__ import annotations


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one: ``plural(1, "window")`` -> ``1 window``,
    ``plural(3, "process", "processes")`` -> ``3 processes``."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"
