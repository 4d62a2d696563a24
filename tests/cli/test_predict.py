"""``cwtmae predict``: files, folders, formats, defaults, a trained model, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from results_fixtures import (
    SLEEP_LABELS,
    finished_finetune_run,
    invoke_wide,
    save_classifier,
    save_mae,
    tiny_classifier,
)
from typer.testing import CliRunner

from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.demo.synthetic import write_sleep_edf_dataset
from cwtmae_cli.evaluate.table import read_table

runner = CliRunner()
STAGE_OF = {
    "Sleep stage W": "W",
    "Sleep stage 1": "N1",
    "Sleep stage 2": "N2",
    "Sleep stage 3": "N3",
    "Sleep stage 4": "N3",
    "Sleep stage R": "REM",
}


def _eeg_edf(path: Path, seconds: float, fs_hz: float = 100.0, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    return write_edf(path, rng.normal(0, 20, size=(1, int(seconds * fs_hz))), fs_hz, ["EEG Fpz-Cz"])


def test_sleep_edf_crop_tsv_summary_and_plot(ckpt, shared_data, tmp_path):
    edf = shared_data / "sleep-edf" / "SC4001E0-PSG.edf"
    result = invoke_wide(
        [
            "predict",
            str(edf),
            "--checkpoint",
            str(ckpt),
            "--out",
            str(tmp_path),
            "--plot",
            "--device",
            "cpu",
        ]
    )
    assert result.exit_code == 0, result.output
    rows = read_table(tmp_path / "SC4001E0-PSG_pred.tsv")
    assert [float(r["onset_s"]) for r in rows] == [30.0 * i for i in range(10)]
    assert all(r["duration_s"] == "30.0" and r["label"] in SLEEP_LABELS for r in rows)
    for r in rows:
        probs = [float(r[f"prob_{name}"]) for name in SLEEP_LABELS]
        assert sum(probs) == pytest.approx(1.0, abs=1e-4)
        assert float(r["confidence"]) == pytest.approx(max(probs), abs=1e-6)
    assert (tmp_path / "SC4001E0-PSG_hypnogram.png").read_bytes()[:4] == b"\x89PNG"
    assert "SC4001E0-PSG: 10 windows" in result.stdout
    assert "total sleep time" in result.stdout and "REM latency" in result.stdout
    assert "using channel EEG Fpz-Cz" in result.stderr and "SC4001E0-PSG_pred.tsv" in result.stderr


def test_wfdb_record_with_channel_and_json_format(ckpt, shared_data, tmp_path):
    # A 5-min crop keeps this fast; 60 rows on the full record are checked in tests/evaluate.
    import wfdb

    record = wfdb.rdrecord(str(shared_data / "mitdb" / "201"), sampto=360 * 300)
    wfdb.wrsamp(
        "201",
        fs=360,
        units=record.units,
        sig_name=record.sig_name,
        p_signal=record.p_signal,
        fmt=["212", "212"],
        write_dir=str(tmp_path),
    )
    out = tmp_path / "out"
    result = invoke_wide(
        [
            "predict",
            str(tmp_path / "201.hea"),
            "--checkpoint",
            str(ckpt),
            "--channel",
            "MLII",
            "--out",
            str(out),
            "--format",
            "json",
            "--device",
            "cpu",
        ]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "201_pred.json").read_text())
    assert [w["onset_s"] for w in doc["windows"]] == [30.0 * i for i in range(10)]
    assert doc["summary"]["n_windows"] == 10 and doc["label_names"] == SLEEP_LABELS


def test_folder_with_a_corrupt_file(ckpt, tmp_path):
    src = tmp_path / "src"
    _eeg_edf(src / "night1.edf", 90, seed=1)
    _eeg_edf(src / "night2.bdf", 65, fs_hz=200.0, seed=2)
    (src / "broken.edf").write_bytes(b"0       not an EDF file at all" * 10)
    out = tmp_path / "out"
    result = invoke_wide(
        [
            "predict",
            str(src),
            "--checkpoint",
            str(ckpt),
            "--out",
            str(out),
            "--format",
            "csv",
            "--device",
            "cpu",
        ]
    )
    assert result.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "night1_pred.csv",
        "night1_pred.json",
        "night2_pred.csv",
        "night2_pred.json",
        "summary.tsv",
    ]
    assert len(read_table(out / "night1_pred.csv")) == 3
    assert len(read_table(out / "night2_pred.csv")) == 2
    summary = read_table(out / "summary.tsv")  # the recordings that were written
    assert [(r["recording"], r["n_windows"]) for r in summary] == [("night1", "3"), ("night2", "2")]
    assert "broken.edf" in result.stderr and "1 of 3 recordings failed" in result.stderr


def test_defaults_checkpoint_and_output_folder(ckpt, tmp_path):
    workdir = tmp_path / "work"
    finished_finetune_run(workdir, tiny_classifier(5, seed=2), SLEEP_LABELS)
    edf = _eeg_edf(tmp_path / "rec.edf", 60)
    result = invoke_wide(["predict", str(edf), "--workdir", str(workdir), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "using checkpoint" in result.stderr and "checkpoints/best" in result.stderr
    assert len(read_table(workdir / "predictions" / "rec_pred.tsv")) == 2


def test_file_without_the_channel(ckpt, tmp_path):
    edf = write_edf(tmp_path / "c3.edf", np.ones((1, 6000)) * np.arange(6000), 100.0, ["EEG C3"])
    result = invoke_wide(["predict", str(edf), "--checkpoint", str(ckpt), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "no channel `EEG Fpz-Cz`" in result.stderr and "EEG C3" in result.stderr


def test_reading_another_channel_than_the_checkpoints_is_a_warning(ckpt, tmp_path):
    rng = np.random.default_rng(0)
    edf = write_edf(
        tmp_path / "two.edf", rng.normal(0, 20, (2, 6000)), 100.0, ["EEG Fpz-Cz", "EEG Pz-Oz"]
    )
    args = ["predict", str(edf), "--checkpoint", str(ckpt), "--out", str(tmp_path)]
    result = invoke_wide([*args, "--channel", "Pz-Oz"])
    assert result.exit_code == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warning == [
        "warning: two.edf: read channel EEG Pz-Oz, but the checkpoint's model was trained on "
        "EEG Fpz-Cz"
    ]
    result = invoke_wide(args)
    assert result.exit_code == 0 and "warning:" not in result.stderr


def test_mae_checkpoint_is_refused(tmp_path):
    edf = _eeg_edf(tmp_path / "rec.edf", 60)
    result = invoke_wide(
        [
            "predict",
            str(edf),
            "--checkpoint",
            str(save_mae(tmp_path / "mae")),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert result.exit_code == 1 and "pretraining (MAE) checkpoint" in result.stderr


def test_unwritable_output_folder_fails_before_any_work(tmp_path):
    edf = _eeg_edf(tmp_path / "rec.edf", 60)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # The checkpoint does not even exist: the output folder is checked first.
    result = invoke_wide(
        ["predict", str(edf), "--checkpoint", str(tmp_path / "nope"), "--out", str(blocker / "sub")]
    )
    assert result.exit_code == 1
    assert "cannot write predictions" in result.stderr and "--out" in result.stderr


def test_bad_format_is_a_usage_error(ckpt, tmp_path):
    result = invoke_wide(["predict", str(tmp_path), "--checkpoint", str(ckpt), "--format", "xml"])
    assert result.exit_code == 2 and "unknown --format" in result.stderr


def _train_tiny(store: Path, workdir: Path) -> Path:
    """Fine-tune a ``tiny`` classifier with the real engine; its run folder (= best checkpoint).

    From scratch (no pretraining run: saves its time; this task needs none) with the default
    latent-reasoning head. lr 3e-3 over 150 steps of 32 (~8 epochs of the 590 train windows): the
    5e-4 default suits long runs of bigger, pretrained models and reaches ~70 % here in 100 steps;
    3e-3 gave 99-100 % validation accuracy at step 150 for seeds 0, 1 and 2.
    """
    from cwtmae_cli.train.finetune import plan_finetune, run_finetune

    flags = {
        "data": str(store),
        "workdir": str(workdir),
        "out": str(workdir / "runs" / "finetune-tiny"),
        "from_scratch": True,
        "model": "tiny",
        "steps": 150,
        "batch_size": 32,
        "lr": 3e-3,
        "eval_every": 50,
        "device": "cpu",
    }
    summary = run_finetune(plan_finetune(flags))
    assert summary["steps"] == 150 and summary["best"]["value"] is not None
    return Path(summary["run_dir"])


@pytest.mark.slow
def test_trained_tiny_classifier_labels_a_new_recording(tmp_path):
    write_sleep_edf_dataset(tmp_path / "src", n_subjects=4, minutes=30, seed=0, separable=True)
    result = invoke_wide(
        [
            "prepare",
            "sleep-edf",
            "--source",
            str(tmp_path / "src"),
            "--workdir",
            str(tmp_path),
            "--fs",
            "50",
            "--window-s",
            "6",
        ]
    )
    assert result.exit_code == 0, result.output
    store = tmp_path / "stores" / "sleep-edf.zarr"
    ckpt = _train_tiny(store, tmp_path)  # its checkpoints/best: 50 Hz, 6 s, EEG Fpz-Cz
    # A recording of an unseen night (another seed), read at 100 Hz and resampled by predict.
    psg, hyp = write_sleep_edf_dataset(
        tmp_path / "new", n_subjects=1, minutes=20, seed=7, separable=True
    )[0]
    result = invoke_wide(
        ["predict", str(psg), "--checkpoint", str(ckpt), "--out", str(tmp_path), "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    rows = read_table(tmp_path / f"{psg.stem}_pred.tsv")
    from cwtmae_cli.data.readers.dispatch import read_recording

    truth = read_recording(psg, channels=["EEG Fpz-Cz"], annotations=hyp).intervals
    scored = right = 0
    for row in rows:
        onset_s = float(row["onset_s"])
        stage = next(STAGE_OF.get(i.label) for i in truth if i.onset_s <= onset_s < i.end_s)
        if stage is not None:  # `?` and movement epochs have no stage
            scored += 1
            right += row["label"] == stage
    assert scored >= 180 and right / scored >= 0.9, f"{right}/{scored} windows right"


@pytest.mark.parametrize("suffix", [".mat", ".hea", ""])
def test_challenge_record_by_mat_hea_or_name(shared_data, tmp_path, suffix):
    ckpt = save_classifier(
        tmp_path / "c", tiny_classifier(4), ["N", "A", "O", "~"], 300.0, 10.0, "ECG"
    )
    record = shared_data / "cinc2017" / "A00001"  # 30 s at 300 Hz, `val` in A00001.mat
    given = record.with_name(record.name + suffix)
    result = invoke_wide(
        ["predict", str(given), "--checkpoint", str(ckpt), "--out", str(tmp_path)]
        + ["--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    rows = read_table(tmp_path / "A00001_pred.tsv")
    assert [float(r["onset_s"]) for r in rows] == [0.0, 10.0, 20.0]
