"""Tolerant channel-name matching: ``Fpz-Cz`` finds ``EEG Fpz-Cz``; case and spaces ignored.

A query matches a channel when, ignoring case and spaces, it equals the whole name or the name
without its leading words (``EEG Fpz-Cz`` -> ``Fpz-Cz``). An exact match wins; several
tolerant matches are an error, as is none (the message lists the channels the file has).
"""

from __future__ import annotations

from collections.abc import Sequence

from cwtmae_cli.errors import DataError


def _norm(name: str) -> str:
    return "".join(name.split()).lower()


def _forms(name: str) -> set[str]:
    """``"EEG Fpz-Cz"`` -> ``{"eegfpz-cz", "fpz-cz"}``: the name and its word suffixes."""
    words = name.split()
    return {_norm("".join(words[i:])) for i in range(len(words))} or {_norm(name)}


def match_channel(query: str, channels: Sequence[str], where: str = "the recording") -> int:
    """Index of the channel ``query`` names in ``channels``; DataError if none or ambiguous."""
    exact = [i for i, c in enumerate(channels) if c == query]
    if len(exact) == 1:
        return exact[0]
    q = _norm(query)
    same = [i for i, c in enumerate(channels) if _norm(c) == q]
    if len(same) == 1:
        return same[0]
    hits = same or [i for i, c in enumerate(channels) if q in _forms(c)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise DataError(f"no channel `{query}` in {where}; it has: {', '.join(channels)}")
    names = ", ".join(channels[i] for i in hits)
    raise DataError(
        f"channel `{query}` is ambiguous in {where} (matches {names}); give the full name"
    )


def match_channels(
    queries: Sequence[str], channels: Sequence[str], where: str = "the recording"
) -> list[int]:
    """Indices of several channels, in query order; a channel named twice is an error."""
    indices = [match_channel(q, channels, where) for q in queries]
    if len(set(indices)) != len(indices):
        raise DataError(f"the channels {', '.join(queries)} name one channel twice in {where}")
    return indices


def pick_channels(
    wanted: list[str] | None, available: list[str], where: str, fallback: bool
) -> list[int]:
    """Indices of ``wanted`` in ``available`` (all when ``wanted`` is empty); with ``fallback`` a
    single missing channel falls back to the first one (the recipes' "first lead if absent")."""
    if not wanted:
        return list(range(len(available)))
    try:
        return match_channels(wanted, available, where)
    except DataError:
        if fallback and len(wanted) == 1 and available:
            return [0]
        raise
