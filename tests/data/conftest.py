"""Fixtures of the data tests: small EDF and WFDB folders written with MNE and wfdb."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_mne_edf(path: Path, seconds: float, fs_hz: float = 256.0, seed: int = 0) -> Path:
    """An EDF with channels ``EEG C3-A2`` (µV-scale noise plus a 10 Hz rhythm) and ``EOG``."""
    import mne

    rng = np.random.default_rng(seed)
    n = int(seconds * fs_hz)
    t = np.arange(n) / fs_hz
    eeg = 20e-6 * np.sin(2 * np.pi * 10 * t) + rng.normal(0, 10e-6, n)
    info = mne.create_info(["EEG C3-A2", "EOG"], fs_hz, ["eeg", "eog"])
    raw = mne.io.RawArray(np.stack([eeg, rng.normal(0, 50e-6, n)]), info, verbose="error")
    path.parent.mkdir(parents=True, exist_ok=True)
    mne.export.export_raw(path, raw, overwrite=True, verbose="error")
    return path


@pytest.fixture
def edf_folder(tmp_path) -> Path:
    """Four 2-minute EDF recordings at 256 Hz (4 windows of 30 s each)."""
    folder = tmp_path / "edf"
    for i in range(4):
        write_mne_edf(folder / f"sub{i}.edf", 120.0, seed=i)
    return folder


@pytest.fixture
def mitdb_links(shared_data, tmp_path) -> Path:
    """A folder of symlinks to the real MIT-BIH records (read in place, never copied)."""
    folder = tmp_path / "mitdb"
    folder.mkdir()
    for path in (shared_data / "mitdb").iterdir():
        if path.suffix in (".hea", ".dat", ".atr"):
            (folder / path.name).symlink_to(path)
    return folder
