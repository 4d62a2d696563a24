"""``cwtmae predict --format edf|bids --plot``: files that MNE and BIDS tools read, the
hypnodensity, and the summary of a folder."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from results_fixtures import SLEEP_LABELS, invoke_wide
from typer.testing import CliRunner

from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.evaluate.table import read_table

runner = CliRunner()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("in")
    rng = np.random.default_rng(3)
    for name in ("a", "sub-01_task-sleep_eeg"):
        write_edf(root / f"{name}.edf", rng.normal(0, 20, size=(1, 9000)), 100.0, ["EEG Fpz-Cz"])
    return root


def _predict(folder, ckpt, out, *extra):
    args = ["predict", str(folder), "--checkpoint", str(ckpt), "--out", str(out), "--device", "cpu"]
    return invoke_wide([*args, *extra])


def test_edf_format_matches_the_tsv_table(ckpt, folder, tmp_path):
    mne = pytest.importorskip("mne")
    assert _predict(folder, ckpt, tmp_path / "t").exit_code == 0
    result = _predict(folder, ckpt, tmp_path / "e", "--format", "edf", "--plot")
    assert result.exit_code == 0, result.output
    rows = read_table(tmp_path / "t" / "a_pred.tsv")
    annot = mne.read_annotations(tmp_path / "e" / "a_pred.edf")
    assert list(annot.onset) == pytest.approx([float(r["onset_s"]) for r in rows])
    assert list(annot.description) == [r["label"] for r in rows]
    assert (tmp_path / "e" / "a_pred.json").is_file()  # the provenance sidecar
    for name in ("a_hypnogram.png", "a_hypnodensity.png"):
        assert (tmp_path / "e" / name).read_bytes()[:4] == b"\x89PNG"
        assert name in result.stderr
    summary = (tmp_path / "e" / "summary.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in summary[1:]] == ["a", "sub-01_task-sleep_eeg"]


def test_bids_format(ckpt, folder, tmp_path):
    result = _predict(folder, ckpt, tmp_path, "--format", "bids")
    assert result.exit_code == 0, result.output
    events = tmp_path / "sub-01_task-sleep_events.tsv"
    with events.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert [float(r["onset"]) for r in rows] == [0.0, 30.0, 60.0]
    assert all(r["trial_type"] == SLEEP_LABELS[int(r["value"])] for r in rows)
    assert (tmp_path / "sub-01_task-sleep_events.json").is_file()
    assert (tmp_path / "a_events.tsv").is_file() and (tmp_path / "a_events.json").is_file()
    assert "sub-01_task-sleep_events.json" in result.stderr


def test_unknown_format_lists_the_formats(ckpt, folder, tmp_path):
    result = _predict(folder, ckpt, tmp_path, "--format", "xml")
    assert result.exit_code == 2
    assert "tsv, csv, json, edf, bids" in result.stderr


def test_predict_reads_mne_fif_files(ckpt, tmp_path):
    import json

    mne = pytest.importorskip("mne")
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(5)
    info = mne.create_info(["EEG Fpz-Cz"], 100.0, ["eeg"])
    raw = mne.io.RawArray(rng.normal(0, 20e-6, (1, 9000)), info, verbose="error")
    raw.set_meas_date(1_600_000_000)
    raw.save(src / "night_raw.fif", verbose="error")
    raw.save(src / "nap_raw.fif.gz", verbose="error")
    mne.write_events(src / "night-eve.fif", np.array([[0, 0, 1]]), verbose="error")  # not raw
    out = tmp_path / "out"
    result = _predict(src, ckpt, out)
    assert result.exit_code == 0, result.output
    rows = read_table(out / "night_raw_pred.tsv")
    assert [float(r["onset_s"]) for r in rows] == [0.0, 30.0, 60.0]
    side = json.loads((out / "night_raw_pred.json").read_text())
    assert side["recording_start"] == "2020-09-13T12:26:40"
    assert side["recording_start_source"] == "FIF header"
    assert not list(out.glob("night-eve*"))
    assert (out / "nap_raw_pred.tsv").is_file()  # the id of a compressed FIF file
