"""MNE's own raw files (``.fif``, ``.fif.gz``, as ``raw.save`` writes them), read through MNE.

MNE keeps signals in SI units; the recording gets the project's physical units instead: µV for
EEG, EOG, EMG and intracranial channels, mV for ECG, and the SI unit for anything else (``V``
for a voltage of another type, the unit MNE gives otherwise). The intervals are the file's own
annotations, onsets moved to the first sample (MNE counts them from the measurement date when it
is set). ``start`` is the file's ``meas_date`` without its zone (MNE writes it in UTC).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from cwtmae_cli.data.readers.channels import pick_channels
from cwtmae_cli.data.readers.recording import Interval, Recording
from cwtmae_cli.errors import DataError

FIF_SUFFIXES = (".fif", ".fif.gz")
_MICROVOLT_TYPES = {"eeg", "eog", "emg", "seeg", "ecog", "dbs"}


def is_fif(path: Path) -> bool:
    return Path(path).name.lower().endswith(FIF_SUFFIXES)


def fif_stem(path: Path) -> str:
    """``night1_raw`` for ``night1_raw.fif`` and ``night1_raw.fif.gz``."""
    name = Path(path).name
    return name[: -len(".fif.gz")] if name.lower().endswith(".fif.gz") else Path(name).stem


def open_fif(
    path: Path, channels: list[str] | None, fallback: bool, with_ann: bool
) -> tuple[Recording, int, Callable[[int, int], np.ndarray]]:
    """The recording (empty signal), its number of samples and ``read(start, stop)`` ->
    ``(C, stop - start)`` float32 in physical units. DataError when MNE cannot read it."""
    import mne

    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        raw = mne.io.read_raw_fif(path, preload=False, verbose="error")
    except Exception as exc:  # MNE raises many types for a file that is no raw FIF
        raise DataError(
            f"cannot read {path.name}: {exc} (is it a raw FIF file, not epochs or evoked data?)"
        ) from None
    picks = pick_channels(channels, raw.ch_names, path.name, fallback)
    names = [raw.ch_names[i] for i in picks]
    units, per_unit = _units(raw, names)  # per_unit (C, 1): SI per physical unit

    def read_range(start: int, stop: int) -> np.ndarray:
        try:
            data = raw.get_data(picks=names, start=start, stop=stop)  # (C, n) SI units
        except Exception as exc:
            raise DataError(f"cannot read {path.name}: {exc} (is the file damaged?)") from None
        return (data / per_unit).astype(np.float32)  # (C, n) physical units

    meas_date = raw.info.get("meas_date")
    recording = Recording(
        signal=np.zeros((len(names), 0), dtype=np.float32),
        fs_hz=float(raw.info["sfreq"]),
        channels=names,
        units=units,
        intervals=_intervals(raw) if with_ann else [],
        recording_id=fif_stem(path),
        source_files=[path.name],
        start=None if meas_date is None else meas_date.replace(tzinfo=None),
    )
    return recording, int(raw.n_times), read_range


def _units(raw, names: list[str]) -> tuple[list[str], np.ndarray]:
    """Each channel's physical unit and the SI units per physical unit ``(C, 1)``."""
    types = raw.get_channel_types(picks=names)
    units, scale = [], []
    for name, kind in zip(names, types, strict=True):
        si_unit = _si_unit(raw, name)
        if si_unit == "V" and kind in _MICROVOLT_TYPES:
            units.append("uV")
            scale.append(1e-6)
        elif si_unit == "V" and kind == "ecg":
            units.append("mV")
            scale.append(1e-3)
        else:
            units.append(si_unit)
            scale.append(1.0)
    return units, np.asarray(scale, dtype=np.float64)[:, None]


def _si_unit(raw, name: str) -> str:
    from mne.io.constants import FIFF

    unit = raw.info["chs"][raw.ch_names.index(name)]["unit"]
    return {FIFF.FIFF_UNIT_V: "V", FIFF.FIFF_UNIT_T: "T", FIFF.FIFF_UNIT_T_M: "T/m"}.get(unit, "")


def _intervals(raw) -> list[Interval]:
    """The file's annotations, onsets in seconds from the first sample."""
    annot = raw.annotations
    offset_s = raw.first_time if annot.orig_time is not None else 0.0
    rows = zip(annot.onset, annot.duration, annot.description, strict=True)
    return [Interval(float(onset) - offset_s, float(d), str(text)) for onset, d, text in rows]
