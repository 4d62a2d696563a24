"""``score``'s library: prediction tables written by hand against the real references in
../shared/data (a Sleep-EDF hypnogram, MIT-BIH 201.atr, CinC 2017's REFERENCE.csv)."""

from __future__ import annotations

import numpy as np
import pytest
from agreement_fixtures import AF, CINC, SLEEP, link_record, write_summary, write_table

from cwtmae_cli.errors import DataError
from cwtmae_cli.evaluate.agreement import score_predictions

# SC4001EC-Hypnogram.edf from 30540 s: W to 30630, stage 1 to 30750, stage 2 to 31140, 3 for
# 30 s, 2 for 30 s, 3 from 31200 (see the hypnogram): windows of 30 s from 30540 to 31230.
ONSETS_S = np.arange(30540.0, 31260.0, 30.0)  # (24,)
TRUTH = ["W"] * 3 + ["N1"] * 4 + ["N2"] * 13 + ["N3", "N2", "N3", "N3"]


@pytest.fixture()
def hypnogram(shared_data):
    return shared_data / "sleep-edf" / "SC4001EC-Hypnogram.edf"


def test_confusion_counts_of_a_hand_made_case(hypnogram, tmp_path):
    """Each stretch of the hypnogram is predicted partly right, partly wrong: the counts are
    what one counts by hand, the bad window is left out."""
    predicted = (
        ["W", "W", "N1"]  # W: 2 right, 1 as N1
        + ["N1", "N2", "N2", "bad"]  # N1: 1 right, 2 as N2, 1 bad
        + ["N2"] * 10 + ["N3"] * 3  # N2 (13): 10 right, 3 as N3
        + ["N3", "N2", "REM", "N3"]  # N3, N2, N3 (as REM), N3
    )
    table = write_table(tmp_path / "SC4001E0-PSG_pred.tsv", ONSETS_S, predicted, SLEEP)
    result = score_predictions(table, hypnogram)
    assert result.level == "windows" and result.recipe == "sleep-edf"
    counts = [
        [2, 1, 0, 0, 0],  # W
        [0, 1, 2, 0, 0],  # N1
        [0, 0, 11, 3, 0],  # N2 (13 + the lone epoch at 31170)
        [0, 0, 0, 2, 1],  # N3
        [0, 0, 0, 0, 0],  # REM
    ]
    assert result.metrics["confusion_matrix"]["counts"] == counts
    assert result.metrics["summary"]["n_windows"] == 23
    assert result.left_out == {"bad": 1}
    assert result.metrics["summary"]["accuracy"] == pytest.approx(16 / 23)
    assert result.metrics["classes_without_support"] == ["REM"]


def test_predictions_equal_to_the_reference_agree_fully(hypnogram, tmp_path):
    table = write_table(tmp_path / "SC4001E0-PSG_pred.tsv", ONSETS_S, TRUTH, SLEEP)
    summary = score_predictions(table, hypnogram).metrics["summary"]
    assert summary["accuracy"] == 1.0 and summary["cohen_kappa"] == 1.0
    assert summary["n_windows"] == 24


def _rhythm_truth(shared_data, onsets_s: np.ndarray, window_s: float) -> list[str]:
    """AF where (AFIB or (AFL covers most of the window, from the .atr read directly."""
    import wfdb

    ann = wfdb.rdann(str(shared_data / "mitdb" / "201"), "atr")
    notes = [(s / 360.0, n.strip("\x00")) for s, n in zip(ann.sample, ann.aux_note, strict=True)
             if n.startswith("(")]
    ends = [t for t, _ in notes[1:]] + [650000 / 360.0]
    labels = []
    for onset in onsets_s:
        af = sum(
            max(0.0, min(onset + window_s, end) - max(onset, start))
            for (start, note), end in zip(notes, ends, strict=True)
            if note in ("(AFIB", "(AFL")
        )
        labels.append("AF" if af >= window_s / 2 else "non-AF")
    return labels


def test_wfdb_rhythm_reference_agrees_with_its_own_labels(shared_data, tmp_path):
    atr = link_record(shared_data, tmp_path / "ref", "201")
    onsets_s = np.arange(0.0, 1800.0, 30.0)  # (60,)
    truth = _rhythm_truth(shared_data, onsets_s, 30.0)
    assert 15 <= truth.count("AF") <= 25  # 10.1 min of (AFIB
    table = write_table(tmp_path / "pred" / "201_pred.tsv", onsets_s, truth, AF)
    result = score_predictions(table, atr)
    assert result.metrics["summary"]["accuracy"] == 1.0
    assert result.metrics["summary"]["cohen_kappa"] == 1.0
    flipped = ["AF" if t == "non-AF" else "non-AF" for t in truth]
    write_table(table, onsets_s, flipped, AF)
    assert score_predictions(table, atr).metrics["summary"]["accuracy"] == 0.0


