"""Readers: EDF/EDF+/BDF and FIF through MNE, WFDB records through ``wfdb``; each returns a
Recording.

Only the requested channels are loaded. Signals come back in the file's physical units (µV, mV),
not MNE's SI volts. Labelled intervals come from the file's own annotations (EDF+), a paired
annotation file (a Sleep-EDF hypnogram; a text hypnogram or a CSV label table, see
:mod:`label_files`), or the rhythm notes of a WFDB ``.atr`` file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cwtmae_cli.data.readers.channels import match_channel, pick_channels
from cwtmae_cli.data.readers.fif_reader import is_fif, open_fif
from cwtmae_cli.data.readers.label_files import is_label_file, read_label_file
from cwtmae_cli.data.readers.recording import Interval, Recording
from cwtmae_cli.data.readers.wfdb_reader import WFDB_SUFFIXES, read_wfdb
from cwtmae_cli.errors import DataError

EDF_SUFFIXES = {".edf", ".bdf", ".rec"}
_VOLT_SCALE = {"v": 1.0, "mv": 1e-3, "uv": 1e-6, "µv": 1e-6, "μv": 1e-6, "nv": 1e-9}


def is_edf(path: Path) -> bool:
    return Path(path).suffix.lower() in EDF_SUFFIXES


def header_name(path: Path) -> str:
    """Which header a recording's start comes from: ``EDF header``, ``FIF header``, ``WFDB
    header``."""
    return "EDF header" if is_edf(path) else "FIF header" if is_fif(path) else "WFDB header"


def read_recording(
    path: Path,
    channels: list[str] | None = None,
    annotations: Path | None = None,
    *,
    subject: str | None = None,
    recording_id: str | None = None,
    first_channel_fallback: bool = False,
    read_annotations: bool = True,
    epoch_s: float = 30.0,
) -> Recording:
    """Read one recording: an EDF/EDF+/BDF file, or a WFDB record (with or without extension).

    ``channels``: names to load, matched tolerantly (all channels when None). With
    ``first_channel_fallback`` a missing single channel falls back to the file's first channel
    (the ``mitdb-af`` recipe: ``MLII``, else the first lead). ``annotations``: a paired EDF+
    annotation file (hypnogram) or a WFDB annotation file (``100.atr``); by default the EDF+
    file's own annotations or ``<record>.atr`` when present (none if not ``read_annotations``);
    a text hypnogram of ``epoch_s``-second epochs or a CSV label table for any format.
    """
    stream = open_recording(
        path,
        channels,
        annotations,
        subject=subject,
        recording_id=recording_id,
        first_channel_fallback=first_channel_fallback,
        read_annotations=read_annotations,
        epoch_s=epoch_s,
    )
    rec = stream.recording
    rec.signal = stream.read(0, stream.n_samples)  # (C, n) physical units
    return rec


class RecordingStream:
    """A recording opened for reading sample ranges: ``recording`` describes it (its ``signal``
    is empty), ``read(start, stop)`` returns ``(C, stop - start)`` float32 in physical units.
    EDF/BDF files are read range by range from disk (long recordings never sit in memory
    whole); WFDB records are read whole on opening."""

    def __init__(self, recording: Recording, n_samples: int, read_range) -> None:
        self.recording = recording
        self.n_samples = n_samples
        self._read_range = read_range

    def read(self, start: int, stop: int) -> np.ndarray:
        return self._read_range(start, stop)


def open_recording(
    path: Path,
    channels: list[str] | None = None,
    annotations: Path | None = None,
    *,
    subject: str | None = None,
    recording_id: str | None = None,
    first_channel_fallback: bool = False,
    read_annotations: bool = True,
    epoch_s: float = 30.0,
) -> RecordingStream:
    """Like :func:`read_recording`, but returns a :class:`RecordingStream`."""
    path = Path(path)
    label_file = annotations if annotations is not None and is_label_file(annotations) else None
    if label_file is not None:  # read below, the same for every format
        annotations, read_annotations = None, False
    if is_edf(path):
        stream = _open_edf(path, channels, annotations, first_channel_fallback, read_annotations)
    elif path.suffix.lower() in WFDB_SUFFIXES or path.with_suffix(".hea").exists():
        whole = read_wfdb(path, channels, annotations, first_channel_fallback, read_annotations)
        signal, whole.signal = whole.signal, whole.signal[:, :0]
        stream = RecordingStream(whole, signal.shape[1], lambda a, b: signal[:, a:b].copy())
    elif is_fif(path):
        opened = open_fif(path, channels, first_channel_fallback, read_annotations)
        stream = RecordingStream(*opened)
    else:
        raise DataError(
            f"cannot tell the format of {path}: expected an .edf/.bdf/.fif file or a WFDB record "
            "(.hea with .dat or .mat)"
        )
    rec = stream.recording
    if label_file is not None:
        duration_s = stream.n_samples / rec.fs_hz
        rec.intervals = read_label_file(Path(label_file), epoch_s, duration_s)
        rec.source_files = [*rec.source_files, Path(label_file).name]
    rec.recording_id = recording_id or rec.recording_id
    rec.subject = subject or rec.recording_id
    return stream


def _open_edf(
    path: Path, channels: list[str] | None, annotations: Path | None, fallback: bool, with_ann: bool
) -> RecordingStream:
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    labels = check_edf_size(path)
    _refuse_duplicated(channels, labels, path)
    raw, names = _open_raw(path, channels, fallback)
    units, volts_per_unit = _physical_units(raw, names)  # volts_per_unit (C, 1)

    def read_range(start: int, stop: int) -> np.ndarray:
        try:
            data = raw.get_data(start=start, stop=stop)  # (C, stop - start) in SI units
        except MemoryError:
            raise
        except Exception as exc:
            raise DataError(f"cannot read {path.name}: {exc} (is the file damaged?)") from exc
        return (data / volts_per_unit).astype(np.float32)  # (C, n) physical units

    if annotations is not None:
        intervals = _annotation_file_intervals(Path(annotations), raw)
        files = [path.name, Path(annotations).name]
    else:
        intervals = _mne_intervals(raw.annotations, offset_s=0.0) if with_ann else []
        files = [path.name]
    recording = Recording(
        signal=np.zeros((len(names), 0), dtype=np.float32),
        fs_hz=float(raw.info["sfreq"]),
        channels=names,
        units=units,
        intervals=intervals,
        recording_id=path.stem,
        source_files=files,
        start=_edf_start(raw),
    )
    return RecordingStream(recording, int(raw.n_times), read_range)


def _open_raw(path: Path, channels: list[str] | None, fallback: bool):
    """The file opened by MNE (not loaded) with only the picked channels, in the order asked,
    and their names; DataError for a file MNE cannot read."""
    import mne

    try:
        read = mne.io.read_raw_bdf if path.suffix.lower() == ".bdf" else mne.io.read_raw_edf
        header = read(path, preload=False, verbose="error")
        picks = pick_channels(channels, header.ch_names, path.name, fallback)
        names = [header.ch_names[i] for i in picks]
        # Re-open with only these channels: mixed-rate files then load at the picks' own rate.
        raw = read(path, include=names, preload=False, verbose="error")
        return raw.reorder_channels(names), names
    except DataError:
        raise
    except Exception as exc:  # MNE raises many types for damaged files
        raise DataError(
            f"cannot read {path.name}: {exc} (is the file truncated or damaged?)"
        ) from exc


def _physical_units(raw, names: list[str]) -> tuple[list[str], np.ndarray]:
    """The header's unit of each channel (``uV`` for µV) and the volts per unit ``(C, 1)``
    that turn MNE's SI volts back into them (1 for a unit that is not a volt)."""
    orig_units = getattr(raw, "_orig_units", {}) or {}
    units, scale = [], []
    for name in names:
        unit = str(orig_units.get(name, "")).strip()
        units.append(unit.replace("µ", "u").replace("μ", "u"))
        scale.append(_VOLT_SCALE.get(unit.lower(), 1.0))
    return units, np.asarray(scale)[:, None]


