"""The one object every reader returns: a multichannel signal plus its labelled intervals.

Everything after a reader (resampling, windowing, labelling, the store) works on a
:class:`Recording` only, so it does not care whether the data came from EDF, BDF or WFDB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A labelled stretch of a recording: ``[onset_s, onset_s + duration_s)`` carries ``label``.

    ``label`` is the raw annotation text (``"Sleep stage 2"``, ``"(AFIB"``); recipes map it to a
    class name.
    """

    onset_s: float
    duration_s: float
    label: str

    @property
    def end_s(self) -> float:
        return self.onset_s + self.duration_s


@dataclass
class Recording:
    """One recording in physical units.

    Attributes:
        signal: float32 array ``(C, n_samples)`` in physical units (µV for EEG, mV for ECG).
        fs_hz: sampling rate shared by all channels.
        channels: the file's names of the ``C`` channels, in ``signal`` order.
        units: physical unit of each channel (``"uV"``, ``"mV"``, ...).
        intervals: labelled intervals, onsets in seconds from the recording start.
        subject: subject id (splits never separate one subject's recordings).
        recording_id: unique id of the recording within a data set.
        source_files: names of the files it was read from (signal file first).
        start: clock date-time of the first sample as the file's header gives it (naive: EDF
            and WFDB headers carry no time zone); None when the header gives no date and time.
    """

    signal: np.ndarray
    fs_hz: float
    channels: list[str]
    units: list[str]
    intervals: list[Interval] = field(default_factory=list)
    subject: str = ""
    recording_id: str = ""
    source_files: list[str] = field(default_factory=list)
    start: datetime | None = None

    def __post_init__(self) -> None:
        if self.signal.ndim != 2:
            raise ValueError(f"signal must be (C, n_samples), got shape {self.signal.shape}")
        if self.signal.shape[0] != len(self.channels):
            raise ValueError(
                f"signal has {self.signal.shape[0]} channels but {len(self.channels)} names"
            )
        if len(self.units) != len(self.channels):
            raise ValueError(f"{len(self.units)} units for {len(self.channels)} channels")
        if not self.fs_hz > 0:
            raise ValueError(f"fs_hz must be positive, got {self.fs_hz}")

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz
