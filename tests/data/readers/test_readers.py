"""Readers on real files and on files MNE and wfdb write here (other rates, BDF, WFDB .mat)."""

from __future__ import annotations

import numpy as np
import pytest

from cwtmae_cli.data.readers.dispatch import read_recording
from cwtmae_cli.errors import DataError


def _mne_raw(fs_hz: float, seconds: float, seed: int = 0):
    import mne

    rng = np.random.default_rng(seed)
    n = int(fs_hz * seconds)
    data = np.stack([rng.normal(0, 30e-6, n), rng.normal(0, 1e-3, n)])  # volts (SI)
    info = mne.create_info(["EEG C3-A2", "ECG II"], fs_hz, ["eeg", "ecg"])
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_annotations(mne.Annotations([2.0, 10.0], [8.0, 5.0], ["stage a", "stage b"]))
    return raw, data


@pytest.mark.parametrize(("suffix", "fs_hz"), [(".edf", 256.0), (".bdf", 512.0)])
def test_mne_written_edf_and_bdf_round_trip_in_physical_units(tmp_path, suffix, fs_hz):
    import mne

    raw, data = _mne_raw(fs_hz, 20.0)
    path = tmp_path / f"rec{suffix}"
    mne.export.export_raw(path, raw, overwrite=True, verbose="error")
    rec = read_recording(path, ["c3-a2"])
    assert rec.channels == ["EEG C3-A2"] and rec.units == ["uV"] and rec.fs_hz == fs_hz
    assert rec.signal.dtype == np.float32 and rec.signal.shape == (1, data.shape[1])
    resolution_uv = (data[0].max() - data[0].min()) * 1e6 / (2**16 if suffix == ".edf" else 2**24)
    np.testing.assert_allclose(rec.signal[0], data[0] * 1e6, atol=2 * resolution_uv)
    assert [(iv.onset_s, iv.duration_s, iv.label) for iv in rec.intervals] == [
        (2.0, 8.0, "stage a"),
        (10.0, 5.0, "stage b"),
    ]
    assert rec.recording_id == "rec" and rec.subject == "rec" and rec.source_files == [path.name]
    both = read_recording(path, ["ECG II", "EEG C3-A2"], read_annotations=False)
    assert both.channels == ["ECG II", "EEG C3-A2"] and both.intervals == []


def test_real_sleep_edf_loads_only_the_eeg_channel_with_its_hypnogram(shared_data):
    folder = shared_data / "sleep-edf"
    rec = read_recording(folder / "SC4001E0-PSG.edf", ["Fpz-Cz"], folder / "SC4001EC-Hypnogram.edf")
    assert rec.channels == ["EEG Fpz-Cz"] and rec.fs_hz == 100.0 and rec.units == ["uV"]
    assert rec.signal.shape == (1, 30000)  # 300 s at 100 Hz, not upsampled or mixed
    assert 1 < float(np.std(rec.signal)) < 500  # µV, not volts
    assert rec.intervals[0].label == "Sleep stage W" and rec.intervals[0].onset_s == 0.0
    assert rec.source_files == ["SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf"]
    marker = read_recording(folder / "SC4001E0-PSG.edf", ["Event marker"])
    assert marker.fs_hz == 1.0 and marker.signal.shape == (1, 300)  # mixed-rate file


def test_real_mitdb_record_with_rhythm_intervals(shared_data):
    rec = read_recording(shared_data / "mitdb" / "201.hea", ["MLII"])
    assert rec.fs_hz == 360.0 and rec.signal.shape == (1, 650000) and rec.units == ["mV"]
    minutes = {}
    for iv in rec.intervals:
        minutes[iv.label] = minutes.get(iv.label, 0.0) + iv.duration_s / 60
    # README: 201 has (AFIB 10.1, (N 13.0, (T 6.6, (NOD 0.4 minutes
    assert minutes["(AFIB"] == pytest.approx(10.1, abs=0.1)
    assert minutes["(N"] == pytest.approx(13.0, abs=0.1)
    ends = [iv.end_s for iv in rec.intervals]
    assert ends[-1] == pytest.approx(650000 / 360)
    assert all(
        a.end_s == pytest.approx(b.onset_s)
        for a, b in zip(rec.intervals[:-1], rec.intervals[1:], strict=True)
    )


