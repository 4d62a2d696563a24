"""A small EDF / EDF+ / BDF writer: generated recordings (the demo, tests, benchmarks) and the
EDF+ annotation files of ``predict --format edf``.

EDF and EDF+ go through ``edfio`` (the library MNE exports EDF with), which writes mixed sampling
rates and annotation-only files; BDF, which edfio does not write, has a small writer of its own.
By default the start date and time are fixed, so that the same data give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SYNTHETIC_START = dt.datetime(2000, 1, 1, 22, 30, 0)  # fixed, so that files are byte-identical


def write_edf(
    path: Path,
    signal: np.ndarray | Sequence[np.ndarray],
    fs_hz: float | Sequence[float],
    channels: Sequence[str],
    units: str | Sequence[str] = "uV",
    annotations: Sequence[tuple[float, float | None, str]] | None = None,
    record_duration_s: float | None = None,
    start: dt.datetime | None = SYNTHETIC_START,
    patient_name: str = "SYNTHETIC",
) -> Path:
    """Writes an EDF / EDF+ file (BDF if ``path`` ends in ``.bdf``) and returns its path.

    ``signal`` is (C, n_samples) in physical ``units``, or a list of 1-D arrays with one rate each
    in ``fs_hz`` (mixed rates); ``annotations`` are (onset_s, duration_s, text) and make it EDF+.
    An empty signal list with annotations writes an annotation-only EDF+ file (a hypnogram).
    ``start``: the header's start date-time (whole seconds; EDF dates run 1985-2084), None for
    unknown (EDF+'s ``Startdate X``, shown as 01.01.85 00.00.00). ``patient_name``: the
    patient field's name part (``X`` for unknown).
    """
    path = Path(path)
    rows = [np.asarray(s, dtype=np.float64) for s in signal]
    rates = [float(fs_hz)] * len(rows) if np.isscalar(fs_hz) else [float(f) for f in fs_hz]
    unit_list = [units] * len(rows) if isinstance(units, str) else list(units)
    if not len(rows) == len(rates) == len(channels) == len(unit_list):
        raise ValueError("signal, fs_hz, channels and units must describe the same channels")
    if path.suffix.lower() == ".bdf":
        if annotations:
            raise ValueError("annotations are written to EDF+ only; use a .edf path")
        return _write_bdf(path, rows, rates, list(channels), unit_list, start or SYNTHETIC_START)
    duration_s = record_duration_s or _record_duration_s(rows, rates)
    header = _EdfHeader(start, patient_name, duration_s)
    return _write_edfio(path, rows, rates, list(channels), unit_list, annotations or [], header)


@dataclass(frozen=True)
class _EdfHeader:
    """What the header says besides the signals (start None: EDF+'s unknown date)."""

    start: dt.datetime | None
    patient_name: str
    record_duration_s: float | None


def _write_edfio(path, rows, rates, channels, units, annotations, header: _EdfHeader) -> Path:
    """An EDF / EDF+ file through edfio (EDF+ when there are annotations)."""
    import edfio

    signals = [
        edfio.EdfSignal(
            row,
            sampling_frequency=rate,
            label=name,
            physical_dimension=unit,
            physical_range=_physical_range(row),
        )
        for row, rate, name, unit in zip(rows, rates, channels, units, strict=True)
    ]
    edf_annotations = [edfio.EdfAnnotation(o, d, t) for o, d, t in annotations]
    start = header.start
    edf = edfio.Edf(
        signals,
        patient=edfio.Patient(name=header.patient_name),
        recording=edfio.Recording(startdate=start.date() if start else None),
        starttime=start.time().replace(microsecond=0) if start else None,
        data_record_duration=header.record_duration_s,
        annotations=edf_annotations or None,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    edf.write(path)
    return path


def _physical_range(row: np.ndarray) -> tuple[float, float]:
    """A range that holds the row, each bound written in <= 8 characters, never empty."""
    low, high = (float(row.min()), float(row.max())) if row.size else (-1.0, 1.0)
    if high - low < 1e-6:
        low, high = low - 1.0, high + 1.0
    bounds = _edf_bound(low, upward=False), _edf_bound(high, upward=True)
    if any("e" in str(b) for b in bounds):  # edfio writes str(value); EDF has no e-notation
        raise ValueError(
            f"values between {low:.3g} and {high:.3g} are too small for an EDF header; "
            "write them in a smaller unit (e.g. uV instead of V)"
        )
    return bounds


def _edf_bound(x: float, upward: bool) -> float:
    """x rounded away from the data (down for a minimum, up for a maximum) to fit 8 characters."""
    for decimals in range(7, -1, -1):
        step = 10.0**-decimals
        value = round(float(np.ceil(x / step) if upward else np.floor(x / step)) * step, decimals)
        if len(_number_text(value)) <= 8:
            return value
    raise ValueError(f"physical value {x!r} cannot be written in an EDF header; rescale the units")


def _number_text(value: float) -> str:
    """Fixed-point text of an EDF header number, without trailing zeros (never e-notation)."""
    text = f"{value:.8f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _record_duration_s(rows: list[np.ndarray], rates: list[float]) -> float | None:
    """A data-record length that holds a whole number of samples of every channel, exactly
    written in 8 characters; 1 s when possible, else the one closest to 1 s."""
    if not rows:
        return None  # an annotation-only file (edfio picks its record layout)
    n0, fs0 = rows[0].size, rates[0]
    small = [k for k in range(1, int(np.sqrt(n0)) + 1) if n0 % k == 0]
    candidates = []
    for k in sorted(set(small + [n0 // k for k in small])):  # samples per record of channel 0
        duration_s = k / fs0
        text = _number_text(duration_s)
        fits = len(text) <= 8 and abs(float(text) * fs0 - k) < 1e-6
        if fits and all(_whole(r.size / (f * duration_s)) and _whole(f * duration_s)
                        for r, f in zip(rows, rates, strict=True)):
            candidates.append(float(text))
    if not candidates:
        raise ValueError(
            f"{n0} samples at {fs0:g} Hz cannot be cut into EDF data records; "
            "give a length that is a whole number of seconds"
        )
    return min(candidates, key=lambda d: abs(np.log(d)))


def _whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-6


def _field(value: object, width: int) -> bytes:
    """An EDF/BDF header field: ASCII, left-aligned, space-padded to ``width``."""
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    if len(text) > width:
        raise ValueError(f"EDF header value {text!r} does not fit {width} characters")
    return text.ljust(width).encode("ascii")


def _write_bdf(
    path: Path,
    rows: list[np.ndarray],
    rates: list[float],
    channels: list[str],
    units: list[str],
    start: dt.datetime,
) -> Path:
    """A plain BDF file (24-bit samples, 1-s data records; every rate must be a whole number)."""
    if (
        any(r != int(r) for r in rates)
        or len({row.size / r for row, r in zip(rows, rates, strict=True)}) > 1
    ):
        raise ValueError("BDF needs whole-number rates and channels of the same duration")
    n_records = int(rows[0].size // rates[0]) if rows else 0
    dig_min, dig_max = -(2**23), 2**23 - 1
    ranges = [_physical_range(row) for row in rows]
    header = b"\xffBIOSEMI" + _field("X X X SYNTHETIC", 80) + _field("Startdate X X X X", 80)
    header += _field(start.strftime("%d.%m.%y"), 8) + _field(start.strftime("%H.%M.%S"), 8)
    header += _field(256 * (len(rows) + 1), 8) + _field("24BIT", 44) + _field(n_records, 8)
    header += _field(1, 8) + _field(len(rows), 4)
    per_signal = [
        [_field(c, 16) for c in channels],
        [_field("", 80)] * len(rows),
        [_field(u, 8) for u in units],
        [_field(_number_text(lo), 8) for lo, _ in ranges],
        [_field(_number_text(hi), 8) for _, hi in ranges],
        [_field(dig_min, 8)] * len(rows),
        [_field(dig_max, 8)] * len(rows),
        [_field("", 80)] * len(rows),
        [_field(int(r), 8) for r in rates],
        [_field("", 32)] * len(rows),
    ]
    header += b"".join(b"".join(column) for column in per_signal)
    digital = []  # per channel: (n_records, samples per record) int32
    for row, rate, (lo, hi) in zip(rows, rates, ranges, strict=True):
        scaled = (row - lo) / (hi - lo) * (dig_max - dig_min) + dig_min
        ints = np.clip(np.round(scaled), dig_min, dig_max).astype("<i4")
        digital.append(ints.reshape(n_records, int(rate)))  # (records, samples per record)
    body = np.concatenate(digital, axis=1) if digital else np.zeros((0, 0), "<i4")
    # Little-endian 24-bit: the three low bytes of each little-endian int32.
    triples = body.astype("<i4").view(np.uint8).reshape(*body.shape, 4)[..., :3]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + triples.tobytes())
    return path
