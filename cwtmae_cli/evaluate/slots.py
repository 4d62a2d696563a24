"""The channel slots a classifier checkpoint reads, and the ones ``predict`` is asked to read.

A model reads its slots in a fixed order (``preprocessing.channels``, e.g. ``["EEG Fpz-Cz",
"EOG horizontal"]``); each slot may name alternatives tried in order (``V1|V2|V4|V5``).
"""

from __future__ import annotations

from cwtmae_cli.errors import CheckpointError, UsageError
from cwtmae_cli.wording import plural


def checkpoint_channel(meta: dict) -> str:
    """The one channel slot a checkpoint's model was trained on (``preprocessing.channel``):
    a name (``MLII``) or alternatives tried in order (``V1|V2|V4|V5``)."""
    channel = meta.get("preprocessing", {}).get("channel")
    if isinstance(channel, (list, tuple)):
        if len(channel) != 1:
            raise CheckpointError(f"checkpoint preprocessing names {len(channel)} channels, not 1")
        channel = channel[0]
    if not channel:
        raise CheckpointError("checkpoint meta.json has no preprocessing.channel")
    return str(channel)


def checkpoint_slots(meta: dict) -> list[str]:
    """The channel slots a checkpoint's model reads, in its channel order
    (``preprocessing.channels``; checkpoints from before several channels: the one ``channel``)."""
    slots = meta.get("preprocessing", {}).get("channels")
    if isinstance(slots, list) and slots and all(isinstance(s, str) and s for s in slots):
        return list(slots)
    return [checkpoint_channel(meta)]


def asked_slots(channel: str | None, slots: list[str]) -> list[str]:
    """The slots to read: ``--channel`` (comma-separated, one per checkpoint slot) or the
    checkpoint's ``slots``; UsageError for another count."""
    if channel is None:
        return list(slots)
    from cwtmae_cli.data.readers.channels import parse_channel_slots

    asked = parse_channel_slots(channel, "--channel")
    if len(asked) != len(slots):
        raise UsageError(
            f"--channel {channel!r} names {plural(len(asked), 'channel')} but the model reads "
            f"{len(slots)} ({','.join(slots)}); give one per slot"
        )
    return asked


def slots_differ(slots: list[str], file_channel: str) -> bool:
    """True when ``file_channel`` (the names read from a file, comma-separated for several
    slots) names, in some slot, none of that slot's names."""
    from cwtmae_cli.data.readers.channels import slot_matches

    read = file_channel.split(",") if len(slots) > 1 else [file_channel]
    return len(read) != len(slots) or not all(
        slot_matches(slot, name) for slot, name in zip(slots, read, strict=False))
