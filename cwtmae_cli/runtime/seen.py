"""Which recordings a model has seen, and whether the recordings it is scored on are among them.

A checkpoint's ``meta.json`` lists under ``seen`` the recordings each stage trained on::

    "seen": {
      "pretraining": {"store", "splits", "n_recordings", "recordings"},  # unlabelled (MAE)
      "training":    {...},  # fine-tuning: the windows the classifier learned from
      "validation":  {...},  # fine-tuning: the windows that chose checkpoints/best
    }

A pretraining checkpoint has ``pretraining``; a classifier has ``training`` and ``validation``
and carries its pretraining checkpoint's ``pretraining`` forward (``null`` when that checkpoint
predates the list; absent when trained from scratch). ``evaluate`` and ``benchmark`` compare the
recordings they score with these lists and warn when they meet: a test recording that
pretraining reconstructed makes the score transductive; one that fine-tuning trained on makes it
no held-out figure at all.

Recordings are matched by **name and length**: the recording id without a merge prefix (the
part after the last ``/``) and the source duration in seconds, so that two stores prepared from
the same files (a copy, links, another rate or window) match, and two data sets that merely reuse
a name (``100``) rarely do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from cwtmae_cli.wording import plural

MATCHED_BY = "matched by recording name and length"
STAGES = ("pretraining", "training", "validation")
_SAW = {
    "pretraining": ("pretraining saw", "unlabelled, so the scores are transductive, not held out"),
    "training": ("fine-tuning trained on", "these are not held-out figures"),
    "validation": (
        "fine-tuning chose its best checkpoint on",
        "the scores are optimistic for them",
    ),
}


def recording_key(record: Mapping[str, Any], index: int) -> str:
    """``name|duration``: how a store's recording is recognised in another store."""
    name = str(record.get("id", index)).rsplit("/", 1)[-1]
    duration = record.get("duration_s")
    return name if duration is None else f"{name}|{float(duration):.3f}"


def keys_of(recordings: list[dict], used: Iterable[int]) -> set[str]:
    """The keys of the recordings at indices ``used`` (repeats allowed) of a store's list."""
    return {recording_key(recordings[int(i)], int(i)) for i in np.unique(np.asarray(list(used)))}


def seen_entry(store: Any, recordings: list[dict], used: np.ndarray, splits: Iterable[str]
               ) -> dict[str, Any]:
    """One stage's list: the store, its splits, and the keys of the recordings at ``used``
    (one index per training window)."""
    keys = sorted(keys_of(recordings, np.asarray(used, dtype=np.int64)))
    return {"store": str(store), "splits": list(splits), "n_recordings": len(keys),
            "recordings": keys}


def carried_pretraining(pretrained_meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a classifier's ``seen`` says of its pretraining: nothing from scratch, the
    pretraining checkpoint's list, or ``None`` when that checkpoint has none (unknown)."""
    if pretrained_meta is None:
        return {}
    return {"pretraining": (pretrained_meta.get("seen") or {}).get("pretraining")}


def overlap_lines(meta: Mapping[str, Any], scored: set[str], what: str) -> list[str]:
    """The warnings for the ``scored`` recording keys that a stage of ``meta`` trained on,
    and for each stage whose list is unknown. ``what`` says which recordings were scored
    (``"scored here"``, ``"tested by the folds"``)."""
    seen = meta.get("seen")
    if seen is None:
        return [
            "the checkpoint does not list the recordings it was trained on (made by an older "
            "cwtmae), so whether the scored recordings were seen in training cannot be checked"
        ]
    lines = []
    for stage in STAGES:
        if stage not in seen:
            continue
        entry = seen[stage]
        if entry is None:
            lines.append(
                f"the {stage} checkpoint does not list its recordings (made by an older cwtmae), "
                f"so whether it saw the scored recordings cannot be checked"
            )
            continue
        n = len(scored & set(entry.get("recordings", ())))
        if n:
            verb, consequence = _SAW[stage]
            lines.append(
                f"{verb} {n} of {plural(len(scored), 'recording')} {what} ({MATCHED_BY}; store "
                f"{entry.get('store')}, {'+'.join(entry.get('splits', ()))}): {consequence}"
            )
    return lines


def overlap_counts(meta: Mapping[str, Any], scored: set[str]) -> dict[str, int | None] | None:
    """``{stage: how many of scored it saw}`` (None: unknown) for the stages ``meta`` lists;
    None when it lists none."""
    seen = meta.get("seen")
    if seen is None:
        return None
    return {
        stage: None if seen[stage] is None else len(scored & set(seen[stage]["recordings"]))
        for stage in STAGES
        if stage in seen
    }


def check_scored(meta: Mapping[str, Any], recordings: list[dict], used: np.ndarray, what: str
                 ) -> tuple[dict[str, int | None] | None, list[str]]:
    """:func:`overlap_counts` and :func:`overlap_lines` for the recordings at indices ``used``
    (one per scored window) of a store's ``recordings``."""
    scored = keys_of(recordings, used)
    return overlap_counts(meta, scored), overlap_lines(meta, scored, what)
