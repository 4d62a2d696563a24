"""WFDB records through ``wfdb``: signals (``.dat`` / ``.mat``, multi-lead) and rhythm notes.

A rhythm note in an annotation file's ``aux_note`` (``(AFIB``, ``(N``, ...) starts an interval that
lasts until the next rhythm note or the end of the record.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

import numpy as np

from cwtmae_cli.data.readers.channels import pick_channels
from cwtmae_cli.data.readers.recording import Interval, Recording
from cwtmae_cli.data.readers.wfdb_challenge import is_mat_record, read_mat_signals, readable_record
from cwtmae_cli.errors import DataError

WFDB_SUFFIXES = {".hea", ".dat", ".mat"}

# wfdb calls pandas with a deprecated keyword on every read; users should not see that noise.
warnings.filterwarnings("ignore", message="The inplace keyword", module=r"wfdb(\.|$)")


def wfdb_record_name(path: Path) -> Path:
    """``data/100.hea`` / ``data/100.dat`` / ``data/100`` -> ``data/100``."""
    path = Path(path)
    return path.with_suffix("") if path.suffix.lower() in WFDB_SUFFIXES else path


def read_wfdb(
    path: Path, channels: list[str] | None, annotations: Path | None, fallback: bool, with_ann: bool
) -> Recording:
    record = wfdb_record_name(path)
    name = record.name
    if not record.with_suffix(".hea").is_file():
        raise DataError(f"WFDB record {name}: header {record.with_suffix('.hea')} is missing")
    with readable_record(record) as (readable, header):
        return _read_wfdb(record, readable, header, channels, annotations, fallback, with_ann)


def _read_wfdb(
    record: Path,
    readable: Path,
    header,
    channels: list[str] | None,
    annotations: Path | None,
    fallback: bool,
    with_ann: bool,
) -> Recording:
    """:func:`read_wfdb` once the header is read (``readable``: where wfdb can read it)."""
    name = record.name
    files = _signal_files(record, header)
    picks = pick_channels(channels, list(header.sig_name or []), f"WFDB record {name}", fallback)
    signal, sig_name, units = _read_signals(record, readable, header, picks)  # (C, n)
    fs_hz = float(header.fs)
    intervals: list[Interval] = []
    ann_path = Path(annotations) if annotations is not None else record.with_suffix(".atr")
    source = [*files, f"{name}.hea"]
    if annotations is not None or (with_ann and ann_path.is_file()):
        intervals = rhythm_intervals(ann_path, fs_hz, signal.shape[1])
        source.append(ann_path.name)
    return Recording(
        signal=np.ascontiguousarray(signal),
        fs_hz=fs_hz,
        channels=sig_name,
        units=units,
        intervals=intervals,
        recording_id=name,
        source_files=source,
        start=_wfdb_start(header),
    )


def _signal_files(record: Path, header) -> list[str]:
    """The signal files the header names (sorted), once checked: next to the ``.hea``, present,
    in a format wfdb reads, at a positive sampling frequency; DataError otherwise."""
    from wfdb.io._signal import DAT_FMTS

    name = record.name
    files = sorted({f for f in (header.file_name or []) if f})
    outside = [f for f in files if Path(f).name != f or f in (".", "..")]
    if outside:
        raise DataError(
            f"WFDB record {name}: header names signal file {outside[0]!r} outside its folder; "
            "only files next to the .hea are read"
        )
    _check_wfdb_rate(record.with_suffix(".hea"), name)
    formats = sorted({str(f).split("x")[0] for f in (header.fmt or []) if f} - set(DAT_FMTS))
    if formats:
        raise DataError(
            f"WFDB record {name}: signal format {', '.join(formats)} is not supported "
            f"(wfdb reads {', '.join(DAT_FMTS)})"
        )
    missing = [f for f in files if not (record.parent / f).is_file()]
    if missing:
        raise DataError(
            f"WFDB record {name}: signal file {', '.join(missing)} is missing next to {name}.hea"
        )
    return files


def _read_signals(
    record: Path, readable: Path, header, picks: list[int]
) -> tuple[np.ndarray, list[str], list[str]]:
    """The picked leads ``(C, n)`` in physical units, their names and units."""
    import wfdb

    if is_mat_record(header):  # the challenges' layout: `val` in <record>.mat, read with SciPy
        signal = read_mat_signals(record, header, picks)  # (C, n)
        sig_name = [header.sig_name[i] for i in picks]
        units = [header.units[i] or "" for i in picks] if header.units else [""] * len(picks)
        return signal, sig_name, units
    try:
        rec = wfdb.rdrecord(str(readable), channels=picks)
    except Exception as exc:
        raise DataError(
            f"cannot read WFDB record {record.name}: {exc} (truncated or damaged?)"
        ) from exc
    signal = np.asarray(rec.p_signal, dtype=np.float32).T  # (n, C) -> (C, n)
    return signal, list(rec.sig_name), list(rec.units or [""] * len(picks))


def _wfdb_start(header) -> datetime | None:
    """Base date and time of the record line combined; None unless the header has both."""
    if getattr(header, "base_date", None) is None or getattr(header, "base_time", None) is None:
        return None
    return datetime.combine(header.base_date, header.base_time)


def _check_wfdb_rate(hea: Path, name: str) -> None:
    """DataError when the record line's sampling frequency is present but not a positive number
    (``wfdb`` would silently use its 250 Hz default)."""
    lines = hea.read_text(encoding="latin-1").splitlines()
    fields = next((ln.split() for ln in lines if ln.strip() and not ln.startswith("#")), [])
    if len(fields) < 3:
        return  # no frequency given: 250 Hz is the WFDB default
    text = fields[2].split("/")[0].split("(")[0]
    try:
        ok = float(text) > 0
    except ValueError:
        ok = False
    if not ok:
        raise DataError(
            f"WFDB record {name}: sampling frequency {fields[2]!r} in {hea.name} "
            "is not a positive number"
        )


def rhythm_intervals(ann_path: Path, fs_hz: float, n_samples: int) -> list[Interval]:
    """Rhythm intervals from a WFDB annotation file: each ``aux_note`` starting with ``(``
    (``(N``, ``(AFIB``) opens an interval lasting until the next rhythm note or the end."""
    import wfdb

    ann_path = Path(ann_path)
    if not ann_path.is_file():
        raise DataError(f"annotation file {ann_path} does not exist")
    try:
        ann = wfdb.rdann(str(ann_path.with_suffix("")), ann_path.suffix.lstrip("."))
    except Exception as exc:
        raise DataError(f"cannot read WFDB annotations {ann_path.name}: {exc}") from exc
    notes = [
        (int(sample), note.strip("\x00 ").strip())
        for sample, note in zip(ann.sample, ann.aux_note or [], strict=False)
        if note and note.strip("\x00 ").startswith("(")
    ]
    intervals = []
    for i, (sample, label) in enumerate(notes):
        end = notes[i + 1][0] if i + 1 < len(notes) else n_samples
        if end > sample:
            intervals.append(Interval(sample / fs_hz, (end - sample) / fs_hz, label))
    return intervals