def test_a_table_starting_later_than_the_reference_is_placed_by_clock_time(hypnogram, tmp_path):
    """The table's recording starts 60 s after the hypnogram (16:13:00 in its header): its
    window at t is the hypnogram's t + 60. Without that clock time the onsets are taken as
    the reference's own, and the same table no longer agrees."""
    shifted_truth = TRUTH[2:] + ["N3", "N3"]  # the hypnogram 60 s later (31260-31320: stage 3)
    table = write_table(
        tmp_path / "SC4001E0-PSG_pred.tsv", ONSETS_S, shifted_truth, SLEEP,
        start="1989-04-24T16:14:00",
    )
    result = score_predictions(table, hypnogram)
    assert result.recordings[0]["offset_s"] == -60.0
    assert result.metrics["summary"]["accuracy"] == 1.0
    (tmp_path / "SC4001E0-PSG_pred.json").unlink()
    result = score_predictions(table, hypnogram)
    assert result.recordings[0]["offset_s"] == 0.0
    assert result.metrics["summary"]["accuracy"] < 0.9


def test_windows_without_a_reference_class_are_left_out_and_counted(hypnogram, tmp_path):
    """SC4001EC ends with `Sleep stage ?` from 79500 s to 86400 s; past that, nothing."""
    onsets_s = [79440.0, 79470.0, 79500.0, 79530.0, 86400.0, 86430.0]
    table = write_table(tmp_path / "SC4001E0-PSG_pred.tsv", onsets_s, ["W"] * 6, SLEEP)
    result = score_predictions(table, hypnogram)
    assert result.metrics["summary"]["n_windows"] == 2
    assert result.left_out == {"reference Sleep stage ?": 2, "no reference label": 2}


def test_a_folder_is_matched_by_recording_and_the_unmatched_are_listed(shared_data, tmp_path):
    refs = tmp_path / "refs"
    for record in ("201", "203"):
        link_record(shared_data, refs, record)
    onsets_s = np.arange(0.0, 600.0, 30.0)
    truth = _rhythm_truth(shared_data, onsets_s, 30.0)
    write_table(tmp_path / "pred" / "201_pred.tsv", onsets_s, truth, AF)
    write_table(tmp_path / "pred" / "999_pred.tsv", onsets_s, truth, AF)
    result = score_predictions(tmp_path / "pred", refs)
    assert [row["recording"] for row in result.recordings] == ["201"]
    assert result.unmatched_predictions == ["999"]
    assert [p.rsplit("/", 1)[-1] for p in result.unmatched_references] == ["203.atr"]
    assert result.metrics["summary"]["n_windows"] == 20
    assert result.metrics["summary"]["accuracy"] == 1.0


def test_sleep_tables_pair_with_hypnograms_by_the_recipes_prefix(hypnogram, tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / hypnogram.name).symlink_to(hypnogram)
    write_table(tmp_path / "pred" / "SC4001E0-PSG_pred.tsv", ONSETS_S, TRUTH, SLEEP)
    result = score_predictions(tmp_path / "pred", refs)
    assert result.unmatched_predictions == [] and result.unmatched_references == []
    assert result.metrics["summary"]["accuracy"] == 1.0
    # the Sleep-EDF folder itself: the hypnogram is the reference, not the PSG file beside it
    result = score_predictions(tmp_path / "pred", hypnogram.parent)
    assert result.recordings[0]["reference"] == str(hypnogram)
    assert result.metrics["summary"]["accuracy"] == 1.0


