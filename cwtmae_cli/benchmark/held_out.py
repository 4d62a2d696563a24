"""Test folds the pretraining never saw: how many tested recordings a pretraining checkpoint
reconstructed (its cells' scores are then transductive), and ``--unseen-only``, which leaves
those recordings out of the folds so that both settings are scored on held-out recordings
(the lists and the matching: runtime/seen.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cwtmae_cli.benchmark.protocol import Fold
from cwtmae_cli.errors import CheckpointError, DataError
from cwtmae_cli.runtime.seen import MATCHED_BY, check_scored, recording_key
from cwtmae_cli.wording import plural


def seen_in_pretraining(meta: dict, recordings: list[dict], recording: np.ndarray,
                        folds: Sequence[Fold], warnings: list[str]) -> dict | None:
    """How many of the recordings the folds test the pretraining checkpoint of ``meta`` saw;
    the warning that makes its cells' scores transductive goes to ``warnings``
    (runtime/seen.py)."""
    tested = recording[np.concatenate([fold.test for fold in folds])]
    counts, lines = check_scored(meta, recordings, tested, "tested by the folds")
    warnings += lines
    return counts


def unseen_labels(labels: np.ndarray, recording: np.ndarray, recordings: list[dict],
                  meta: dict, notes: list[str]) -> np.ndarray:
    """``labels`` (N,) with the windows of every recording the pretraining of ``meta`` saw made
    unlabelled (-1), so the folds hold only recordings it never reconstructed
    (``--unseen-only``); what was left out goes to ``notes``."""
    entry = (meta.get("seen") or {}).get("pretraining")
    if entry is None:
        raise CheckpointError(
            "--unseen-only: the pretraining checkpoint does not list the recordings it saw "
            "(made by an older cwtmae); pretrain again, or leave --unseen-only out"
        )
    listed = set(entry["recordings"])
    hit = np.array([recording_key(r, i) in listed for i, r in enumerate(recordings)] or [False])
    kept = np.where(hit[recording], -1, labels)  # (N,)
    before = np.unique(recording[labels >= 0])
    left = np.unique(recording[kept >= 0])
    if len(left) == 0:
        raise DataError(
            f"--unseen-only: the pretraining saw all {plural(len(before), 'labelled recording')} "
            f"of the store ({MATCHED_BY}); pretrain on other recordings"
        )
    notes.append(
        f"--unseen-only: left out {plural(len(before) - len(left), 'labelled recording')} the "
        f"pretraining saw ({MATCHED_BY}); cross-validating the other {len(left)}"
    )
    return kept
