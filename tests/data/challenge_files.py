"""Tiny PhysioNet-challenge folders written by hand: ``.hea`` text, ``.mat`` via SciPy, and a
``REFERENCE.csv`` (the CinC 2017 layout), for the reader and recipe tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CINC_DATE = "05:05:15 1/05/2000"  # as the CinC 2017 headers write it


def write_challenge_record(
    folder: Path,
    name: str,
    digital: np.ndarray,
    *,
    fs_hz: int = 300,
    gain: float = 1000.0,
    baseline: int = 0,
    clock: str = CINC_DATE,
    variable: str = "val",
    mat_format: str = "4",
) -> Path:
    """``<folder>/<name>.hea`` + ``<name>.mat`` holding ``digital`` (``(n,)`` int16) as ``val``;
    returns the record path (no extension)."""
    import scipy.io

    folder.mkdir(parents=True, exist_ok=True)
    digital = np.asarray(digital, dtype=np.int16).reshape(1, -1)  # (1, n)
    scipy.io.savemat(folder / f"{name}.mat", {variable: digital}, format=mat_format)
    header = (
        f"{name} 1 {fs_hz} {digital.shape[1]} {clock}\n"
        f"{name}.mat 16+24 {gain:g}/mV 16 {baseline} 0 0 0 ECG\n"
    )
    (folder / f"{name}.hea").write_text(header)
    return folder / name


def write_reference(folder: Path, labels: dict[str, str]) -> Path:
    """``REFERENCE.csv``: one ``record,label`` line per entry."""
    path = folder / "REFERENCE.csv"
    path.write_text("".join(f"{name},{label}\n" for name, label in labels.items()))
    return path
