"""Predictor on real and generated recordings: rows, onsets, resampling, quality control."""

from __future__ import annotations

import numpy as np
import pytest
from results_fixtures import (
    SLEEP_LABELS,
    save_classifier,
    save_mae,
    tiny_classifier,
    write_wfdb_record,
)

from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.errors import CheckpointError, DataError
from cwtmae_cli.evaluate.prediction import Predictor, predict_paths


@pytest.fixture(scope="module")
def sleep_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "sleep"
    return save_classifier(path, tiny_classifier(5), SLEEP_LABELS, channel="EEG Fpz-Cz")


def _check_rows(table, n_rows: int, step_s: float = 30.0):
    np.testing.assert_allclose(table.onset_s, np.arange(n_rows) * step_s)
    assert table.probs.shape == (n_rows, len(table.label_names))
    good = [q is None for q in table.quality]
    np.testing.assert_allclose(table.probs[good].sum(axis=1), 1.0, rtol=1e-5)
    assert set(table.labels) <= set(table.label_names) | {"bad"}


def test_sleep_edf_crop_gives_ten_rows(sleep_ckpt, shared_data):
    predictor = Predictor(sleep_ckpt, device="cpu")
    table = predictor.predict_file(shared_data / "sleep-edf" / "SC4001E0-PSG.edf")
    _check_rows(table, 10)
    assert table.recording_id == "SC4001E0-PSG" and table.quality == [None] * 10


def test_mitdb_201_gives_sixty_rows(tmp_path, shared_data):
    ckpt = save_classifier(tmp_path / "ecg", tiny_classifier(2), ["AF", "non-AF"], channel="MLII")
    predictor = Predictor(ckpt, device="cpu", batch_size=64)
    assert predictor.channel == "MLII"
    table = predictor.predict_file(shared_data / "mitdb" / "201")  # 360 Hz -> 100 Hz
    _check_rows(table, 60)
    assert table.summary["sleep"] is None and table.summary["minutes_per_class"]["AF"] >= 0


def test_generated_256hz_edf_with_stride_and_a_flat_window(sleep_ckpt, tmp_path):
    fs_hz, seconds = 256.0, 130  # 4 whole 30-s windows; the last 10 s are not classified
    t_s = np.arange(int(fs_hz * seconds)) / fs_hz
    eeg = 30 * np.sin(2 * np.pi * 7 * t_s) + np.random.default_rng(0).normal(0, 5, t_s.size)
    eeg[int(30 * fs_hz) : int(60 * fs_hz)] = 0.0  # a disconnected lead: window 1 is flat
    edf = write_edf(tmp_path / "gen.edf", eeg[None], fs_hz, ["EEG Fpz-Cz"])
    table = Predictor(sleep_ckpt, device="cpu").predict_file(edf)
    _check_rows(table, 4)
    assert table.quality == [None, "flat", None, None] and table.labels[1] == "bad"
    assert np.isnan(table.probs[1]).all()
    strided = Predictor(sleep_ckpt, device="cpu", stride_s=15.0).predict_file(edf)
    _check_rows(strided, 7, step_s=15.0)  # onsets 0, 15, ..., 90 (a window must end by 130 s)
    assert strided.summary["epoch_s"] == 15.0


def test_mae_checkpoint_and_missing_channel_are_refused(sleep_ckpt, tmp_path):
    with pytest.raises(CheckpointError, match="pretraining"):
        Predictor(save_mae(tmp_path / "mae"), device="cpu")
    edf = write_edf(
        tmp_path / "c3.edf", np.random.default_rng(0).normal(size=(1, 6000)), 100.0, ["EEG C3"]
    )
    with pytest.raises(DataError, match=r"no channel `EEG Fpz-Cz`.*EEG C3"):
        Predictor(sleep_ckpt, device="cpu").predict_file(edf)


def test_short_recording_is_an_error(sleep_ckpt, tmp_path):
    edf = write_edf(
        tmp_path / "short.edf",
        np.random.default_rng(0).normal(size=(1, 2000)),
        100.0,
        ["EEG Fpz-Cz"],
    )
    with pytest.raises(DataError, match="shorter than one"):
        Predictor(sleep_ckpt, device="cpu").predict_file(edf)


