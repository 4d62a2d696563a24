"""WFDB records in the PhysioNet challenge layout: ``.mat`` ``val`` signals and headers whose
base date ``wfdb`` rejects (real CinC 2017 records, and small ones written here)."""

from __future__ import annotations

import numpy as np
import pytest
from challenge_files import write_challenge_record

from cwtmae_cli.data.readers.dispatch import read_recording
from cwtmae_cli.errors import DataError

# A 9.3-s, a 30-s and a 60.4-s record of the shared CinC 2017 set (lengths from their headers).
CINC_RECORDS = {"A01364": 2796, "A00001": 9000, "A02826": 18128}


@pytest.mark.parametrize("name", sorted(CINC_RECORDS))
def test_real_cinc_records_read_as_wfdb_reads_them(shared_data, name):
    import wfdb

    record = shared_data / "cinc2017" / name
    reference = wfdb.rdrecord(str(record)).p_signal[:, 0]  # (n,) mV
    for given in (record.with_suffix(".mat"), record.with_suffix(".hea"), record):
        rec = read_recording(given)
        assert rec.recording_id == name and rec.fs_hz == 300.0
        assert rec.channels == ["ECG"] and rec.units == ["mV"]
        assert rec.signal.shape == (1, CINC_RECORDS[name])
        np.testing.assert_allclose(rec.signal[0], reference, atol=1e-6)
        assert rec.source_files == [f"{name}.mat", f"{name}.hea"]


def test_mat_values_are_scaled_by_gain_and_baseline_v4_and_v5(tmp_path):
    digital = np.array([0, 100, -200, 1000, 7, -32768, 3], dtype=np.int16)
    for fmt in ("4", "5"):  # MATLAB v4 as CinC ships it; v5 as scipy.io.savemat writes by default
        folder = tmp_path / f"v{fmt}"
        write_challenge_record(folder, "r1", digital, gain=200.0, baseline=100, mat_format=fmt)
        signal = read_recording(folder / "r1.mat").signal[0]
        expected = (digital.astype(np.float64) - 100) / 200.0
        expected[5] = np.nan  # -32768: WFDB's "no sample" value of format 16
        np.testing.assert_allclose(signal, expected, atol=1e-7)


@pytest.mark.parametrize("clock", ["05:05:15 2000-05-01", "05:05:15 1/13/2000", "25:61:00"])
def test_header_with_a_clock_wfdb_rejects_still_reads(tmp_path, clock):
    import wfdb

    record = write_challenge_record(tmp_path, "r2", np.arange(600) % 50, clock=clock)
    with pytest.raises(ValueError):
        wfdb.rdheader(str(record))  # the case this handles
    rec = read_recording(record.with_suffix(".hea"))
    np.testing.assert_allclose(rec.signal[0], (np.arange(600) % 50) / 1000.0, atol=1e-7)
    assert rec.fs_hz == 300.0 and rec.recording_id == "r2"


def test_dat_record_with_a_bad_date_reads_through_its_signal_file(tmp_path):
    import wfdb

    p_signal = np.linspace(-1, 1, 1200)[:, None]  # (n, 1) mV
    wfdb.wrsamp(
        "r3",
        fs=250,
        units=["mV"],
        sig_name=["II"],
        p_signal=p_signal,
        fmt=["16"],
        write_dir=str(tmp_path),
    )
    hea = tmp_path / "r3.hea"
    lines = hea.read_text().splitlines()
    lines[0] += " 10:00:00 2021-03-04"
    hea.write_text("\n".join(lines) + "\n")
    rec = read_recording(tmp_path / "r3")
    np.testing.assert_allclose(rec.signal[0], p_signal[:, 0], atol=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r3.dat", "r3.hea"]  # nothing left


def test_unreadable_header_and_bad_mat_files_are_one_line_errors(tmp_path):
    record = write_challenge_record(tmp_path / "a", "r4", np.zeros(300))
    hea = record.with_suffix(".hea")
    hea.write_text(hea.read_text().replace("r4 1 300", "r4 one 300"))
    with pytest.raises(DataError, match=r"^cannot read the WFDB header of r4: ") as info:
        read_recording(record)
    assert "\n" not in str(info.value)
    no_val = write_challenge_record(tmp_path / "b", "r5", np.zeros(300), variable="signal")
    with pytest.raises(DataError, match=r"r5: r5.mat holds no variable `val`"):
        read_recording(no_val)
    short = write_challenge_record(tmp_path / "c", "r6", np.zeros(300))
    hea = short.with_suffix(".hea")
    hea.write_text(hea.read_text().replace(" 300 300 ", " 300 400 "))
    with pytest.raises(DataError, match=r"r6.mat holds 300 samples per signal but r6.hea says 400"):
        read_recording(short)
    not_mat = write_challenge_record(tmp_path / "d", "r7", np.zeros(300))
    not_mat.with_suffix(".mat").write_bytes(b"not a MATLAB file at all")
    with pytest.raises(DataError, match=r"WFDB record r7: cannot read r7.mat"):
        read_recording(not_mat)
