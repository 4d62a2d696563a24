"""Window labels from intervals, and the Sleep-EDF stage map on the 12 real hypnograms."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from cwtmae_cli.data.labels import LabelSpec, label_windows, wake_trim_mask
from cwtmae_cli.data.readers.recording import Interval
from cwtmae_cli.data.recipes.load import load_recipe

SPEC = LabelSpec(
    names=("a", "b"), map={"A": "a", "B": "b"}, drop=("?",), unmapped="unlabelled", uncovered="drop"
)


def test_majority_cover_decides_and_drops_are_counted():
    intervals = [
        Interval(0, 40, "A"),
        Interval(40, 50, "B"),
        Interval(90, 30, "?"),
        Interval(120, 5, "A"),
        Interval(150, 30, "X"),
    ]
    start_s = np.arange(0, 180, 30.0)  # 6 windows of 30 s
    labels, reasons = label_windows(start_s, 30.0, intervals, SPEC)
    # [0,30) A; [30,60) B covers 20 s; [60,90) B; [90,120) "?"; [120,150) 5 s only; [150,180) X
    assert labels.tolist() == [0, 1, 1, -1, -1, -1]
    # [120,150) is touched by 5 s of A (too little); [150,180) only by X, which the map ignores
    assert reasons == [None, None, None, "label ?", "no class covers 50%", "no annotation"]
    mixed = [Interval(0, 14, "A"), Interval(14, 16, "B")]  # neither class covers 90 %
    strict = LabelSpec(names=("a", "b"), map={"A": "a", "B": "b"}, min_cover=0.9, uncovered="drop")
    assert label_windows(np.array([0.0, 60.0]), 30.0, mixed, strict)[1] == [
        "no class covers 90%", "no annotation"]
    keep_x = LabelSpec(names=("a", "b"), map={"A": "a"}, unmapped="b", uncovered="unlabelled")
    labels, reasons = label_windows(start_s, 30.0, intervals, keep_x)
    assert labels.tolist() == [0, 1, 1, 1, -1, 1] and reasons == [None] * 6


def test_wake_trim_keeps_windows_around_sleep():
    spec = LabelSpec(names=("W", "S"), map={"W": "W", "S": "S"})
    intervals = [Interval(0, 3600, "W"), Interval(3600, 600, "S"), Interval(4200, 7200, "W")]
    start_s = np.arange(0, 11400, 30.0)
    keep = wake_trim_mask(start_s, 30.0, intervals, spec, "W", 30)
    kept = start_s[keep]
    assert kept[0] == 3600 - 1800 and kept[-1] + 30 == 4200 + 1800
    assert wake_trim_mask(start_s, 30.0, intervals[:1], spec, "W", 30).all()  # no sleep


def _hypnogram_intervals(path) -> list[Interval]:
    import mne

    annot = mne.read_annotations(path)
    return [
        Interval(float(o), float(d), str(t))
        for o, d, t in zip(annot.onset, annot.duration, annot.description, strict=True)
    ]


def _hypnograms(shared_data):
    files = sorted((shared_data / "sleep-edf" / "hypnograms").glob("*-Hypnogram.edf"))
    return [*files, shared_data / "sleep-edf" / "SC4001EC-Hypnogram.edf"]


def test_stage_counts_equal_the_annotations_on_real_hypnograms(shared_data):
    recipe = load_recipe("sleep-edf")
    stage_of = {
        "Sleep stage W": "W",
        "Sleep stage 1": "N1",
        "Sleep stage 2": "N2",
        "Sleep stage 3": "N3",
        "Sleep stage 4": "N3",
        "Sleep stage R": "REM",
    }
    files = _hypnograms(shared_data)
    assert len(files) == 12
    seen_texts: set[str] = set()
    for path in files:
        intervals = _hypnogram_intervals(path)
        seen_texts |= {iv.label for iv in intervals}
        direct: Counter[str] = Counter()
        for iv in intervals:  # 30-s epochs straight from the annotation durations
            assert iv.duration_s % 30 == 0
            direct[stage_of.get(iv.label, iv.label)] += int(iv.duration_s // 30)
        end_s = max(iv.end_s for iv in intervals)
        start_s = np.arange(0, end_s - 29, 30.0)
        labels, reasons = label_windows(start_s, 30.0, intervals, recipe.labels)
        got = Counter(recipe.label_names[i] for i in labels[labels >= 0])
        for name in recipe.label_names:
            assert got[name] == direct[name], (path.name, name)
        dropped = Counter(r for r in reasons if r)
        assert dropped["label Sleep stage ?"] == direct["Sleep stage ?"]
        assert dropped["label Movement time"] == direct["Movement time"]
    assert {"Sleep stage ?", "Movement time", "Sleep stage 4", "Sleep stage R"} <= seen_texts


@pytest.mark.parametrize("index", range(12))
def test_trimming_keeps_exactly_30_min_of_wake_either_side(shared_data, index):
    recipe = load_recipe("sleep-edf")
    intervals = _hypnogram_intervals(_hypnograms(shared_data)[index])
    end_s = max(iv.end_s for iv in intervals)
    start_s = np.arange(0, end_s - 29, 30.0)
    labels, reasons = label_windows(start_s, 30.0, intervals, recipe.labels)
    keep = wake_trim_mask(start_s, 30.0, intervals, recipe.labels, "W", 30)
    sleep = np.flatnonzero(labels > 0)
    first, last = sleep[0], sleep[-1]
    kept = np.flatnonzero(keep)
    assert kept[0] == max(first - 60, 0) and kept[-1] == min(last + 60, len(start_s) - 1)
    # Every trimmed window lies outside the sleep period, so only wake (or dropped) is trimmed.
    assert not (~keep & (labels > 0)).any()
    before, after = labels[kept[0] : first], labels[last + 1 : kept[-1] + 1]
    assert len(before) == min(60, first) and set(before.tolist()) <= {0, -1}
    assert len(after) == min(60, len(start_s) - 1 - last) and set(after.tolist()) <= {0, -1}
    assert (before == 0).sum() >= 50  # wake, apart from a few `?` / movement epochs
