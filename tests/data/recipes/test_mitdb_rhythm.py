"""The ``mitdb-rhythm`` recipe on real MIT-BIH records (201: AFIB, N, T, NOD; 203: AFIB, AFL,
VT): lead MLII at 300 Hz, 10-s windows every 5 s, rhythm notes as CinC classes, a window kept
only when one class covers all of it. The expected labels are worked out here from the raw
``.atr`` notes with ``wfdb`` itself, not with cwtmae's label code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cwtmae_cli.data.prepare import prepare_store
from cwtmae_cli.data.recipes.load import load_recipe
from cwtmae_cli.data.recipes.subjects import subject_of
from cwtmae_cli.data.store.schema import open_store

RECORDS = ("201", "203")
CLASS = {"(N": "N", "(AFIB": "A", "(AFL": "A"}  # every other rhythm note: O
NAMES = ["N", "A", "O", "~"]


def expected_labels(atr: Path, start_s: np.ndarray) -> np.ndarray:
    """Per window ``[s, s + 10)``: the class index when one class's rhythms cover all of it,
    else -2 (dropped)."""
    import wfdb

    ann = wfdb.rdann(str(atr.with_suffix("")), "atr")
    header = wfdb.rdheader(str(atr.with_suffix("")))
    notes = [(s / ann.fs, n.strip("\x00")) for s, n in zip(ann.sample, ann.aux_note, strict=True)
             if n.startswith("(")]
    end_s = header.sig_len / header.fs
    intervals = [(t, notes[i + 1][0] if i + 1 < len(notes) else end_s,
                  NAMES.index(CLASS.get(note, "O"))) for i, (t, note) in enumerate(notes)]
    out = np.full(len(start_s), -2)
    for w, s in enumerate(start_s):
        cover = np.zeros(len(NAMES))
        for lo, hi, k in intervals:
            cover[k] += max(0.0, min(hi, s + 10.0) - max(lo, s))
        if cover.max() >= 10.0 - 1e-6:
            out[w] = int(cover.argmax())
    return out


@pytest.fixture(scope="module")
def rhythm_store(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("mitdb-rhythm")
    source = root / "src"
    source.mkdir()
    for record in RECORDS:
        for ext in ("hea", "dat", "atr"):
            (source / f"{record}.{ext}").symlink_to(shared_data / "mitdb" / f"{record}.{ext}")
    out = root / "rhythm.zarr"
    prepare_store(load_recipe("mitdb-rhythm"), source, out)
    return open_store(out), source


def test_windows_are_the_cinc_models_input(rhythm_store) -> None:
    store, _ = rhythm_store
    assert (store.fs_hz, store.window_s, store.n_samples) == (300.0, 10.0, 3000)
    assert store.channels == ["MLII"] and store.label_names == NAMES
    assert all(r["file_channels"] == ["MLII"] and r["fs_hz_in"] == 360.0
               for r in store.recordings)


@pytest.mark.parametrize("record", RECORDS)
def test_rhythm_notes_become_cinc_classes_and_mixed_windows_are_dropped(rhythm_store,
                                                                        record) -> None:
    store, source = rhythm_store
    index = [r["id"] for r in store.recordings].index(record)
    mine = np.asarray(store.recording[:]) == index
    start_s = np.asarray(store.start_s[:])[mine]
    labels = np.asarray(store.labels[:])[mine]
    expected = expected_labels(source / f"{record}.atr", start_s)
    assert (expected >= 0).all()  # every window kept is wholly one class
    np.testing.assert_array_equal(labels, expected)
    # ... and every window of the 5-s grid that is wholly one class was kept
    grid = np.arange(0.0, start_s.max() + 1e-9, 5.0)
    kept_grid = grid[expected_labels(source / f"{record}.atr", grid) >= 0]
    assert set(np.round(kept_grid, 6)) <= set(np.round(start_s, 6))
    dropped = len(grid) - len(kept_grid)
    assert dropped > 0  # both records change rhythm: some windows mix classes
    counts = np.bincount(labels, minlength=4)
    assert counts[NAMES.index("A")] > 100  # 201: 10 min of AFIB; 203: 24 min of AFIB
    if record == "201":  # 6.6 min of (T: trigeminy is another rhythm
        assert counts[NAMES.index("O")] > 50
    assert counts[NAMES.index("~")] == 0


def test_afl_is_a_and_vt_is_o_on_record_203(rhythm_store) -> None:
    store, source = rhythm_store
    import wfdb

    ann = wfdb.rdann(str(source / "203"), "atr")
    notes = [(s / ann.fs, n.strip("\x00")) for s, n in zip(ann.sample, ann.aux_note, strict=True)
             if n.startswith("(")]
    index = [r["id"] for r in store.recordings].index("203")
    mine = np.asarray(store.recording[:]) == index
    start_s, labels = np.asarray(store.start_s[:])[mine], np.asarray(store.labels[:])[mine]
    for note, want in (("(AFL", "A"), ("(VT", "O")):
        spans = [(t, notes[i + 1][0]) for i, (t, n) in enumerate(notes[:-1]) if n == note]
        inside = [labels[w] for w, s in enumerate(start_s)
                  if any(lo <= s and s + 10 <= hi for lo, hi in spans)]
        if note == "(AFL":
            assert inside, "203 has flutter episodes longer than a window"
        assert all(NAMES[k] == want for k in inside), note


def test_records_201_and_202_are_one_subject() -> None:
    regex = load_recipe("mitdb-rhythm").source.subject_regex
    assert subject_of(regex, "201") == subject_of(regex, "202")
    others = ["100", "200", "203", "212", "220", "234"]
    assert [subject_of(regex, r) for r in others] == others
    assert subject_of(regex, "201") not in others
