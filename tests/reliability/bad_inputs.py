"""Builders of damaged inputs for the bad-input matrix: EDF header surgery, WFDB records, recipes,
stores and checkpoints. Each builder writes into a folder and returns the command line to run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

FS_HZ = 100.0
# EDF per-signal header fields, in file order, with their widths (bytes per signal)
_SIGNAL_FIELDS = (
    ("label", 16),
    ("transducer", 80),
    ("dimension", 8),
    ("physical_min", 8),
    ("physical_max", 8),
    ("digital_min", 8),
    ("digital_max", 8),
    ("prefilter", 80),
    ("samples_per_record", 8),
    ("reserved", 32),
)
_FIXED_FIELDS = {"header_bytes": (184, 8), "n_records": (236, 8), "record_s": (244, 8)}


def write_good_edf(
    path: Path, seconds: float = 120.0, channels: tuple[str, ...] = ("EEG Fpz-Cz",), seed: int = 0
) -> Path:
    """A valid EDF: ``channels`` of noise plus a 10 Hz rhythm at 100 Hz, 1-s data records."""
    from cwtmae_cli.data.edf_writer import write_edf

    rng = np.random.default_rng(seed)
    n = int(seconds * FS_HZ)
    t_s = np.arange(n) / FS_HZ
    rows = [30 * np.sin(2 * np.pi * 10 * t_s) + rng.normal(0, 10, n) for _ in channels]
    return write_edf(path, np.stack(rows), FS_HZ, list(channels), record_duration_s=1.0)


def edf_field(data: bytearray, name: str, value: str, signal: int = 0) -> bytearray:
    """Overwrite one header field (fixed part, or signal ``signal``'s) with ``value``."""
    n_signals = int(data[252:256])
    if name in _FIXED_FIELDS:
        offset, width = _FIXED_FIELDS[name]
    else:
        offset = 256
        for field, width in _SIGNAL_FIELDS:
            if field == name:
                offset += signal * width
                break
            offset += n_signals * width
        else:
            raise KeyError(name)
    raw = value.encode("latin-1") if isinstance(value, str) else value
    data[offset : offset + width] = raw.ljust(width, b" ")[:width]
    return data


def edited_edf(folder: Path, name: str, **fields: str) -> Path:
    """A good EDF whose header fields are replaced (``label="EEG \\xe9"``, ``n_records="999"``)."""
    path = write_good_edf(folder / name)
    data = bytearray(path.read_bytes())
    for field, value in fields.items():
        edf_field(data, field, value)
    path.write_bytes(bytes(data))
    return path


def write_wfdb(
    folder: Path,
    name: str = "r1",
    seconds: float = 70.0,
    d_signal: np.ndarray | None = None,
    sig_name: tuple[str, ...] = ("MLII",),
) -> Path:
    """A WFDB record (format 16 at 360 Hz) with a rhythm annotation file; returns the .hea path."""
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    n = int(seconds * 360)
    if d_signal is None:
        rng = np.random.default_rng(1)
        d_signal = (rng.normal(0, 0.3, (n, len(sig_name))) * 200).astype(np.int32)
    wfdb.wrsamp(
        name,
        fs=360,
        units=["mV"] * len(sig_name),
        sig_name=list(sig_name),
        d_signal=d_signal,
        fmt=["16"] * len(sig_name),
        adc_gain=[200.0] * len(sig_name),
        baseline=[0] * len(sig_name),
        write_dir=str(folder),
    )
    wfdb.wrann(
        name, "atr", np.array([5, n // 2]), symbol=["+", "+"], aux_note=["(N", "(AFIB"],
        write_dir=str(folder),
    )  # fmt: skip
    return folder / f"{name}.hea"


def edit_text(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1))


def recipe(folder: Path, body: str) -> Path:
    path = folder / "bad-recipe.toml"
    path.write_text('name = "bad"\nformat = "edf"\n' + body)
    return path


def copy_store(store: Path, dest: Path) -> Path:
    shutil.copytree(store, dest)
    return dest


def store_attrs(store: Path, **changes) -> None:
    meta = json.loads((store / "zarr.json").read_text())
    meta["attributes"].update(changes)
    (store / "zarr.json").write_text(json.dumps(meta))


def checkpoint_meta(ckpt: Path, **changes) -> None:
    meta = json.loads((ckpt / "meta.json").read_text())
    meta.update(changes)
    (ckpt / "meta.json").write_text(json.dumps(meta))
