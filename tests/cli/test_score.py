"""``cwtmae score``: the evaluate report for hand-written prediction tables against real
references, what was left out or unmatched said on stderr, and bad input as one line."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest
from agreement_fixtures import AF, CINC, SLEEP, link_record, write_summary, write_table
from results_fixtures import save_classifier, tiny_classifier
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.evaluate.table import read_table

runner = CliRunner()
ONSETS_S = np.arange(30540.0, 31260.0, 30.0)  # (24,) see tests/evaluate/test_agreement.py
TRUTH = ["W"] * 3 + ["N1"] * 4 + ["N2"] * 13 + ["N3", "N2", "N3", "N3"]


def _invoke(args: list[str]):
    return runner.invoke(app, args, env={"COLUMNS": "200", "CWTMAE_HOME": None})


def _row(stdout: str, first_cell: str, after: str = "") -> list[str]:
    """The cells of the first table row ``first_cell`` below the line holding ``after``."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    for line in lines[start:]:
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[1] == first_cell:
            return cells[2:-1]
    raise AssertionError(f"no table row `{first_cell}` in:\n{stdout}")


def test_the_report_is_evaluates_with_exact_counts(shared_data, tmp_path):
    hypnogram = shared_data / "sleep-edf" / "SC4001EC-Hypnogram.edf"
    predicted = ["W", "W", "N1", "N1", "N2", "N2", "bad"] + ["N2"] * 13 + ["N3"] * 4
    table = write_table(tmp_path / "SC4001E0-PSG_pred.tsv", ONSETS_S, predicted, SLEEP)
    result = _invoke(["score", str(table), str(hypnogram), "--json", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    assert "agreement with the reference: 23 windows from 1 recording" in result.stdout
    cm = "confusion matrix (rows true"
    assert _row(result.stdout, "W", cm) == ["2", "1", "0", "0", "0"]
    assert _row(result.stdout, "N1", cm) == ["0", "1", "2", "0", "0"]
    assert _row(result.stdout, "N2", cm) == ["0", "0", "13", "1", "0"]
    assert _row(result.stdout, "N3", cm) == ["0", "0", "0", "3", "0"]
    assert _row(result.stdout, "REM", cm) == ["0", "0", "0", "0", "0"]
    assert _row(result.stdout, "accuracy") == [f"{19 / 23:.4f}"]
    assert "no REM window in the reference: macro-F1 counts its F1 as 0" in result.stdout
    assert "1 window left out of the scores: 1 bad" in result.stderr
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["level"] == "windows" and doc["recipe"] == "sleep-edf"
    assert doc["summary"]["n_windows"] == 23 and doc["left_out"] == {"bad": 1}
    assert doc["confusion_matrix"]["counts"][2] == [0, 0, 13, 1, 0]
    dash = _invoke(["score", str(table), str(hypnogram), "--json", "-"])
    assert json.loads(dash.stdout)["summary"] == doc["summary"]


def test_the_clock_offset_is_said(shared_data, tmp_path):
    hypnogram = shared_data / "sleep-edf" / "SC4001EC-Hypnogram.edf"
    table = write_table(
        tmp_path / "SC4001E0-PSG_pred.tsv", ONSETS_S, TRUTH[2:] + ["N3", "N3"], SLEEP,
        start="1989-04-24T16:14:00",
    )
    result = _invoke(["score", str(table), str(hypnogram)])
    assert result.exit_code == 0, result.output
    assert "SC4001E0-PSG: the reference starts -60 s from the table's first sample" in (
        result.stderr
    )
    assert _row(result.stdout, "accuracy") == ["1.0000"]


def test_unmatched_recordings_are_listed_one_line_each(shared_data, tmp_path):
    refs = tmp_path / "refs"
    for record in ("201", "203", "100"):
        link_record(shared_data, refs, record)
    for record in ("201", "998", "999"):
        write_table(tmp_path / "pred" / f"{record}_pred.tsv", [0.0, 30.0], ["AF", "AF"], AF)
    result = _invoke(["score", str(tmp_path / "pred"), str(refs)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert f"warning: 998: no reference for this recording in {refs}; not scored" in warnings
    assert f"warning: 999: no reference for this recording in {refs}; not scored" in warnings
    assert "warning: 2 recordings of the predictions without a reference" in warnings
    assert "warning: 100.atr: no prediction table for this reference; not scored" in warnings
    assert "warning: 203.atr: no prediction table for this reference; not scored" in warnings
    assert "2 references without a prediction" in result.stderr
    assert "agreement with the reference: 2 windows from 1 recording" in result.stdout


def test_recording_labels_give_the_report_over_recordings(shared_data, tmp_path):
    answers = {"A00001": "N", "A00002": "O", "A00004": "A", "A00008": "O"}
    write_summary(tmp_path / "pred" / "summary.tsv", answers, CINC)
    reference = shared_data / "cinc2017" / "REFERENCE.csv"
    result = _invoke(["score", str(tmp_path / "pred"), str(reference)])
    assert result.exit_code == 0, result.output
    assert "agreement with the reference: 4 recordings" in result.stdout
    cm = "confusion matrix (rows true"
    assert _row(result.stdout, "N", cm) == ["1", "0", "1", "0"]  # A00002 is N, called O
    assert _row(result.stdout, "A", cm) == ["0", "1", "0", "0"]
    assert "no ~ recording in the reference" in result.stdout
    assert "2996 recordings of REFERENCE.csv without a prediction (not listed)" in result.stderr
    assert "warning:" not in result.stderr.replace("warning: the reference has no ~", "")


def test_a_class_the_map_cannot_produce_is_warned(shared_data, tmp_path):
    recipe = tmp_path / "af-only.toml"
    recipe.write_text('extends = "mitdb-af"\nname = "af-only"\n[labels]\nunmapped = "unlabelled"\n')
    atr = link_record(shared_data, tmp_path / "ref", "201")
    table = write_table(tmp_path / "201_pred.tsv", [0.0, 30.0], ["AF", "non-AF"], AF)
    result = _invoke(["score", str(table), str(atr), "--recipe", str(recipe)])
    assert result.exit_code == 0, result.output
    assert "warning: class non-AF of the predictions is none the reference's label map" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        ("missing predictions", 1, "no such file or folder"),
        ("unknown format", 1, "cannot tell the format of reference"),
        ("no overlap", 1, "has a reference in"),
        ("unknown recipe", 2, "no recipe `no-such-recipe`"),
        ("no reference argument", 2, "Missing argument"),
    ],
)
def test_bad_input_is_one_line(case, code, message, shared_data, tmp_path):
    atr = link_record(shared_data, tmp_path / "ref", "201")
    table = write_table(tmp_path / "201_pred.tsv", [0.0, 30.0], ["AF", "AF"], AF)
    other = write_table(tmp_path / "o" / "999_pred.tsv", [0.0], ["AF"], AF)
    (tmp_path / "ref.txt").write_text("x")
    args = {
        "missing predictions": [str(tmp_path / "none_pred.tsv"), str(atr)],
        "unknown format": [str(table), str(tmp_path / "ref.txt")],
        "no overlap": [str(other), str(tmp_path / "ref")],
        "unknown recipe": [str(table), str(atr), "--recipe", "no-such-recipe"],
        "no reference argument": [str(table)],
    }[case]
    result = _invoke(["score", *args])
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert message.lower() in lines[0].lower()
    assert result.stdout == ""


def test_what_predict_writes_is_scored_against_the_sleep_edf_folder(shared_data, tmp_path):
    """predict's folder (table, sidecar, summary.tsv) against the Sleep-EDF folder, which holds
    the PSG beside its hypnogram: the hypnogram is the reference, and its 10 windows over the
    crop are all W (data README), so accuracy is the share of windows predict called W."""
    ckpt = save_classifier(tmp_path / "ckpt", tiny_classifier(5, seed=1).eval(), SLEEP)
    source = tmp_path / "src"
    source.mkdir()
    (source / "SC4001E0-PSG.edf").symlink_to(shared_data / "sleep-edf" / "SC4001E0-PSG.edf")
    out = tmp_path / "pred"
    result = _invoke(["predict", str(source), "--checkpoint", str(ckpt), "--out", str(out)])
    assert result.exit_code == 0, result.output
    labels = [row["label"] for row in read_table(out / "SC4001E0-PSG_pred.tsv")]
    assert len(labels) == 10 and "bad" not in labels
    doc = json.loads(_invoke(["score", str(out), str(shared_data / "sleep-edf"), "--json", "-"])
                     .stdout)
    assert doc["recordings"][0]["reference"].endswith("SC4001EC-Hypnogram.edf")
    assert doc["recordings"][0]["offset_s"] == 0.0  # the two headers start at 16:13:00
    assert doc["summary"]["n_windows"] == 10
    assert doc["summary"]["accuracy"] == pytest.approx(labels.count("W") / 10)


def test_one_answer_for_every_window_is_warned(shared_data, tmp_path):
    hypnogram = shared_data / "sleep-edf" / "SC4001EC-Hypnogram.edf"
    table = write_table(tmp_path / "SC4001E0-PSG_pred.tsv", ONSETS_S, ["N2"] * 24, SLEEP)
    result = _invoke(["score", str(table), str(hypnogram)])
    assert result.exit_code == 0, result.output
    assert _row(result.stdout, "accuracy") == [f"{14 / 24:.4f}"]  # N2's share of TRUTH
    assert "every window of the reference was predicted N2: the model tells no class apart" in (
        result.stderr
    )


# --- the EDF+ and BIDS files of `predict --format edf|bids` -----------------------------------

NIGHT_START = datetime(2020, 1, 1, 22, 0, 0)
STAGES = [("Sleep stage W", 60.0), ("Sleep stage 1", 60.0), ("Sleep stage 2", 90.0),
          ("Sleep stage 3", 60.0), ("Sleep stage R", 90.0)]  # 360 s, from 30 s after the PSG


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A generated Sleep-EDF-like pair (PSG, 11 windows of noise, the fifth flat; a hypnogram
    starting 30 s later), predicted by an untrained classifier in tsv, edf and bids: the three
    folders and the PSG's folder."""
    root = tmp_path_factory.mktemp("night")
    rng = np.random.default_rng(11)
    signal = rng.normal(0, 20, size=(1, 33000))  # 330 s at 100 Hz
    signal[0, 12000:15000] = 0.0  # window 4 (120-150 s) is flat: `bad`
    src = root / "src"
    write_edf(src / "SC4123E0-PSG.edf", signal, 100.0, ["EEG Fpz-Cz"], start=NIGHT_START)
    onset, annotations = 0.0, []
    for text, duration in STAGES:
        annotations.append((onset, duration, text))
        onset += duration
    write_edf(src / "SC4123EC-Hypnogram.edf", [], [], [], annotations=annotations,
              start=NIGHT_START + timedelta(seconds=30))
    ckpt = save_classifier(root / "ckpt", tiny_classifier(5, seed=4).eval(), SLEEP)
    for fmt in ("tsv", "edf", "bids"):
        result = _invoke(["predict", str(src / "SC4123E0-PSG.edf"), "--checkpoint", str(ckpt),
                          "--out", str(root / fmt), "--format", fmt, "--device", "cpu"])
        assert result.exit_code == 0, result.output
    return root


def _report(predictions, reference, *extra) -> dict:
    result = _invoke(["score", str(predictions), str(reference), "--json", "-", *extra])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    for row in doc["recordings"]:
        row.pop("table")  # the file scored: the one thing that differs
    doc.pop("predictions")
    return doc


def test_edf_and_bids_predictions_score_exactly_as_the_tsv_table(night):
    src = night / "src"
    tsv = _report(night / "tsv", src)
    labels = [r["label"] for r in read_table(night / "tsv" / "SC4123E0-PSG_pred.tsv")]
    assert labels[4] == "bad" and len(set(labels) - {"bad"}) > 1  # a report worth comparing
    assert tsv["recordings"][0]["offset_s"] == 30.0 and tsv["left_out"]["bad"] == 1
    assert tsv["summary"]["n_windows"] == 9  # 11, less the bad one and the one before the scoring
    for other in (night / "edf", night / "edf" / "SC4123E0-PSG_pred.edf", night / "bids",
                  night / "bids" / "SC4123E0-PSG_events.tsv"):
        assert _report(other, src) == tsv, other


def test_an_edf_without_its_sidecar_needs_the_recipe(night, tmp_path):
    alone = tmp_path / "SC4123E0-PSG_pred.edf"
    alone.symlink_to(night / "edf" / "SC4123E0-PSG_pred.edf")
    result = _invoke(["score", str(alone), str(night / "src")])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: SC4123E0-PSG_pred.edf does not name the model's")
    assert len(result.stderr.strip().splitlines()) == 1
    # with --recipe: the header's start (whole seconds here, as the sidecar's) places it
    tsv = _report(night / "tsv", night / "src")
    assert _report(alone, night / "src", "--recipe", "sleep-edf") == tsv


def test_two_formats_of_one_recording_in_a_folder_are_refused(night, tmp_path):
    for name in ("SC4123E0-PSG_pred.tsv", "SC4123E0-PSG_pred.edf", "SC4123E0-PSG_pred.json"):
        source = night / ("tsv" if name.endswith(".tsv") else "edf") / name
        (tmp_path / name).symlink_to(source)
    result = _invoke(["score", str(tmp_path), str(night / "src")])
    assert result.exit_code == 1, result.output
    assert "two prediction files for recording SC4123E0-PSG" in result.stderr


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("edf without annotations", "holds no prediction annotation"),
        ("edf label outside the classes", "labels Sleep stage 1 are none of its classes"),
        ("events without trial_type", "not a BIDS events file of predictions (no trial_type"),
        ("events label outside the classes", "labels N9 are none of its classes"),
        ("events onset not a number", "`onset` value 'soon' is not a number"),
        ("classes not the reference's", "no recipe maps reference annotations to the classes"),
    ],
)
def test_bad_edf_and_bids_predictions_are_one_line(case, message, night, tmp_path):
    src, bids = night / "src", night / "bids" / "SC4123E0-PSG_events.tsv"
    side = json.loads((night / "edf" / "SC4123E0-PSG_pred.json").read_text())
    (tmp_path / "SC4123E0-PSG_pred.json").write_text(json.dumps(side))
    if case == "edf without annotations":
        write_edf(tmp_path / "SC4123E0-PSG_pred.edf", np.zeros((1, 600)), 10.0, ["Dummy"])
    elif case == "edf label outside the classes":
        write_edf(tmp_path / "SC4123E0-PSG_pred.edf", np.zeros((1, 600)), 10.0, ["Dummy"],
                  annotations=[(0.0, 30.0, "W"), (30.0, 30.0, "Sleep stage 1")])
    elif case == "classes not the reference's":
        side["label_names"] = ["sleep", "wake"]
        (tmp_path / "SC4123E0-PSG_pred.json").write_text(json.dumps(side))
        write_edf(tmp_path / "SC4123E0-PSG_pred.edf", np.zeros((1, 600)), 10.0, ["Dummy"],
                  annotations=[(0.0, 30.0, "sleep"), (30.0, 30.0, "wake")])
    else:
        rows = [line.split("\t") for line in bids.read_text().splitlines()]
        column, value = {
            "events without trial_type": ("trial_type", "stage"),
            "events label outside the classes": ("trial_type", "N9"),
            "events onset not a number": ("onset", "soon"),
        }[case]
        k = rows[0].index(column)
        rows[0 if value == "stage" else 1][k] = value
        (tmp_path / bids.name).write_text("\n".join("\t".join(r) for r in rows) + "\n")
    given = next(p for p in tmp_path.iterdir() if not p.name.endswith(".json"))
    result = _invoke(["score", str(given), str(src)])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert message in lines[0]
    assert result.stdout == ""


