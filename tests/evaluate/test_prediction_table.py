"""Prediction rows and their TSV / CSV / JSON files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cwtmae_cli.evaluate.table import PredictionTable, read_table, write_table


def _table() -> PredictionTable:
    probs = np.array([[0.7, 0.2, 0.1], [np.nan] * 3, [0.1, 0.3, 0.6]], dtype=np.float32)
    return PredictionTable(
        recording_id="rec1",
        source="/data/rec1.edf",
        label_names=["W", "N2", "REM"],
        window_s=30.0,
        stride_s=30.0,
        onset_s=np.array([0.0, 30.0, 60.0]),
        probs=probs,
        quality=[None, "flat", None],
    )


def test_labels_confidence_and_columns():
    table = _table()
    assert table.labels == ["W", "bad", "REM"]
    assert table.confidence[0] == pytest.approx(0.7) and np.isnan(table.confidence[1])
    assert table.columns == [
        "onset_s",
        "duration_s",
        "label",
        "confidence",
        "prob_W",
        "prob_N2",
        "prob_REM",
        "quality",
    ]
    assert table.summary["n_bad"] == 1 and table.summary["minutes_per_class"]["REM"] == 0.5


def test_tsv_is_bids_like(tmp_path):
    path = write_table(_table(), tmp_path / "rec1_pred.tsv", "tsv")
    lines = path.read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["onset_s", "duration_s", "label"]
    assert lines[2].split("\t") == ["30.0", "30.0", "bad", "n/a", "n/a", "n/a", "n/a", "flat"]
    rows = read_table(path)
    assert [r["label"] for r in rows] == ["W", "bad", "REM"]
    assert float(rows[2]["prob_REM"]) == pytest.approx(0.6) and rows[0]["quality"] == "ok"


def test_csv_has_empty_cells_for_bad_windows(tmp_path):
    path = write_table(_table(), tmp_path / "rec1_pred.csv", "csv")
    rows = read_table(path)
    assert rows[1]["prob_W"] == "" and rows[1]["quality"] == "flat"
    assert [float(r["onset_s"]) for r in rows] == [0.0, 30.0, 60.0]


def test_json_has_nulls_and_summary(tmp_path):
    path = write_table(_table(), tmp_path / "rec1_pred.json", "json")
    doc = json.loads(path.read_text())
    assert doc["recording"] == "rec1" and doc["summary"]["sleep"] is not None
    assert doc["windows"][1]["confidence"] is None and doc["windows"][1]["label"] == "bad"
    assert doc["windows"][0]["prob_W"] == pytest.approx(0.7)
    assert not list(tmp_path.glob("*.part"))


def test_unknown_format_and_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="format"):
        write_table(_table(), tmp_path / "x.xml", "xml")
    with pytest.raises(ValueError):
        PredictionTable("r", "s", ["A", "B"], 30.0, 30.0, np.zeros(2), np.zeros((3, 2)), [None] * 2)
