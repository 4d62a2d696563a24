"""Channel slots and tolerant channel-name matching.

A **slot** is one channel of the store, named by the alternatives tried in order:
``"V1|V2|V4|V5"`` reads ``V1`` when the file has it, else ``V2``, and so on; ``"MLII"`` is a slot
with one name. ``--channels 'MLII,V1|V2|V4|V5'`` is two slots.

A name matches a channel when, ignoring case and spaces, it equals the whole channel name or the
name without its leading words (``EEG Fpz-Cz`` -> ``Fpz-Cz``); trailing dots (EDF label padding,
``C3..``) and a ``-Ref`` suffix are ignored too, so ``C3`` finds ``EEG C3-Ref`` and ``C3..``. An
exact match wins; a name matching several channels is an error, as is a slot none of whose names
is there (the message lists the channels the file has).
"""

from __future__ import annotations

from collections.abc import Sequence

from cwtmae_cli.errors import DataError, UsageError

SLOT_SEPARATOR = "|"


def slot_names(slot: str) -> list[str]:
    """``"V1|V2 | V4"`` -> ``["V1", "V2", "V4"]``: the names a slot tries, in order."""
    return [name.strip() for name in str(slot).split(SLOT_SEPARATOR)]


def normalize_slot(slot: str) -> str:
    """``" V1 | V2"`` -> ``"V1|V2"``; ValueError naming the problem for an empty alternative."""
    names = slot_names(slot)
    if not all(names):
        raise ValueError(f"channel slot `{slot}` has an empty name (write e.g. `V1|V2`)")
    return SLOT_SEPARATOR.join(names)


def parse_channel_slots(text: str, option: str = "--channels") -> list[str]:
    """``"MLII, V1|V2|V4|V5"`` -> ``["MLII", "V1|V2|V4|V5"]``; UsageError for an empty slot or
    name (``"A,,B"``, ``"V1||V2"``)."""
    slots = [part.strip() for part in text.split(",")]
    if not all(slots):
        raise UsageError(f"{option} {text!r} has an empty slot: write names between the commas")
    try:
        return [normalize_slot(slot) for slot in slots]
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _norm(name: str) -> str:
    return "".join(name.split()).lower()


def _loose(name: str) -> str:
    """Normalised name without EDF dot padding and ``-Ref`` suffix: ``EEG C3-Ref`` -> ``eegc3``."""
    key = _norm(name).rstrip(".")
    return key[: -len("-ref")] if key.endswith("-ref") and len(key) > len("-ref") else key


def _forms(name: str) -> set[str]:
    """``"EEG Fpz-Cz"`` -> ``{"eegfpz-cz", "fpz-cz"}``: the name and its word suffixes, loose."""
    words = name.split()
    return {_loose("".join(words[i:])) for i in range(len(words))} or {_loose(name)}


def _find(name: str, channels: Sequence[str], where: str) -> int | None:
    """Index of the one channel ``name`` matches, None when none does; DataError if several."""
    exact = [i for i, c in enumerate(channels) if c == name]
    if len(exact) == 1:
        return exact[0]
    q = _norm(name)
    same = [i for i, c in enumerate(channels) if _norm(c) == q]
    if len(same) == 1:
        return same[0]
    hits = same or [i for i, c in enumerate(channels) if _loose(name) in _forms(c)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        return None
    names = ", ".join(channels[i] for i in hits)
    raise DataError(
        f"channel `{name}` is ambiguous in {where} (matches {names}); give the full name"
    )


def resolve_slot(slot: str, channels: Sequence[str], where: str = "the recording") -> int | None:
    """Index of the channel the slot's first present alternative names; None when none is."""
    for name in slot_names(slot):
        index = _find(name, channels, where)
        if index is not None:
            return index
    return None


def slot_matches(slot: str, channel: str) -> bool:
    """True when the file channel ``channel`` is one the slot names (any alternative)."""
    return resolve_slot(slot, [channel]) is not None


def _missing(slot: str, channels: Sequence[str], where: str) -> DataError:
    has = f"it has: {', '.join(channels)}" if channels else "it has no signal channels"
    return DataError(f"no channel `{slot}` in {where}; {has}")


def match_channel(query: str, channels: Sequence[str], where: str = "the recording") -> int:
    """Index of the channel the slot ``query`` names in ``channels``; DataError if none (the
    message lists the file's channels) or ambiguous."""
    index = resolve_slot(query, channels, where)
    if index is None:
        raise _missing(query, channels, where)
    return index


def match_channels(
    queries: Sequence[str], channels: Sequence[str], where: str = "the recording"
) -> list[int]:
    """Indices of several slots, in query order; a channel named twice is an error."""
    indices = [match_channel(q, channels, where) for q in queries]
    if len(set(indices)) != len(indices):
        raise DataError(f"the channels {', '.join(queries)} name one channel twice in {where}")
    return indices


def pick_channels(
    wanted: list[str] | None, available: list[str], where: str, fallback: bool
) -> list[int]:
    """Indices of the slots ``wanted`` in ``available`` (all when ``wanted`` is empty); with
    ``fallback`` a single slot that the file lacks falls back to its first channel (the recipes'
    "first lead if absent"; an ambiguous name is still an error). Whether the fallback was used
    shows in the name read: :func:`slot_matches` is False for it."""
    if not wanted:
        return list(range(len(available)))
    if fallback and len(wanted) == 1 and available:
        if resolve_slot(wanted[0], available, where) is None:
            return [0]
    return match_channels(wanted, available, where)


def match_slot(query: str, slots: Sequence[str], where: str) -> int:
    """Index of the store slot ``query`` names: the same slot text, else the one slot sharing a
    name with it (``V2`` or ``V1|V2`` find ``V1|V2|V4|V5``). DataError if none or several."""
    exact = [i for i, s in enumerate(slots) if s == query]
    if len(exact) == 1:
        return exact[0]

    def shares(slot: str) -> bool:
        return any(
            slot_matches(a, b) or slot_matches(b, a)
            for a in slot_names(query)
            for b in slot_names(slot)
        )

    hits = [i for i, slot in enumerate(slots) if shares(slot)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise _missing(query, slots, where)
    raise DataError(
        f"channel `{query}` is ambiguous in {where} (matches {', '.join(slots[i] for i in hits)})"
    )


def slot_usage(slots: Sequence[str], recordings: Sequence[dict]) -> list[dict]:
    """Per slot, what the recordings' files gave it: ``[{"slot", "read", "fallback"}]``.

    ``read``: ``{file name: number of recordings}``, the slot's own names first, commonest first.
    ``fallback``: ``[{"id", "channel"}]``, the recordings that lack the slot's names and were read
    from their first channel. Uses each recording's ``file_channels`` and ``channel_fallback``
    (worked out from the names for stores written before that flag existed)."""
    usage = [{"slot": slot, "read": {}, "fallback": []} for slot in slots]
    for rec in recordings:
        names = list(rec.get("file_channels") or [])
        flags = rec.get("channel_fallback")
        for i, (entry, name) in enumerate(zip(usage, names, strict=False)):
            entry["read"][name] = entry["read"].get(name, 0) + 1
            used = flags[i] if flags is not None and i < len(flags) else None
            if used is None:
                used = not slot_matches(entry["slot"], name)
            if used:
                entry["fallback"].append({"id": str(rec.get("id")), "channel": name})
    for entry in usage:  # the slot's own names first, then the fallbacks; commonest first
        order = sorted(
            entry["read"].items(),
            key=lambda item, slot=entry["slot"]: (not slot_matches(slot, item[0]), -item[1]),
        )
        entry["read"] = dict(order)
    return usage
