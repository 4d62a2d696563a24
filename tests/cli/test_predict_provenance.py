"""``cwtmae predict``: the provenance sidecar beside each table, the per-recording reading line
(channel, resampling, start), plot names, and what a folder run says when recordings fail."""

from __future__ import annotations

import hashlib
import json
from datetime import date, time
from pathlib import Path

import numpy as np
import pytest
from results_fixtures import SLEEP_LABELS, save_classifier, tiny_classifier
from typer.testing import CliRunner

from cwtmae_cli import __version__
from cwtmae_cli.cli.app import app
from cwtmae_cli.data.edf_writer import write_edf

runner = CliRunner()


def _invoke(args: list[str]):
    return runner.invoke(app, args, env={"COLUMNS": "200", "CWTMAE_HOME": None})


@pytest.fixture(scope="module")
def sleep_ckpt(tmp_path_factory) -> Path:
    return save_classifier(tmp_path_factory.mktemp("ck") / "c", tiny_classifier(5), SLEEP_LABELS)


@pytest.fixture(scope="module")
def af_ckpt(tmp_path_factory) -> Path:
    model = tiny_classifier(2)
    return save_classifier(tmp_path_factory.mktemp("ck") / "af", model, ["AF", "non-AF"],
                           channel="MLII")


def _sha256(ckpt: Path) -> str:
    return hashlib.sha256((ckpt / "model.safetensors").read_bytes()).hexdigest()


def _wfdb_crop(shared_data: Path, folder: Path, seconds: int, **clock) -> Path:
    """The first ``seconds`` of MIT-BIH 201 (360 Hz, MLII + V1) as a record in ``folder``."""
    import wfdb

    record = wfdb.rdrecord(str(shared_data / "mitdb" / "201"), sampto=360 * seconds)
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp("201", fs=360, units=record.units, sig_name=record.sig_name,
                p_signal=record.p_signal, fmt=["212", "212"], write_dir=str(folder), **clock)
    return folder / "201"


