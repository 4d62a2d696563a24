"""CinC 2017 end to end on six real records: ``predict`` on the folder writes ``summary.tsv``,
``evaluate --per-recording`` scores the records with the challenge score, and both agree."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from challenge_files import write_reference
from results_fixtures import preprocessing, tiny_classifier
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.evaluate.table import read_table
from cwtmae_cli.runtime.checkpoint import save_checkpoint

runner = CliRunner()
LABELS = ["N", "A", "O", "~"]
# 30 s N, 9.3 s N, 60.4 s O, 30 s A, 10.07 s A, 9.99 s A (labels as in REFERENCE.csv)
RECORDS = {
    "A00001": "N",
    "A01364": "N",
    "A02826": "O",
    "A00004": "A",
    "A00405": "A",
    "A00592": "A",
}


def _invoke(args: list[str]):
    return runner.invoke(app, args, env={"COLUMNS": "200", "CWTMAE_HOME": None})


@pytest.fixture(scope="module")
def cinc(shared_data, tmp_path_factory) -> dict[str, Path]:
    """Links to the records, a store of them all in its test split, a checkpoint of its
    preprocessing (a random tiny model: agreement, not accuracy, is tested)."""
    root = tmp_path_factory.mktemp("cinc")
    source = root / "records"
    source.mkdir()
    for name in RECORDS:
        for suffix in (".hea", ".mat"):
            (source / f"{name}{suffix}").symlink_to(shared_data / "cinc2017" / f"{name}{suffix}")
    write_reference(source, RECORDS)
    recipe = root / "all-test.toml"
    recipe.write_text('extends = "cinc2017"\n\n[split]\nfractions = [0, 0, 1]\n')
    store = root / "cinc.zarr"
    result = _invoke(["prepare", str(recipe), "--source", str(source), "--out", str(store)])
    assert result.exit_code == 0, result.output
    model = tiny_classifier(4, n_samples=3000, seed=3)
    pre = preprocessing(300.0, 10.0, "ECG", model.config["cwt_scales"])
    pre["window_policy"] = json.loads((store / "zarr.json").read_text())["attributes"][
        "window_policy"
    ]
    meta = {"kind": "classifier", "model_config": model.config, "preprocessing": pre}
    ckpt = save_checkpoint(root / "ckpt", model, meta | {"label_names": LABELS})
    return {"root": root, "source": source, "store": store, "ckpt": ckpt}


def test_predict_folder_writes_a_summary_of_mean_probabilities(cinc):
    out = cinc["root"] / "pred"
    result = _invoke(
        ["predict", str(cinc["source"]), "--checkpoint", str(cinc["ckpt"]), "--out", str(out)]
        + ["--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    with (out / "summary.tsv").open() as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert [r["recording"] for r in rows] == sorted(RECORDS)
    for row in rows:
        windows = read_table(out / f"{row['recording']}_pred.tsv")
        probs = np.array([[float(w[f"prob_{c}"]) for c in LABELS] for w in windows])  # (W, 4)
        mean = probs.mean(axis=0)
        assert int(row["n_windows"]) == len(windows) and row["n_bad"] == "0"
        assert [float(row[f"prob_{c}"]) for c in LABELS] == pytest.approx(mean, abs=2e-6)
        assert row["label"] == LABELS[int(np.argmax(mean))]
        assert float(row["confidence"]) == pytest.approx(mean.max(), abs=2e-6)
    assert {r["recording"]: int(r["n_windows"]) for r in rows}["A01364"] == 1  # 9.3 s: padded
    short = json.loads((out / "A01364_pred.json").read_text())  # the sidecar says so
    assert short["padded_s"] == pytest.approx(0.68) and short["window_policy"]["cover"] is True
    assert json.loads((out / "A00001_pred.json").read_text())["padded_s"] == 0


def test_evaluate_per_recording_scores_records_like_predict(cinc):
    out = cinc["root"] / "pred-eval"
    _invoke(
        ["predict", str(cinc["source"]), "--checkpoint", str(cinc["ckpt"]), "--out", str(out)]
        + ["--device", "cpu"]
    )
    with (out / "summary.tsv").open() as fh:
        predicted = {r["recording"]: r["label"] for r in csv.DictReader(fh, delimiter="\t")}
    args = ["evaluate", "--checkpoint", str(cinc["ckpt"]), "--data", str(cinc["store"])]
    result = _invoke([*args, "--per-recording", "--json", "-", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    level = json.loads(result.stdout)["recording_level"]
    assert level["n_recordings"] == 6
    counts = np.zeros((4, 4), dtype=int)
    for name, truth in RECORDS.items():
        counts[LABELS.index(truth), LABELS.index(predicted[name])] += 1
    assert level["confusion_matrix"]["counts"] == counts.tolist()
    f1 = {row["label"]: row["f1"] for row in level["per_class"]}
    assert level["score"]["classes"] == ["N", "A", "O"]
    assert level["score"]["value"] == pytest.approx((f1["N"] + f1["A"] + f1["O"]) / 3)
    answers = {r["recording"]: (r["label"], r["predicted"]) for r in level["recordings"]}
    assert answers == {name: (RECORDS[name], predicted[name]) for name in RECORDS}
    shown = _invoke([*args, "--per-recording", "--device", "cpu"])
    assert "6 recordings" in shown.stdout and "CinC 2017 challenge score" in shown.stdout
    # per record: truth, answer, confidence; not kappa and the like of its one-class windows
    assert "windows right" in shown.stdout and "balanced acc." not in shown.stdout
    plain = _invoke([*args, "--device", "cpu"])
    assert "challenge score" not in plain.stdout and "--per-recording" in plain.stderr