def _write_wfdb(folder, name="rec1", fs_hz=360, seconds=70):
    import wfdb

    t = np.arange(int(fs_hz * seconds)) / fs_hz
    p_signal = np.stack([np.sin(2 * np.pi * 1.2 * t), 0.5 * np.cos(2 * np.pi * 0.8 * t)], 1)
    wfdb.wrsamp(
        name,
        fs=fs_hz,
        units=["mV", "mV"],
        sig_name=["V5", "MLII"],
        p_signal=p_signal,
        fmt=["16", "16"],
        adc_gain=[1000, 1000],
        baseline=[0, 0],
        write_dir=str(folder),
    )
    wfdb.wrann(
        name,
        "atr",
        np.array([10, fs_hz * 35]),
        symbol=["+", "+"],
        aux_note=["(N", "(AFIB"],
        write_dir=str(folder),
    )
    return p_signal


def test_multilead_wfdb_round_trip_dat_and_mat(tmp_path, monkeypatch):
    from wfdb.io.convert.matlab import wfdb_to_mat

    p_signal = _write_wfdb(tmp_path)
    rec = read_recording(tmp_path / "rec1")
    assert rec.channels == ["V5", "MLII"] and rec.signal.shape == (2, 25200)
    np.testing.assert_allclose(rec.signal, p_signal.T, atol=1e-3)
    assert [iv.label for iv in rec.intervals] == ["(N", "(AFIB"]
    assert rec.intervals[1].onset_s == 35.0 and rec.intervals[1].end_s == 70.0
    fallback = read_recording(tmp_path / "rec1", ["II"], first_channel_fallback=True)
    assert fallback.channels == ["V5"]  # mitdb-af: MLII, else the first lead
    with pytest.raises(DataError, match="no channel `II` in WFDB record rec1; it has: V5, MLII"):
        read_recording(tmp_path / "rec1", ["II"])
    monkeypatch.chdir(tmp_path)
    wfdb_to_mat("rec1")  # writes rec1m.hea + rec1m.mat
    mat = read_recording(tmp_path / "rec1m.mat", ["mlii"])
    assert mat.channels == ["MLII"]
    np.testing.assert_allclose(mat.signal[0], p_signal[:, 1], atol=1e-3)
    assert "rec1m.mat" in mat.source_files


def test_bad_files_give_clear_errors(tmp_path, shared_data):
    _write_wfdb(tmp_path)
    (tmp_path / "rec1.dat").unlink()
    with pytest.raises(DataError, match="signal file rec1.dat is missing"):
        read_recording(tmp_path / "rec1.hea")
    with pytest.raises(
        DataError, match=r"no channel `Fp1` in SC4001E0-PSG.edf; it has: EEG Fpz-Cz"
    ):
        read_recording(shared_data / "sleep-edf" / "SC4001E0-PSG.edf", ["Fp1"])
    whole = (shared_data / "sleep-edf" / "SC4001E0-PSG.edf").read_bytes()
    (tmp_path / "cut.edf").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="cut.edf is truncated: its header promises 10 data"):
        read_recording(tmp_path / "cut.edf", ["Fpz-Cz"])
    garbage = tmp_path / "garbage.edf"
    garbage.write_bytes(b"this is not an EDF header" * 20)
    with pytest.raises(DataError, match="cannot read garbage.edf"):
        read_recording(garbage)
    with pytest.raises(DataError, match="cannot tell the format"):
        read_recording(tmp_path / "notes.txt")


def test_duplicated_channel_name_is_refused_only_when_asked_for(tmp_path):
    from cwtmae_cli.data.edf_writer import write_edf

    rng = np.random.default_rng(0)
    rows = rng.normal(0, 20, (3, 6000))  # µV, 60 s at 100 Hz
    path = write_edf(
        tmp_path / "dup.edf", rows, 100.0, ["EEG Fpz-Cz", "EEG Fpz-Cz", "EEG Pz-Oz"],
        record_duration_s=1.0,
    )
    with pytest.raises(DataError, match=r"dup.edf has 2 channels named `EEG Fpz-Cz`"):
        read_recording(path, ["Fpz-Cz"])
    rec = read_recording(path, ["Pz-Oz"])  # a channel whose name is unique still reads
    assert rec.channels == ["EEG Pz-Oz"]
    np.testing.assert_allclose(rec.signal[0], rows[2], atol=0.05)
