"""``--context K`` end to end: finetune records it, evaluate and predict use it, bad K exits 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from results_fixtures import write_wfdb_record
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.runtime.checkpoint import read_meta

runner = CliRunner()
CPU = ["--batch-size", "8", "--device", "cpu"]


@pytest.fixture(scope="module")
def context_run(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny pretraining run, then ``finetune --context 3`` on a separable store."""
    root = tmp_path_factory.mktemp("work")
    write_sine_store(root / "stores" / "sine.zarr", n_per_class=16)
    for args in (["pretrain", "--model", "tiny", "--steps", "4"],
                 ["finetune", "--context", "3", "--steps", "4", "--lr", "2e-3"]):
        result = runner.invoke(app, [*args, *CPU, "--workdir", str(root)])
        assert result.exit_code == 0, result.output
    return root, max((root / "runs").glob("finetune-*"))


def test_the_checkpoint_records_the_context_and_evaluate_uses_it(context_run) -> None:
    root, run = context_run
    config = read_meta(run / "checkpoints" / "best")["model_config"]
    assert config["context"] == 3 and config["context_stride_s"] == 30.0
    result = runner.invoke(app, ["evaluate", "--device", "cpu", "--json", "-",
                                 "--workdir", str(root)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["context"] == 3
    narrowed = runner.invoke(app, ["evaluate", "--device", "cpu", "--json", "-", "--context", "1",
                                   "--workdir", str(root)])
    assert narrowed.exit_code == 0, narrowed.output
    assert json.loads(narrowed.stdout)["context"] == 1
    inspected = runner.invoke(app, ["inspect", str(run / "checkpoints" / "best")])
    assert inspected.exit_code == 0 and "context" in inspected.output


@pytest.mark.parametrize("command", ["finetune", "evaluate", "predict"])
@pytest.mark.parametrize("bad", ["0", "4"])
def test_an_even_or_non_positive_context_is_a_usage_error(context_run, command, bad) -> None:
    root, _ = context_run
    before = sorted(p.name for p in root.rglob("*"))
    extra = ["x.edf"] if command == "predict" else []
    result = runner.invoke(app, [command, *extra, "--context", bad, "--device", "cpu",
                                 "--workdir", str(root)])
    assert result.exit_code == 2, result.output
    assert "--context must be an odd number of windows >= 1" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in root.rglob("*")) == before  # nothing written, nothing lost


def test_a_wider_context_than_trained_is_refused(context_run) -> None:
    root, _ = context_run
    result = runner.invoke(app, ["evaluate", "--context", "5", "--device", "cpu",
                                 "--workdir", str(root)])
    assert result.exit_code == 2 and "give at most 3" in result.output


def _probabilities(table: Path) -> np.ndarray:
    with table.open() as f:
        rows = list(csv.reader(f, delimiter="\t"))
    header = rows[0]
    columns = [i for i, name in enumerate(header) if name.startswith("prob_")]
    assert columns, header
    return np.array([[float(r[i]) for i in columns] for r in rows[1:]])


def test_predict_one_row_per_window_and_chunks_do_not_change_it(context_run, tmp_path) -> None:
    root, _ = context_run
    record = write_wfdb_record(tmp_path, "rec", ["EEG Fpz-Cz"], seconds=300)
    tables = []
    for batch in ("1", "64"):  # chunks of 1 window (all neighbours from the halo) vs one chunk
        out = tmp_path / f"out{batch}"
        result = runner.invoke(app, ["predict", str(record), "--batch-size", batch, "--device",
                                     "cpu", "--out", str(out), "--workdir", str(root)])
        assert result.exit_code == 0, result.output
        tables.append(_probabilities(out / "rec_pred.tsv"))
    assert len(tables[0]) == 10  # 300 s of 30-s windows: one row each
    # Same windows, same neighbours: equal up to float32 round-off of another batch shape (a
    # missing or wrong halo moves the probabilities by far more than 1e-5).
    np.testing.assert_allclose(tables[0], tables[1], rtol=0, atol=2e-5)


def test_predict_refuses_another_stride_for_a_context_model(context_run, tmp_path) -> None:
    root, _ = context_run
    record = write_wfdb_record(tmp_path, "rec", ["EEG Fpz-Cz"], seconds=300)
    out = tmp_path / "out"
    common = [str(record), "--device", "cpu", "--out", str(out), "--workdir", str(root)]
    result = runner.invoke(app, ["predict", *common, "--stride-s", "15"])
    assert result.exit_code == 2, result.output  # neighbours 30 s apart would be found nowhere
    assert "neighbours are 30 s apart" in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1  # one line (after the "using checkpoint ..." note)
    assert not out.exists() or not any(out.iterdir())  # no table written
    single = runner.invoke(app, ["predict", *common, "--stride-s", "15", "--context", "1"])
    assert single.exit_code == 0, single.output  # no neighbours: any stride is fine
    assert len(_probabilities(out / "rec_pred.tsv")) == 19  # (300 - 30) / 15 + 1 windows


def test_the_pred_sidecar_records_the_context_used(context_run, tmp_path) -> None:
    root, _ = context_run
    record = write_wfdb_record(tmp_path, "rec", ["EEG Fpz-Cz"], seconds=300)
    for given, expected in ((), {"windows": 3, "trained": 3, "stride_s": 30.0}),\
            (("--context", "1"), {"windows": 1, "trained": 3, "stride_s": None}):
        out = tmp_path / f"out{len(given)}"
        result = runner.invoke(app, ["predict", str(record), *given, "--device", "cpu", "--out",
                                     str(out), "--workdir", str(root)])
        assert result.exit_code == 0, result.output
        doc = json.loads((out / "rec_pred.json").read_text())
        assert doc["context"] == expected
        assert doc["channels"] == [{"requested": "EEG Fpz-Cz", "name_in_file": "EEG Fpz-Cz"}]
