"""MNE ``.fif`` raw files and the label files other tools write (text hypnograms, CSV tables)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cwtmae_cli.data.readers.dispatch import open_recording, read_recording
from cwtmae_cli.data.readers.label_files import read_label_file
from cwtmae_cli.errors import DataError

mne = pytest.importorskip("mne")


def _fif(path, seconds: float = 120.0, crop_s: float = 0.0):
    """A raw FIF: EEG at 20 µV + a ramp, ECG at 1 mV; annotations in clock time; ``crop_s``
    seconds cut from the start (MNE then keeps a first_samp and onsets from meas_date)."""
    fs_hz = 100.0
    n = int(seconds * fs_hz)
    info = mne.create_info(["EEG Fpz-Cz", "ECG"], fs_hz, ["eeg", "ecg"])
    data = np.vstack([20e-6 + np.arange(n) * 1e-9, np.full(n, 1e-3)])  # (2, n) volts
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_meas_date(1_600_000_000)
    raw.set_annotations(mne.Annotations([30.0, 60.0], [30.0, 30.0], ["N2", "REM"]))
    if crop_s:
        raw.crop(tmin=crop_s)
    raw.save(path, overwrite=True, verbose="error")
    return path


def test_fif_units_channels_start_and_annotations(tmp_path):
    rec = read_recording(_fif(tmp_path / "night_raw.fif"), ["ECG", "Fpz-Cz"])
    assert rec.channels == ["ECG", "EEG Fpz-Cz"] and rec.units == ["mV", "uV"]
    assert rec.fs_hz == 100.0 and rec.n_samples == 12000 and rec.recording_id == "night_raw"
    np.testing.assert_allclose(rec.signal[:, 0], [1.0, 20.0], rtol=1e-5)
    np.testing.assert_allclose(rec.signal[1, 100], 20.0 + 100e-3, rtol=1e-5)
    assert [(iv.onset_s, iv.label) for iv in rec.intervals] == [(30.0, "N2"), (60.0, "REM")]
    assert rec.start.isoformat() == "2020-09-13T12:26:40"


def test_fif_onsets_count_from_the_first_sample_of_a_cropped_file(tmp_path):
    stream = open_recording(_fif(tmp_path / "c_raw.fif", crop_s=10.0), ["Fpz-Cz"])
    assert [iv.onset_s for iv in stream.recording.intervals] == pytest.approx([20.0, 50.0])
    assert stream.n_samples == 11000
    np.testing.assert_allclose(stream.read(0, 1)[0, 0], 20.0 + 1000e-3, rtol=1e-5)


def test_a_fif_that_is_not_raw_is_a_data_error(tmp_path):
    bad = tmp_path / "x_raw.fif"
    bad.write_bytes(b"not a fif file at all" * 10)
    with pytest.raises(DataError, match="cannot read x_raw.fif"):
        read_recording(bad)


def test_text_hypnogram_epochs_and_headers(tmp_path):
    hyp = tmp_path / "h.txt"
    hyp.write_text("[HypnogramAASM]\n# scored by A\nW\n2\n2\nR\n\n")
    intervals = read_label_file(hyp, 30.0, duration_s=125.0)
    assert [(iv.onset_s, iv.duration_s, iv.label) for iv in intervals] == [
        (0.0, 30.0, "W"), (30.0, 30.0, "2"), (60.0, 30.0, "2"), (90.0, 30.0, "R")
    ]


@pytest.mark.parametrize(
    ("text", "duration_s", "says"),
    [
        ("W\nW\nW\n", 150.0, "holds 3 epochs of 30 s (90 s) but the recording lasts 150 s"),
        ("W\nW\nW\nW\nW\n", 90.0, "holds 5 epochs"),
        ("W\n\nW\n", 90.0, "line 2 is empty"),
        ("W\nN2 N3\n", 60.0, "line 2: expected one stage"),
        ("# nothing\n", 60.0, "holds no stage"),
    ],
)
def test_bad_text_hypnograms(tmp_path, text, duration_s, says):
    hyp = tmp_path / "h.txt"
    hyp.write_text(text)
    with pytest.raises(DataError, match=re.escape(says)):
        read_label_file(hyp, 30.0, duration_s)


def test_text_hypnogram_within_one_epoch_of_the_recording(tmp_path):
    hyp = tmp_path / "h.txt"
    hyp.write_text("W\nW\nW\n")
    for duration_s in (61.0, 90.0, 119.0):  # the last partial epoch scored or not
        assert len(read_label_file(hyp, 30.0, duration_s)) == 3


def test_label_table_csv_and_tsv(tmp_path):
    table = tmp_path / "l.csv"
    table.write_text("label,onset,duration\nAF,12.5,40\n\nN,52.5,7.5\n")
    intervals = read_label_file(table, 30.0, 100.0)
    assert [(iv.onset_s, iv.duration_s, iv.label) for iv in intervals] == [
        (12.5, 40.0, "AF"), (52.5, 7.5, "N")
    ]
    tsv = tmp_path / "l.tsv"
    tsv.write_text("onset\tduration\tlabel\n0\t30\tW\n")
    assert read_label_file(tsv, 30.0, 100.0)[0].label == "W"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("onset,label\n0,W\n", "no duration column"),
        ("onset,duration,label\nzero,30,W\n", "line 2: `onset` 'zero' is not a number"),
        ("onset,duration,label\n0,30\n", "line 2: 2 fields, the header has 3"),
        ("onset,duration,label\n0,-30,W\n", "line 2: expected onset >= 0, duration >= 0"),
        ("onset,duration,label\n0,nan,W\n", "line 2: `duration` is nan"),
    ],
)
def test_malformed_label_tables(tmp_path, text, says):
    table = tmp_path / "l.csv"
    table.write_text(text)
    with pytest.raises(DataError, match=re.escape(says)):
        read_label_file(table, 30.0, 100.0)


def test_a_label_file_pairs_with_any_format(tmp_path):
    hyp = tmp_path / "h.txt"
    hyp.write_text("W\nN2\nN2\nREM\n")
    rec = read_recording(_fif(tmp_path / "a_raw.fif"), ["Fpz-Cz"], annotations=hyp)
    assert [iv.label for iv in rec.intervals] == ["W", "N2", "N2", "REM"]  # not the file's own
    assert rec.source_files == ["a_raw.fif", "h.txt"]
    assert [iv.onset_s for iv in rec.intervals] == [0.0, 30.0, 60.0, 90.0]
    with pytest.raises(DataError, match="holds 4 epochs of 40 s"):  # the epoch length counts
        read_recording(tmp_path / "a_raw.fif", ["Fpz-Cz"], annotations=hyp, epoch_s=40.0)
