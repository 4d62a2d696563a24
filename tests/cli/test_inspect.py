"""`cwtmae inspect`: stores (table and JSON), checkpoint/run folders, and wrong paths."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.data.store.schema import describe_store

runner = CliRunner()


def _store(path):
    labels = np.array([0, 0, 1, 2, 1, 0, -1, 2])
    return write_store_from_arrays(
        path,
        np.zeros((8, 1, 30), np.float32) + np.arange(30, dtype=np.float32),
        labels,
        np.array([0, 0, 0, 1, 1, 2, 2, 2]),
        np.tile([0.0, 30.0, 60.0], 3)[:8],
        fs_hz=1.0,
        window_s=30.0,
        channels=["EEG Fpz-Cz"],
        label_names=["W", "N2", "REM"],
        subjects=["a", "b", "c"],
        split=np.array([0, 0, 0, 1, 1, 2, 2, 2]),
    )


def test_store_summary_table(tmp_path):
    path = _store(tmp_path / "s.zarr")
    result = runner.invoke(app, ["inspect", str(path)])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "8 windows of 30 s at 1 Hz (30 samples, EEG Fpz-Cz)" in text
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 3}
    cells = lambda row: [c.strip() for c in rows[row].split("│")[2:-1]]  # noqa: E731
    assert cells("W") == ["2", "0", "1", "3"]
    assert cells("REM") == ["0", "1", "1", "2"]
    assert cells("unlabelled") == ["0", "0", "1", "1"]
    assert cells("windows") == ["3", "2", "3", "8"]


def test_store_json_is_describe_store(tmp_path):
    path = _store(tmp_path / "s.zarr")
    result = runner.invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == describe_store(path)


def test_checkpoint_and_run_folders_use_describe_checkpoint(tmp_path, monkeypatch):
    import cwtmae_cli.runtime.checkpoint as checkpoint

    seen = []

    def fake_describe(path):
        seen.append(path)
        return {
            "kind": "classifier",
            "step": 300,
            "preprocessing": {"fs_hz": 100.0},
            "label_names": ["W", "N1"],
        }

    monkeypatch.setattr(checkpoint, "describe_checkpoint", fake_describe)
    ckpt = tmp_path / "step-0000300"
    ckpt.mkdir()
    (ckpt / "meta.json").write_text("{}")
    result = runner.invoke(app, ["inspect", str(ckpt)])
    assert result.exit_code == 0, result.stderr
    assert "classifier" in result.stdout and "preprocessing.fs_hz" in result.stdout
    assert "W, N1" in result.stdout
    run = tmp_path / "runs" / "finetune-x"
    (run / "checkpoints").mkdir(parents=True)
    result = runner.invoke(app, ["inspect", str(run), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["step"] == 300
    assert seen == [ckpt, run]


def test_wrong_paths_are_usage_errors(tmp_path):
    result = runner.invoke(app, ["inspect", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such path" in result.stderr
    result = runner.invoke(app, ["inspect", str(tmp_path)])
    assert result.exit_code == 2 and "neither a store" in result.stderr


def test_store_summary_names_subjects_per_split_and_the_classes_a_split_lacks(tmp_path):
    path = _store(tmp_path / "s.zarr")
    result = runner.invoke(app, ["inspect", str(path)])
    assert result.exit_code == 0, result.stderr
    for name, subject in (("train", "a"), ("validation", "b"), ("test", "c")):
        assert f"{name} subjects: {subject}\n" in result.stdout
    warnings = " ".join(result.stderr.split())
    assert "the train split has no REM window: 2 subjects hold REM (b, c)" in warnings
    assert "the validation split has no W window: 2 subjects hold W (a, c)" in warnings
    assert "the test split has no N2 window" in warnings
    info = describe_store(path)
    assert [info["splits"][s]["missing_classes"] for s in ("train", "validation", "test")] == [
        ["REM"],
        ["W"],
        ["N2"],
    ]