def test_sleep_edf_sidecar_names_everything_the_onsets_depend_on(sleep_ckpt, shared_data,
                                                                tmp_path):
    edf = shared_data / "sleep-edf" / "SC4001E0-PSG.edf"
    result = _invoke(["predict", str(edf), "--checkpoint", str(sleep_ckpt), "--out",
                      str(tmp_path), "--plot", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert ("SC4001E0-PSG: the plot overlays the reference from SC4001EC-Hypnogram.edf"
            in result.stderr)
    assert (tmp_path / "SC4001E0-PSG_hypnogram.png").is_file()
    doc = json.loads((tmp_path / "SC4001E0-PSG_pred.json").read_text())
    assert (doc["tool"], doc["tool_version"]) == ("cwtmae", __version__)
    assert doc["table"] == "SC4001E0-PSG_pred.tsv" and doc["source"] == str(edf)
    assert doc["checkpoint"]["path"] == str(sleep_ckpt.resolve())
    assert doc["checkpoint"]["weights_sha256"] == _sha256(sleep_ckpt)
    assert doc["channels"] == [{"requested": "EEG Fpz-Cz", "name_in_file": "EEG Fpz-Cz"}]
    assert (doc["input_fs_hz"], doc["model_fs_hz"], doc["resampled"]) == (100.0, 100.0, False)
    assert (doc["window_s"], doc["stride_s"], doc["n_samples_per_window"]) == (30.0, 30.0, 3000)
    # The real header says 24.04.89 16.13.00: onsets can be placed in clock time.
    assert doc["recording_start"] == "1989-04-24T16:13:00"
    assert doc["recording_start_source"] == "EDF header"
    assert set(doc["columns"]) == {"onset_s", "duration_s", "label", "confidence", "quality",
                                   *(f"prob_{n}" for n in SLEEP_LABELS)}
    assert doc["columns"]["onset_s"]["Units"] == "s"
    assert ("SC4001E0-PSG: channel EEG Fpz-Cz, 100 Hz (no resampling), "
            "start 1989-04-24T16:13:00") in result.stderr


def test_wfdb_record_without_a_clock_says_so_and_states_the_resampling(af_ckpt, shared_data,
                                                                      tmp_path):
    record = _wfdb_crop(shared_data, tmp_path / "src", 120)
    out = tmp_path / "out"
    result = _invoke(["predict", str(record), "--checkpoint", str(af_ckpt), "--out", str(out),
                      "--stride-s", "15", "--plot", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "201_pred.json").read_text())
    assert (doc["input_fs_hz"], doc["model_fs_hz"], doc["resampled"]) == (360.0, 100.0, True)
    assert doc["stride_s"] == 15.0 and doc["channels"][0]["name_in_file"] == "MLII"
    assert doc["recording_start"] is None and "no start date and time" in doc[
        "recording_start_note"]
    assert "201: channel MLII, resampled 360 Hz → 100 Hz, start unknown" in result.stderr
    assert "overlays the reference" not in result.stderr  # this copy has no .atr
    # Not sleep stages: the plots are no hypnogram and no hypnodensity.
    assert sorted(p.name for p in out.iterdir()) == ["201_labels.png", "201_pred.json",
                                                     "201_pred.tsv", "201_probabilities.png"]


def test_wfdb_base_date_and_time_become_the_start(af_ckpt, shared_data, tmp_path):
    record = _wfdb_crop(shared_data, tmp_path / "src", 60, base_time=time(8, 30, 5),
                        base_date=date(2001, 2, 3))
    result = _invoke(["predict", str(record), "--checkpoint", str(af_ckpt), "--out",
                      str(tmp_path / "out"), "--format", "csv", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out" / "201_pred.json").read_text())
    assert doc["recording_start"] == "2001-02-03T08:30:05" and doc["table"] == "201_pred.csv"
    assert doc["recording_start_source"] == "WFDB header"


def test_a_json_table_carries_its_provenance_inside(sleep_ckpt, tmp_path):
    edf = write_edf(tmp_path / "rec.edf", np.random.default_rng(0).normal(0, 20, (1, 6000)),
                    100.0, ["EEG Fpz-Cz"])
    out = tmp_path / "out"
    result = _invoke(["predict", str(edf), "--checkpoint", str(sleep_ckpt), "--out", str(out),
                      "--format", "json", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["rec_pred.json"]  # no sidecar to overwrite it
    doc = json.loads((out / "rec_pred.json").read_text())
    assert len(doc["windows"]) == 2
    assert doc["provenance"]["checkpoint"]["weights_sha256"] == _sha256(sleep_ckpt)


def _folder(tmp_path: Path, n_good: int, n_broken: int) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(n_good):
        write_edf(src / f"good{i}.edf", np.random.default_rng(i).normal(0, 20, (1, 3000)), 100.0,
                  ["EEG Fpz-Cz"])
    for i in range(n_broken):
        (src / f"broken{i}.edf").write_bytes(b"0       not an EDF file at all" * 10)
    return src


def test_when_every_recording_fails_it_says_nothing_was_written(sleep_ckpt, tmp_path):
    out = tmp_path / "out"
    result = _invoke(["predict", str(_folder(tmp_path, 0, 2)), "--checkpoint", str(sleep_ckpt),
                      "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 1
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error == ["error: both recordings failed (broken0.edf, broken1.edf); no prediction "
                     "was written"]
    assert list(out.iterdir()) == []


def test_when_some_fail_it_counts_the_written_ones_in_good_english(sleep_ckpt, tmp_path):
    out = tmp_path / "out"
    result = _invoke(["predict", str(_folder(tmp_path, 1, 2)), "--checkpoint", str(sleep_ckpt),
                      "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 1
    assert ("2 of 3 recordings failed (broken0.edf, broken1.edf); the other one was written"
            in result.stderr)
    assert "good0: 1 window (0 bad)" in result.stdout  # not "1 windows"
    # stderr is no terminal: progress as plain lines counting recordings, the last at 3/3
    progress = [line for line in result.stderr.splitlines() if line.startswith("predicting: ")]
    assert progress and progress[-1].startswith("predicting: 3/3 recordings (100 %)")
    assert all(" recording " in line for line in progress)  # the file it is at is named as such