def _edf_start(raw):
    """The header's start date-time, naive (MNE labels it UTC; EDF headers carry no zone)."""
    meas_date = raw.info.get("meas_date")
    return None if meas_date is None else meas_date.replace(tzinfo=None)


def _refuse_duplicated(channels: list[str] | None, labels: list[str], path: Path) -> None:
    """DataError when a requested channel's name stands more than once in the header (MNE would
    rename them ``-0``, ``-1`` and the tool could not tell which one the user meant)."""
    ordinary = [label for label in labels if label != "EDF Annotations"]
    duplicated = {label for label in ordinary if ordinary.count(label) > 1}
    if not duplicated or not channels:
        return
    unique = sorted(set(ordinary))
    for wanted in channels:
        try:
            label = unique[match_channel(wanted, unique, path.name)]
        except DataError:
            continue  # not there at all: the ordinary missing-channel error follows
        if label in duplicated:
            raise DataError(
                f"{path.name} has {ordinary.count(label)} channels named `{label}`; cannot tell "
                "which one to read: give them distinct names in the file"
            )


def check_edf_size(path: Path) -> list[str]:
    """DataError when an EDF/BDF header is damaged: fewer data records than it promises (MNE
    would silently read the shorter signal), a data-record duration or samples-per-record that
    is not positive, or an empty digital range (MNE would guess a rate or divide by zero).
    Returns the header's signal labels."""
    size = path.stat().st_size
    with path.open("rb") as f:
        fixed = f.read(256)
        try:
            header_bytes = int(fixed[184:192])
            n_records = int(fixed[236:244])
            record_s = float(fixed[244:252])
            n_signals = int(fixed[252:256])
            labels = [f.read(16).decode("latin-1").strip() for _ in range(n_signals)]
            f.seek(256 + n_signals * 120)
            digital = [[int(f.read(8)) for _ in range(n_signals)] for _ in range(2)]
            f.seek(256 + n_signals * 216)
            per_record = [int(f.read(8)) for _ in range(n_signals)]
        except ValueError:
            raise DataError(f"cannot read {path.name}: not an EDF/BDF header") from None
    ordinary = [i for i, label in enumerate(labels) if label != "EDF Annotations"]
    if ordinary and not record_s > 0:
        raise DataError(
            f"{path.name} has a damaged header: data-record duration {record_s:g} s (must be > 0)"
        )
    for i in ordinary:
        if per_record[i] <= 0 or digital[1][i] <= digital[0][i]:
            raise DataError(
                f"{path.name} has a damaged header: signal `{labels[i]}` has {per_record[i]} "
                f"samples per record and digital range {digital[0][i]}..{digital[1][i]}"
            )
    if n_records < 0:  # -1: unknown (the recorder did not finish the header)
        return labels
    bytes_per_sample = 3 if path.suffix.lower() == ".bdf" else 2
    expected = header_bytes + n_records * sum(per_record) * bytes_per_sample
    if size < expected:
        raise DataError(
            f"{path.name} is truncated: its header promises {n_records} data records "
            f"({expected} bytes) but the file has {size} bytes; download or copy it again"
        )
    return labels


def _mne_intervals(annot, offset_s: float) -> list[Interval]:
    return [
        Interval(float(o) + offset_s, float(d), str(desc))
        for o, d, desc in zip(annot.onset, annot.duration, annot.description, strict=True)
    ]


def _annotation_file_intervals(path: Path, raw) -> list[Interval]:
    """Intervals of a paired EDF+ annotation file, onsets relative to ``raw``'s first sample."""
    import mne

    if not path.is_file():
        raise DataError(f"annotation file {path} does not exist")
    if is_edf(path):
        check_edf_size(path)  # MNE reads a damaged EDF+ as "no annotations"
    try:
        annot = mne.read_annotations(path)
    except Exception as exc:
        raise DataError(f"cannot read annotations from {path.name}: {exc}") from exc
    offset_s = 0.0
    meas_date = raw.info.get("meas_date")
    if annot.orig_time is not None and meas_date is not None:
        offset_s = (annot.orig_time - meas_date).total_seconds()
    return _mne_intervals(annot, offset_s)
