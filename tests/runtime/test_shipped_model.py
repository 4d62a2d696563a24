"""The model that ships inside the package (``cwtmae_cli/models/ecg-rhythm-tiny``): whole,
small, taken into the wheel, described truthfully by its card, and runnable on a real CinC 2017
record with nothing but ``predict --model``."""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path

import numpy as np
from results_fixtures import invoke_wide

from cwtmae_cli.evaluate.table import read_table
from cwtmae_cli.runtime import bundled
from cwtmae_cli.runtime.bundled import MODELS_DIR, bundled_names, load_bundled

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = "ecg-rhythm-tiny"


def test_the_shipped_model_is_whole_and_small() -> None:
    assert SHIPPED in bundled_names()
    model = load_bundled(SHIPPED)  # every file checked against the manifest
    assert model.size_bytes < 5_000_000
    assert model.meta["label_names"] == ["N", "A", "O", "~"]
    assert model.meta["preprocessing"]["fs_hz"] == 300.0


def test_the_shipped_figures_are_consistent_and_on_the_card() -> None:
    model = load_bundled(SHIPPED)
    card = (model.folder / "README.md").read_text()
    score, text = model.headline
    assert score is not None and text in card
    test = model.evaluation["held_out_test"]
    confusion = np.array(test["confusion_records"])  # (K, K) records, truth by row
    assert confusion.sum() == test["n_records"] == 450  # the store's test split, in records
    f1 = test["records"]["f1"]
    assert np.mean([f1["N"], f1["A"], f1["O"]]) == test["challenge_score"]
    assert f"| challenge score (mean F1 of N, A, O) | {test['challenge_score']:.3f} |" in card
    cv = model.evaluation["cross_validation"]
    if cv:
        assert np.mean(cv["challenge_score"]["per_fold"]) == cv["challenge_score"]["mean"]
    assert "Not a medical device" in card
    if score < bundled.SCORE_TARGET:
        assert "below the 0.80" in card


def test_the_wheel_takes_every_file_of_the_bundled_models() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["cwtmae_cli"]
    package = MODELS_DIR.parent
    files = [p.relative_to(package).as_posix() for p in MODELS_DIR.rglob("*") if p.is_file()]
    assert files
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


def test_predict_model_on_a_real_cinc_record(shared_data, tmp_path) -> None:
    record = shared_data / "cinc2017" / "A00001.mat"  # 30 s: windows at 0, 5, ..., 20 s
    result = invoke_wide(["predict", str(record), "--model", SHIPPED, "--out", str(tmp_path),
                          "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert f"using bundled model {SHIPPED}" in result.stderr
    score, text = load_bundled(SHIPPED).headline
    assert f"{SHIPPED}: challenge score {text}" in result.stderr
    rows = read_table(tmp_path / "A00001_pred.tsv")
    assert [float(r["onset_s"]) for r in rows] == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert all(r["label"] in {"N", "A", "O", "~"} for r in rows)
    for r in rows:
        total = sum(float(r[f"prob_{c}"]) for c in "NAO") + float(r["prob_~"])
        assert abs(total - 1.0) < 1e-4
    sidecar = json.loads((tmp_path / "A00001_pred.json").read_text())
    assert sidecar["checkpoint"]["weights_sha256"] == json.loads(
        (MODELS_DIR / SHIPPED / "manifest.json").read_text())["files"]["model.safetensors"][
        "sha256"]
