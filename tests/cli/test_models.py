"""``cwtmae models`` and ``cwtmae predict --model NAME``: bundled models listed with the figures
their evaluation measured, run without a working folder, and bad names or damaged folders
refused in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from bundle_fixtures import low_and_good_bundles
from results_fixtures import invoke_wide

from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.evaluate.table import read_table
from cwtmae_cli.runtime import bundled


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    return low_and_good_bundles(tmp_path_factory.mktemp("bundles"))


@pytest.fixture()
def shipped(models_dir, monkeypatch) -> Path:
    """The package's models folder replaced by the test's."""
    monkeypatch.setattr(bundled, "MODELS_DIR", models_dir)
    return models_dir


def _edf(path: Path, seconds: float = 95.0, fs_hz: float = 100.0) -> Path:
    signal = np.random.default_rng(0).normal(0, 20, size=(1, int(seconds * fs_hz)))
    return write_edf(path, signal, fs_hz, ["EEG Fpz-Cz"])


def test_models_json_gives_each_models_input_and_figures(shipped) -> None:
    result = invoke_wide(["models", "--json"])
    assert result.exit_code == 0, result.output
    models = {m["name"]: m for m in json.loads(result.stdout)}
    assert list(models) == ["good", "low"]
    low = models["low"]
    assert low["cv_challenge_score"]["per_fold"] == [0.30, 0.40, 0.35]
    assert low["cv_challenge_score"]["mean"] == pytest.approx(0.35)
    assert low["test_challenge_score"] == pytest.approx(0.33)
    assert (low["fs_hz"], low["window_s"], low["lead"]) == (100.0, 30.0, "EEG Fpz-Cz")
    assert low["size_bytes"] == sum(p.stat().st_size for p in (shipped / "low").iterdir())
    assert low["below_target"] is True and models["good"]["below_target"] is False


def test_models_table_warns_of_a_model_below_the_target_only(shipped) -> None:
    result = invoke_wide(["models"])
    assert result.exit_code == 0, result.output
    assert "0.350 ± 0.050 (3-fold, records)" in result.stdout
    assert "0.850 ± 0.014 (2-fold, records)" in result.stdout
    assert "warning: low: challenge score 0.350 ± 0.050, 3-fold cross-validated, below 0.80" \
        in result.stderr
    assert "warning: good" not in result.stderr


def test_predict_with_a_bundled_model_needs_no_working_folder(shipped, tmp_path, monkeypatch
                                                              ) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    _edf(folder / "a.edf")
    _edf(folder / "b.edf", seconds=61.0)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    monkeypatch.chdir(empty)  # no stores/, no runs/
    result = invoke_wide(["predict", str(folder), "--model", "low", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert f"using bundled model low ({shipped / 'low'})" in result.stderr
    assert ("warning: low: challenge score 0.350 ± 0.050, 3-fold cross-validated, below 0.80: "
            "a demonstration model") in result.stderr
    rows = read_table(empty / "predictions" / "a_pred.tsv")
    assert len(rows) == 3 and all(r["label"] in {"W", "N1", "N2", "N3", "REM"} for r in rows)
    assert len(read_table(empty / "predictions" / "b_pred.tsv")) == 2
    provenance = json.loads((empty / "predictions" / "a_pred.json").read_text())
    assert Path(provenance["checkpoint"]["path"]).resolve() == (shipped / "low").resolve()
    assert sorted(p.name for p in empty.iterdir()) == ["predictions"]


def test_predict_with_a_good_model_notes_its_figure_without_a_warning(shipped, tmp_path) -> None:
    result = invoke_wide(["predict", str(_edf(tmp_path / "a.edf")), "--model", "good",
                          "--out", str(tmp_path / "out"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "good: challenge score 0.850 ± 0.014, 2-fold cross-validated; not a medical device" \
        in result.stderr
    assert "warning: good" not in result.stderr


def test_model_and_checkpoint_together_is_a_usage_error(shipped, tmp_path) -> None:
    result = invoke_wide(["predict", str(_edf(tmp_path / "a.edf")), "--model", "low",
                          "--checkpoint", str(shipped / "good"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: give --model NAME or --checkpoint PATH, not both"
    assert not (tmp_path / "o").exists()


def test_an_unknown_model_lists_the_known_ones(shipped, tmp_path) -> None:
    result = invoke_wide(["predict", str(_edf(tmp_path / "a.edf")), "--model", "lwo",
                          "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: no bundled model `lwo`; the bundled models are: "
                                     "good, low (see `cwtmae models`)")
    assert not (tmp_path / "o").exists()


def test_a_damaged_bundled_model_is_refused_in_one_line(models_dir, monkeypatch, tmp_path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(models_dir / "low", copy / "low")
    (copy / "low" / "meta.json").write_text("{}")
    monkeypatch.setattr(bundled, "MODELS_DIR", copy)
    for args in (["models"], ["predict", str(_edf(tmp_path / "a.edf")), "--model", "low",
                              "--out", str(tmp_path / "o")]):
        result = invoke_wide(args)
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "meta.json has 2 bytes but manifest.json says" in lines[0]