def test_recording_labels_score_summary_rows(shared_data, tmp_path):
    """A00001-A00010 of REFERENCE.csv: N N N A A N N O A N. Two answers wrong, one bad, one
    with a text the map does not know (a CSV written here), one with no reference row."""
    answers = {
        "A00001": "N", "A00002": "N", "A00003": "A", "A00004": "A", "A00005": "bad",
        "A00006": "N", "A00007": "N", "A00008": "O", "A00009": "N", "A00010": "N",
        "B00001": "N",
    }
    summary = write_summary(tmp_path / "pred" / "summary.tsv", answers, CINC)
    result = score_predictions(tmp_path / "pred", shared_data / "cinc2017" / "REFERENCE.csv")
    assert result.level == "recordings" and result.recipe == "cinc2017"
    counts = result.metrics["confusion_matrix"]["counts"]
    assert counts == [[5, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    assert result.left_out == {"bad": 1}
    assert result.unmatched_predictions == ["B00001"]
    assert len(result.unmatched_references) == 3000 - 10
    same = {rid: label for rid, label in answers.items() if rid < "A00005"}
    write_summary(summary, same, CINC)
    reference = tmp_path / "ref.csv"
    reference.write_text("A00001,N\nA00002,N\nA00003,X\nA00004,A\n")
    result = score_predictions(summary, reference)
    assert result.metrics["summary"]["accuracy"] == 1.0
    assert result.metrics["summary"]["n_windows"] == 3  # A00001, A00002, A00004
    assert result.left_out == {"no reference label": 1}  # A00003: X is outside the map
    assert result.unmatched_predictions == []


def test_a_class_the_reference_map_cannot_produce_is_named(shared_data, tmp_path):
    recipe = tmp_path / "af-only.toml"
    recipe.write_text('extends = "mitdb-af"\nname = "af-only"\n[labels]\nunmapped = "unlabelled"\n')
    atr = link_record(shared_data, tmp_path / "ref", "201")
    onsets_s = np.arange(0.0, 600.0, 30.0)
    table = write_table(tmp_path / "201_pred.tsv", onsets_s, ["AF"] * 20, AF)
    result = score_predictions(table, atr, recipe=str(recipe))
    assert result.classes_not_in_reference_map == ["non-AF"]
    assert score_predictions(table, atr).classes_not_in_reference_map == []


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing table", "no such file or folder"),
        ("missing reference", "no such file or folder"),
        ("unknown reference format", "cannot tell the format of reference"),
        ("unknown prediction format", "cannot tell the format of"),
        ("no overlap", "has a reference in"),
        ("window tables against a CSV", "is scored against summary.tsv"),
        ("summary against annotations", "holds one label per recording"),
        ("classes no recipe knows", "no recipe maps reference annotations"),
        ("atr without header", "need their header"),
        ("no window in common", "has both a class and a reference label"),
    ],
)
def test_bad_inputs_are_one_data_error(case, message, shared_data, tmp_path):
    atr = link_record(shared_data, tmp_path / "ref", "201")
    table = write_table(tmp_path / "201_pred.tsv", [0.0, 30.0], ["AF", "AF"], AF)
    args = {
        "missing table": (tmp_path / "nope_pred.tsv", atr),
        "missing reference": (table, tmp_path / "nope.atr"),
        "unknown reference format": (table, (tmp_path / "ref.txt", "x")[0]),
        "unknown prediction format": (tmp_path / "notes.txt", atr),
        "no overlap": (table, tmp_path / "ref"),
        "window tables against a CSV": (table, shared_data / "cinc2017" / "REFERENCE.csv"),
        "summary against annotations": (
            write_summary(tmp_path / "p" / "summary.tsv", {"201": "AF"}, AF), atr),
        "classes no recipe knows": (
            write_table(tmp_path / "q" / "201_pred.tsv", [0.0], ["x"], ["x", "y"]), atr),
        "atr without header": (table, None),
        "no window in common": (
            write_table(tmp_path / "r" / "201_pred.tsv", [5000.0], ["AF"], AF), atr),
    }[case]
    predictions, reference = args
    (tmp_path / "ref.txt").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    if case == "no overlap":
        table.rename(table.with_name("999_pred.tsv"))
        predictions = table.with_name("999_pred.tsv")
        (tmp_path / "ref" / "999.hea").unlink(missing_ok=True)
    if case == "atr without header":
        bare = tmp_path / "bare"
        bare.mkdir()
        (bare / "201.atr").symlink_to(shared_data / "mitdb" / "201.atr")
        reference = bare / "201.atr"
    with pytest.raises(DataError, match=message):
        score_predictions(predictions, reference)


def test_a_recipe_with_other_classes_is_refused(shared_data, tmp_path):
    atr = link_record(shared_data, tmp_path / "ref", "201")
    table = write_table(tmp_path / "201_pred.tsv", [0.0], ["AF"], AF)
    with pytest.raises(DataError, match="are not recipe sleep-edf's W, N1, N2, N3, REM"):
        score_predictions(table, atr, recipe="sleep-edf")
