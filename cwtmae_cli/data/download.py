"""``prepare sleep-edf --download``: fetch Sleep-EDF sleep-cassette files with MNE's fetcher."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cwtmae_cli.errors import DataError

N_SLEEP_CASSETTE_SUBJECTS = 83  # subjects 0..82 of the "age" (sleep-cassette) study


def download_sleep_edf(
    path: Path | None = None,
    subjects: Sequence[int] | None = None,
    recordings: Sequence[int] = (1, 2),
) -> Path:
    """Download PSG + hypnogram pairs (all subjects and nights by default, about 8 GB) into
    MNE's data folder (or ``path``) and return the folder holding them. Files already there are
    not fetched again."""
    from mne.datasets.sleep_physionet.age import fetch_data

    subjects = list(range(N_SLEEP_CASSETTE_SUBJECTS)) if subjects is None else list(subjects)
    try:
        pairs = fetch_data(
            subjects=subjects,
            recording=list(recordings),
            path=path,
            on_missing="warn",
            verbose="error",
        )
    except Exception as exc:  # network and checksum failures come in many types
        raise DataError(f"downloading Sleep-EDF failed: {exc}") from exc
    if not pairs:
        raise DataError("downloading Sleep-EDF gave no files")
    return Path(pairs[0][0]).parent
