"""Property-based fuzzing of the readers and the windowing (hypothesis, bounded and derandomized).

Readers: a valid EDF or WFDB record with random bytes overwritten or cut off either reads into a
consistent Recording or raises DataError; never another exception. Windowing: every window is
exactly its slice of the signal, at the start it reports, and the quality check flags exactly
the windows holding a non-finite sample.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import write_good_edf, write_wfdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cwtmae_cli.data.readers.dispatch import read_recording
from cwtmae_cli.data.windows import cut_windows, quality_reasons
from cwtmae_cli.errors import DataError

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
_TEMPLATES: dict[str, bytes] = {}


def _edf_template() -> bytes:
    if "edf" not in _TEMPLATES:
        with tempfile.TemporaryDirectory() as tmp:
            path = write_good_edf(Path(tmp) / "t.edf", seconds=40, channels=("EEG Fpz-Cz", "EOG"))
            _TEMPLATES["edf"] = path.read_bytes()
    return _TEMPLATES["edf"]


def _check(rec) -> None:
    assert rec.fs_hz > 0 and np.isfinite(rec.fs_hz)
    assert rec.signal.dtype == np.float32 and rec.signal.ndim == 2
    assert rec.signal.shape[0] == len(rec.channels) == len(rec.units)


edits = st.lists(
    st.tuples(st.integers(0, 2000), st.binary(min_size=1, max_size=8)), min_size=1, max_size=6
)


@FUZZ
@given(edits=edits, cut=st.one_of(st.none(), st.integers(0, 4000)))
def test_a_damaged_edf_reads_or_raises_data_error(edits, cut) -> None:
    data = bytearray(_edf_template())
    header_end = int(data[184:192])
    for offset, chunk in edits:  # mostly the header, where damage changes the meaning
        at = offset % (header_end + 64)
        data[at : at + len(chunk)] = chunk
    if cut is not None:
        data = data[: cut % len(data)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.edf"
        path.write_bytes(bytes(data))
        try:
            rec = read_recording(path, ["Fpz-Cz"])
        except DataError as exc:
            assert "\n" not in str(exc).strip() or "fuzz.edf" in str(exc)
            return
        _check(rec)


fields = st.text(alphabet="0123456789-./()abcMLI x", min_size=0, max_size=8)


@FUZZ
@given(
    record_line=st.lists(fields, min_size=0, max_size=5),
    signal_fields=st.lists(fields, min_size=0, max_size=9),
    dat_fraction=st.floats(0.0, 1.0),
)
def test_a_damaged_wfdb_record_reads_or_raises_data_error(
    record_line, signal_fields, dat_fraction
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        hea = write_wfdb(Path(tmp), seconds=35)
        lines = hea.read_text().splitlines()
        if record_line:
            lines[0] = " ".join(["r1", *record_line])
        if signal_fields:
            lines[1] = " ".join(["r1.dat", *signal_fields])
        hea.write_text("\n".join(lines) + "\n")
        dat = hea.with_suffix(".dat")
        dat.write_bytes(dat.read_bytes()[: int(dat.stat().st_size * dat_fraction)])
        try:
            rec = read_recording(hea)
        except DataError:
            return
        _check(rec)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    signal=arrays(
        np.float32,
        st.tuples(st.integers(1, 3), st.integers(0, 400)),
        elements=st.one_of(
            st.floats(-1e6, 1e6, width=32), st.sampled_from([np.nan, np.inf, -np.inf])
        ),
    ),
    fs_hz=st.sampled_from([1.0, 10.0, 100.0, 256.0]),
    window_n=st.integers(1, 64),
    stride_n=st.one_of(st.none(), st.integers(1, 64)),
    first_n=st.integers(0, 50),
)
def test_windows_are_exact_slices_at_their_starts(signal, fs_hz, window_n, stride_n, first_n):
    window_s = window_n / fs_hz
    stride_s = None if stride_n is None else stride_n / fs_hz
    windows, start_s = cut_windows(signal, fs_hz, window_s, stride_s, start_s=first_n / fs_hz)
    step = stride_n or window_n
    n_expected = max(0, (signal.shape[1] - first_n - window_n) // step + 1)
    assert windows.shape == (n_expected, signal.shape[0], window_n)
    assert windows.dtype == np.float32 and start_s.shape == (n_expected,)
    for w in range(n_expected):
        begin = first_n + w * step
        assert start_s[w] == pytest.approx(begin / fs_hz)
        np.testing.assert_array_equal(windows[w], signal[:, begin : begin + window_n])
    reasons = quality_reasons(windows)
    assert len(reasons) == n_expected
    for w, reason in enumerate(reasons):
        assert (reason == "non-finite") == (not np.isfinite(windows[w]).all())


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    rates=st.sampled_from([(360.0, 100.0), (256.0, 100.0), (100.0, 256.0), (250.0, 100.0),
                           (200.0, 100.0), (128.0, 100.0), (100.0, 100.0)]),
    n_in=st.integers(1, 4000),
    data=st.data(),
)  # fmt: skip
def test_any_resampled_range_equals_resampling_whole(rates, n_in, data) -> None:
    from cwtmae_cli.data.resample import resample, resample_range, resampled_length

    fs_in, fs_out = rates
    x = np.random.default_rng(n_in).normal(0, 1, (2, n_in)).astype(np.float32)  # (C, n)
    whole = resample(x, fs_in, fs_out)  # (C, m)
    assert whole.shape[1] == resampled_length(n_in, fs_in, fs_out)
    start = data.draw(st.integers(0, whole.shape[1] - 1))
    stop = data.draw(st.integers(start + 1, whole.shape[1]))
    got = resample_range(lambda a, b: x[:, a:b], n_in, fs_in, fs_out, start, stop)
    np.testing.assert_array_equal(got, whole[:, start:stop])
