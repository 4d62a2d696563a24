"""From annotation intervals to one label per window, and Sleep-EDF's wake trimming.

A window takes the class whose (mapped) intervals cover most of it, provided that cover is at
least ``min_cover`` of the window. Annotation texts listed in ``drop`` (``Sleep stage ?``,
``Movement time``) take part in that vote; a window they win is dropped, with the text as
reason. A window dropped for want of cover says why: ``no annotation`` when no interval touches
it, ``no class covers 50%`` (the recipe's ``min_cover``) when intervals do but none of one class
covers enough (mixed classes, or a short one). Annotations past the end of the signal simply
cover no window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cwtmae_cli.data.readers.recording import Interval
from cwtmae_cli.errors import DataError

UNLABELLED = -1


@dataclass(frozen=True)
class LabelSpec:
    """How annotation texts become classes (the ``[labels]`` table of a recipe).

    ``names``: class names, in index order. ``map``: annotation text -> class name.
    ``drop``: texts whose windows are dropped. ``unmapped``: what other texts mean: ``"drop"``,
    ``"unlabelled"``, ``"error"`` or a class name (``mitdb-af``: any other rhythm is ``non-AF``).
    ``uncovered``: windows no interval covers enough: ``"drop"`` or ``"unlabelled"``.
    """

    names: tuple[str, ...] = ()
    map: dict[str, str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    unmapped: str = "unlabelled"
    uncovered: str = "unlabelled"
    min_cover: float = 0.5

    def class_of(self, text: str) -> int | str:
        """Class index of an annotation text, or ``"drop"`` / ``"unlabelled"``."""
        if text in self.drop:
            return "drop"
        target = self.map.get(text)
        if target is None:
            if self.unmapped == "error":
                raise DataError(f"annotation `{text}` is not in the recipe's label map")
            if self.unmapped in ("drop", "unlabelled"):
                return self.unmapped
            target = self.unmapped
        return self.names.index(target)


def label_windows(
    start_s: np.ndarray, window_s: float, intervals: Sequence[Interval], spec: LabelSpec
) -> tuple[np.ndarray, list[str | None]]:
    """Labels ``(W,)`` int16 (-1 unlabelled) and drop reasons (None = kept) for windows
    ``[start_s, start_s + window_s)``."""
    n_windows = len(start_s)
    labels = np.full(n_windows, UNLABELLED, dtype=np.int16)
    reasons: list[str | None] = [None] * n_windows
    # Vote targets: classes 0..K-1, then one slot per distinct dropped text.
    n_classes = len(spec.names)
    drop_texts: list[str] = []
    onsets, ends, targets = [], [], []
    for iv in intervals:
        if iv.duration_s <= 0:
            continue
        cls = spec.class_of(iv.label)
        if cls == "unlabelled":
            continue
        if cls == "drop":
            if iv.label not in drop_texts:
                drop_texts.append(iv.label)
            cls = n_classes + drop_texts.index(iv.label)
        onsets.append(iv.onset_s)
        ends.append(iv.end_s)
        targets.append(cls)
    if n_windows == 0:
        return labels, reasons
    cover = np.zeros((n_windows, n_classes + len(drop_texts)))  # (W, K + D) seconds covered
    if targets:
        onsets_a, ends_a, targets_a = np.array(onsets), np.array(ends), np.array(targets)
        starts = np.asarray(start_s, dtype=np.float64)
        for b in range(0, n_windows, 1024):  # blocks bound the (W, I) overlap matrix
            s = starts[b : b + 1024, None]  # (w, 1)
            overlap = np.clip(np.minimum(s + window_s, ends_a) - np.maximum(s, onsets_a), 0, None)
            for k in np.unique(targets_a):
                cover[b : b + 1024, k] = overlap[:, targets_a == k].sum(axis=1)
    best = cover.argmax(axis=1)  # (W,)
    enough = cover.max(axis=1) >= spec.min_cover * window_s - 1e-9
    annotated = cover.sum(axis=1) > 1e-9  # some interval overlaps it, of whatever class
    partial = f"no class covers {spec.min_cover:.0%}"  # mixed classes, or one covering too little
    for i in range(n_windows):
        if not enough[i]:
            if spec.uncovered == "drop":
                reasons[i] = partial if annotated[i] else "no annotation"
        elif best[i] >= n_classes:
            reasons[i] = f"label {drop_texts[best[i] - n_classes]}"
        else:
            labels[i] = best[i]
    return labels, reasons


def wake_trim_mask(
    start_s: np.ndarray,
    window_s: float,
    intervals: Sequence[Interval],
    spec: LabelSpec,
    wake: str,
    keep_min: float,
) -> np.ndarray:
    """Boolean ``(W,)``: windows lying within ``keep_min`` minutes before the first and after
    the last sleep interval (any class but ``wake``). All True when the annotations hold no sleep.
    """
    sleep = [
        iv
        for iv in intervals
        if iv.duration_s > 0
        and isinstance(c := spec.class_of(iv.label), int)
        and spec.names[c] != wake
    ]
    starts = np.asarray(start_s, dtype=np.float64)
    if not sleep:
        return np.ones(len(starts), dtype=bool)
    first_s = min(iv.onset_s for iv in sleep) - 60.0 * keep_min
    last_s = max(iv.end_s for iv in sleep) + 60.0 * keep_min
    return (starts >= first_s - 1e-6) & (starts + window_s <= last_s + 1e-6)