def test_rhythm_files_and_recording_labels_pick_the_recipe_that_reads_them(shared_data, tmp_path):
    # cinc2017 and mitdb-rhythm both have the classes N, A, O, ~: .atr files are read with
    # mitdb-rhythm's map, a CSV of recording labels with cinc2017's, and neither is a tie
    atr = link_record(shared_data, tmp_path / "ref", "201")
    table = write_table(tmp_path / "201_pred.tsv", [0.0, 10.0, 20.0], ["N"] * 3, CINC, 10.0)
    result = _invoke(["score", str(table), str(atr), "--json", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "a.json").read_text())["recipe"] == "mitdb-rhythm"
    assert "built-in recipes" not in result.stderr
    summary = write_summary(tmp_path / "pred" / "summary.tsv", {"A00001": "N"}, CINC)
    reference = shared_data / "cinc2017" / "REFERENCE.csv"
    result = _invoke(["score", str(summary), str(reference), "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "b.json").read_text())
    assert doc["recipe"] == "cinc2017" and doc["recipes_passed_over"] == []


def test_a_remaining_tie_of_recipes_is_warned(shared_data, tmp_path, monkeypatch):
    from cwtmae_cli.data.recipes.load import load_recipe
    from cwtmae_cli.evaluate import reference_files

    chosen = load_recipe("cinc2017").to_dict()
    monkeypatch.setattr(reference_files, "_builtin_choice", lambda names, by: (chosen, ["mine"]))
    summary = write_summary(tmp_path / "pred" / "summary.tsv", {"A00001": "N"}, CINC)
    result = _invoke(["score", str(summary), str(shared_data / "cinc2017" / "REFERENCE.csv")])
    assert result.exit_code == 0, result.output
    assert ("warning: the classes N, A, O, ~ are those of the built-in recipes cinc2017, mine: "
            "references read with cinc2017's label map; pass --recipe to choose") in result.stderr