def test_folder_keeps_going_past_a_corrupt_file(sleep_ckpt, tmp_path):
    rng = np.random.default_rng(1)
    good = [
        write_edf(tmp_path / f"rec{i}.edf", rng.normal(size=(1, 6000)), 100.0, ["EEG Fpz-Cz"])
        for i in range(2)
    ]
    bad = tmp_path / "broken.edf"
    bad.write_bytes(b"0       this is not an EDF header" * 4)
    out = tmp_path / "out"
    out.mkdir()
    outcomes = list(predict_paths(Predictor(sleep_ckpt, device="cpu"), [bad, *good], out, "csv"))
    assert outcomes[0].error is not None and "broken.edf" in outcomes[0].error
    assert [o.output.name for o in outcomes[1:]] == ["rec0_pred.csv", "rec1_pred.csv"]
    with pytest.raises(DataError):
        list(predict_paths(Predictor(sleep_ckpt, device="cpu"), [bad], out, keep_going=False))


def test_probabilities_stay_with_their_windows_after_a_bad_one(sleep_ckpt, tmp_path):
    """Window 1 is flat (skipped): windows 0, 2, 3 and 4 must get their own probabilities, each
    equal to the model's output on that window alone, not their neighbour's."""
    from cwtmae_cli.evaluate.inference import array_batches, predict_proba

    fs_hz = 100.0
    t_s = np.arange(3000) / fs_hz
    rng = np.random.default_rng(1)
    pieces = [30 * np.sin(2 * np.pi * f * t_s) + rng.normal(0, 3, t_s.size) for f in (1, 2, 7, 13)]
    pieces.insert(1, np.zeros(3000))
    edf = write_edf(tmp_path / "mixed.edf", np.concatenate(pieces)[None], fs_hz, ["EEG Fpz-Cz"])
    predictor = Predictor(sleep_ckpt, device="cpu", batch_size=2)
    table = predictor.predict_file(edf)
    assert table.quality == [None, "flat", None, None, None]
    windows, _, _, _ = predictor.windows(edf)  # (5, 3000)
    alone = [predict_proba(predictor.model, 1, array_batches(windows[i : i + 1]))[0]
             for i in (0, 2, 3, 4)]
    assert np.isnan(table.probs[1]).all()
    np.testing.assert_allclose(table.probs[[0, 2, 3, 4]], np.stack(alone), rtol=1e-4, atol=1e-6)
    gaps = [np.abs(alone[i] - alone[j]).max() for i in range(4) for j in range(i + 1, 4)]
    assert min(gaps) > 1e-4  # the windows are told apart, so a shift would show


def test_mitdb_114_is_read_from_mlii_though_v5_comes_first(tmp_path, shared_data):
    from cwtmae_cli.data.readers.dispatch import read_recording
    from cwtmae_cli.data.resample import resample

    ckpt = save_classifier(tmp_path / "ecg", tiny_classifier(2), ["non-AF", "AF"], channel="MLII")
    predictor = Predictor(ckpt, device="cpu")
    windows, _, _, info = predictor.windows(shared_data / "mitdb-full" / "114")
    channel = info.channel_in_file
    assert channel == "MLII" and not predictor.channel_differs(channel)
    mlii = read_recording(shared_data / "mitdb-full" / "114", ["MLII"]).signal[:, : 360 * 60]
    np.testing.assert_allclose(windows[0], resample(mlii, 360.0, 100.0)[0, :3000], atol=1e-3)


def test_a_checkpoint_slot_with_alternatives_resolves_them_on_a_new_file(tmp_path):
    ckpt = save_classifier(
        tmp_path / "ecg", tiny_classifier(2), ["non-AF", "AF"], channel="V1|V2|V4|V5"
    )
    predictor = Predictor(ckpt, device="cpu")
    table = predictor.predict_file(write_wfdb_record(tmp_path, "two", ["MLII", "V4", "V2"], 65))
    channel = table.input.channel_in_file
    assert channel == "V2" and not predictor.channel_differs(channel)
    assert predictor.channel_differs("MLII")
    write_wfdb_record(tmp_path, "one", ["MLII"], 65)
    with pytest.raises(DataError) as info:
        predictor.predict_file(tmp_path / "one")
    assert str(info.value) == "no channel `V1|V2|V4|V5` in WFDB record one; it has: MLII"
    other = Predictor(ckpt, device="cpu", channel="MLII").predict_file(tmp_path / "two")
    assert other.input.channel_in_file == "MLII" and predictor.channel_differs("MLII")
