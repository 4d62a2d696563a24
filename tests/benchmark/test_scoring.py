"""``benchmark`` on a store whose labels are per recording: each fold's test recordings are
scored (mean of their windows' probabilities) besides its windows, with the recipe's score at
both levels; the figures are checked against sklearn on probabilities aggregated here by hand.
A benchmark.json of an older version (no recording-level keys) resumes: cells whose checkpoint
is kept are scored again, the others are counted as lacking."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score
from typer.testing import CliRunner

from cwtmae_cli.benchmark import scoring
from cwtmae_cli.cli.app import app
from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.data.store.schema import open_store
from cwtmae_cli.evaluate import inference

runner = CliRunner()
NAMES = ["N", "A", "O"]
SCORE = {"name": "mean F1 of N and A", "mean_f1": ["N", "A"]}
# 8 subjects of one recording each: its label and its number of windows
RECORDINGS = [(0, 5), (0, 3), (0, 6), (1, 4), (1, 5), (1, 3), (2, 4), (2, 6)]
NEW_KEYS = ("recipe_score", "recipe_score_missing")
BENCH = ["benchmark", "--folds", "2", "--label-fractions", "1", "--steps", "2", "--batch-size",
         "4", "--device", "cpu", "--keep-checkpoints", "--json"]  # fmt: skip


def _fake_probs(recording: np.ndarray, start_s: np.ndarray) -> np.ndarray:
    """Window probabilities ``(N, 3)`` as a pure function of each window's recording and start:
    the same windows get the same numbers in every cell and on resume."""
    rows = [
        np.random.default_rng([int(r), int(round(s * 10))]).dirichlet([0.4, 0.4, 0.4])
        for r, s in zip(recording, start_s, strict=True)
    ]
    return np.asarray(rows, dtype=np.float64)


def _fake_classify(model, get_batch, recording, start_s, fs_hz, *args, **kwargs):
    return _fake_probs(np.asarray(recording), np.asarray(start_s))


def _store(path: Path) -> Path:
    """Windows of 10 s at 50 Hz; every window carries its recording's label, and the
    recordings say so (``label``), as a reference recipe's do; the recipe declares a score."""
    rng = np.random.default_rng(0)
    t_s = np.arange(500) / 50.0
    labels = np.concatenate([np.full(n, k) for k, n in RECORDINGS])
    recording = np.concatenate([np.full(n, r) for r, (_, n) in enumerate(RECORDINGS)])
    start_s = np.concatenate([np.arange(n) * 5.0 for _, n in RECORDINGS])
    freq_hz = np.array([2.0, 5.0, 11.0])[labels]
    signals = 40 * np.sin(2 * np.pi * freq_hz[:, None] * t_s) + rng.normal(0, 5, (len(labels), 500))
    write_store_from_arrays(
        path, signals[:, None, :].astype(np.float32), labels, recording, start_s, fs_hz=50.0,
        window_s=10.0, channels=["ECG"], label_names=NAMES,
        subjects=[f"s{i}" for i in range(len(RECORDINGS))],
    )  # fmt: skip
    group = zarr.open_group(str(path), mode="r+")
    group.attrs["recordings"] = [
        {**rec, "label": NAMES[k]}
        for rec, (k, _) in zip(group.attrs["recordings"], RECORDINGS, strict=True)
    ]
    group.attrs["recipe"] = {**group.attrs["recipe"], "score": SCORE}
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """A 2-step tiny pretraining, then a 2-fold benchmark at all labels whose test scoring gets
    the fake probabilities."""
    root = tmp_path_factory.mktemp("bench-rec")
    _store(root / "stores" / "rec.zarr")
    result = runner.invoke(app, ["pretrain", "--model", "tiny", "--steps", "2", "--batch-size",
                                 "8", "--device", "cpu", "--workdir", str(root)])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = root / "runs" / "benchmark-rec"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(inference, "classify", _fake_classify)
        result = runner.invoke(app, [*BENCH, "--workdir", str(root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return root, out, json.loads((out / "benchmark.json").read_text()), result


def _by_hand(root: Path, test_subjects: list[str], aggregate: str = "mean") -> dict:
    """The fold's window and recording figures from the store and the fake probabilities, with
    sklearn; ``aggregate`` ``first`` answers a recording by its first window (a wrong rule)."""
    store = open_store(root / "stores" / "rec.zarr")
    recording = np.asarray(store.recording[:])
    start_s = np.asarray(store.start_s[:])
    subject = np.array([store.recordings[int(r)]["subject"] for r in recording])
    rows = np.flatnonzero(np.isin(subject, test_subjects))
    probs = _fake_probs(recording[rows], start_s[rows])  # (n, 3)
    y_window = np.asarray(store.labels[:])[rows]
    truth, answer = [], []
    for r in np.unique(recording[rows]):
        mine = probs[recording[rows] == r]  # (W, 3)
        truth.append(NAMES.index(store.recordings[int(r)]["label"]))
        answer.append(int(np.argmax(mine.mean(axis=0) if aggregate == "mean" else mine[0])))
    figures = {}
    for level, (y, p) in {
        "windows": (y_window, probs.argmax(axis=1)),
        "recordings": (np.array(truth), np.array(answer)),
    }.items():
        f1 = f1_score(y, p, labels=[0, 1, 2], average=None, zero_division=0)
        figures[level] = {
            "accuracy": accuracy_score(y, p),
            "macro_f1": float(np.mean(f1)),
            "cohen_kappa": cohen_kappa_score(y, p, labels=[0, 1, 2]),
            "recipe_score": float(np.mean(f1[:2])),  # N and A
            "confusion_matrix": confusion_matrix(y, p, labels=[0, 1, 2]).tolist(),
            "n": len(y),
        }
    return figures


def _check(block: dict, want: dict) -> None:
    for key in ("accuracy", "macro_f1", "recipe_score"):
        assert block[key] == pytest.approx(want[key]), key
    kappa = want["cohen_kappa"]
    if np.isfinite(kappa):
        assert block["cohen_kappa"] == pytest.approx(kappa)
    assert block["confusion_matrix"] == want["confusion_matrix"]


def test_each_fold_scores_recordings_by_their_mean_probability(bench) -> None:
    root, _, doc, _ = bench
    assert doc["labels_per_recording"] is True
    assert doc["score"] == {"name": SCORE["name"], "classes": ["N", "A"]}
    assert len(doc["per_fold"]) == 4
    differs = False
    for cell in doc["per_fold"]:
        fold = doc["folds"][cell["fold"]]
        want = _by_hand(root, fold["test_subjects"])
        level = cell["test_recording_level"]
        assert level["n_recordings"] == want["recordings"]["n"] == len(fold["test_subjects"])
        assert "n_windows" not in level  # it counts recordings: n_recordings says so
        _check(level, want["recordings"])
        _check(cell["test"], want["windows"])  # the window figures, and their recipe score
        assert cell["test"]["n_windows"] == want["windows"]["n"]
        first = _by_hand(root, fold["test_subjects"], aggregate="first")["recordings"]
        differs |= first["confusion_matrix"] != want["recordings"]["confusion_matrix"]
    assert differs  # the fixture tells the mean from a first-window answer


def test_the_summary_gives_mean_and_sd_of_the_recording_level_figures(bench) -> None:
    _, _, doc, result = bench
    for setting in ("pretrained", "scratch"):
        stats = doc["summary"][setting]["1"]
        level = stats["recording_level"]
        cells = [c for c in doc["per_fold"] if c["setting"] == setting]
        assert level["n_folds"] == 2 and level["n_folds_lacking"] == 0
        for metric in ("macro_f1", "accuracy", "recipe_score"):
            values = [c["test_recording_level"][metric] for c in cells]
            assert level[metric]["mean"] == pytest.approx(np.mean(values))
            assert level[metric]["sd"] == pytest.approx(np.std(values, ddof=1))
            windows = [c["test"][metric] for c in cells]
            assert stats[metric]["mean"] == pytest.approx(np.mean(windows))
    printed = json.loads(result.stdout)
    assert printed["summary"] == doc["summary"]


def test_the_table_shows_a_recording_level_block(bench) -> None:
    _, out, _, _ = bench
    result = runner.invoke(app, ["benchmark", "--resume", str(out)], env={"COLUMNS": "250"},
                           catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "test windows" in text and "recording level: each test recording answered" in text
    assert text.index("test windows") < text.index("recording level")
    assert text.count("mean F1 N/A") == 3  # a column in both tables, and its legend line
    assert "mean F1 N/A: mean F1 of N and A" in text
    assert "recordings" in text.split("macro-F1 gain of pretraining")[1]


def _as_old_version(run: Path) -> None:
    """Remove what this version adds from every cell result and from benchmark.json."""
    for path in (run / "cells").glob("*.json"):
        record = json.loads(path.read_text())
        record.pop("test_recording_level")
        for key in NEW_KEYS:
            record["test"].pop(key)
        path.write_text(json.dumps(record, indent=1) + "\n")
    doc = json.loads((run / "benchmark.json").read_text())
    for key in ("labels_per_recording", "score"):
        doc.pop(key)
    (run / "benchmark.json").write_text(json.dumps(doc, indent=1) + "\n")


def test_resume_of_an_old_benchmark_scores_kept_checkpoints_and_counts_the_rest(
    bench, tmp_path, monkeypatch
) -> None:
    _, out, doc, _ = bench
    old = tmp_path / "old"
    shutil.copytree(out, old)
    _as_old_version(old)
    shutil.rmtree(old / "cells" / "fold1-scratch-1" / "checkpoints")
    monkeypatch.setattr(inference, "classify", _fake_classify)
    result = runner.invoke(app, ["benchmark", "--resume", str(old), "--json"])
    assert result.exit_code == 0, result.output
    again = json.loads((old / "benchmark.json").read_text())
    before = {c["run_dir"]: c for c in doc["per_fold"]}
    for cell in again["per_fold"]:
        was = before[cell["run_dir"]]
        assert cell["test"] == was["test"]  # window keys as they were, recipe score restored
        if cell["run_dir"] == "cells/fold1-scratch-1":
            assert "test_recording_level" not in cell
        else:
            assert cell["test_recording_level"] == was["test_recording_level"]
    saved = json.loads((old / "cells" / "fold0-scratch-1.json").read_text())
    assert "test_recording_level" in saved  # written back to the cell's result
    scratch = again["summary"]["scratch"]["1"]
    level = scratch["recording_level"]
    assert (scratch["n_folds"], level["n_folds"], level["n_folds_lacking"]) == (2, 1, 1)
    fold0 = before["cells/fold0-scratch-1"]["test_recording_level"]
    assert level["macro_f1"] == {"mean": pytest.approx(fold0["macro_f1"]), "sd": None, "n": 1}
    assert again["summary"]["pretrained"]["1"] == doc["summary"]["pretrained"]["1"]
    err = " ".join(result.stderr.split())
    assert err.count("recording-level figures computed from its kept checkpoint") == 3
    assert "fold 1 scratch 100 % (4/4): no recording-level figures" in err
    assert "1 finished cell lacks recording-level figures" in err
    table = runner.invoke(app, ["benchmark", "--resume", str(old)], env={"COLUMNS": "250"})
    assert table.exit_code == 0
    assert "1 of 2" in table.stdout.split("recording level")[1]  # scratch's recordings row


def test_score_test_answers_a_recording_by_its_mean_probability(monkeypatch, tmp_path) -> None:
    # recording 0 (true N): windows say N, A, A; the mean says N (1.75 of 3) but the median A.
    # recording 1 (true N): the first window says A, the mean N. recording 2 (true A): A.
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.45, 0.55], [0.2, 0.8], [0.7, 0.3], [0.7, 0.3],
                      [0.1, 0.9]])  # fmt: skip
    y_true = np.array([0, 0, 0, 0, 0, 0, 1])
    recording = np.array([0, 0, 0, 1, 1, 1, 2])
    monkeypatch.setattr(
        scoring, "_test_probabilities", lambda *a: (probs, y_true, recording, ["N", "A"])
    )
    score = {"name": "mean F1 of N", "mean_f1": ["N"]}
    got = scoring.score_test(tmp_path, tmp_path, np.arange(7), "cpu", by_recording=True,
                             score=score)  # fmt: skip
    level = got["test_recording_level"]
    assert level["accuracy"] == 1.0 and level["n_recordings"] == 3
    assert level["confusion_matrix"] == [[2, 0], [0, 1]] and level["recipe_score"] == 1.0
    assert got["test"]["accuracy"] == pytest.approx(4 / 7)  # windows: 1, 5, 6 and 7 right
    f1_n = f1_score(y_true, probs.argmax(axis=1), pos_label=0)
    assert got["test"]["recipe_score"] == pytest.approx(f1_n)
    without = scoring.score_test(tmp_path, tmp_path, np.arange(7), "cpu")
    assert set(without) == {"test"} and "recipe_score" not in without["test"]
