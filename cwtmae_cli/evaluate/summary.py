"""Summary statistics of the per-window predictions of one recording.

Every window stands for ``epoch_s = min(stride_s, window_s)`` seconds starting at its onset (with
the default stride, one 30-s epoch per window), so the times below add up to the analysed time even
when windows overlap.

Definitions (sleep models, i.e. a class list holding a wake class ``W``/``Wake`` and a REM class
``REM``/``R``; all times in minutes):

- ``recording_min``: analysed time, ``n_windows · epoch_s`` including windows that failed quality
  control (``bad``). There is no lights-off marker, so this plays the part of time in bed.
- ``total_sleep_time_min`` (TST): time in windows classified as any class other than wake (bad
  windows are neither sleep nor wake).
- ``sleep_efficiency_pct``: ``100 · TST / recording_min``.
- ``sleep_onset_latency_min``: from the first window's onset to the onset of the first sleep
  window; ``None`` when no window is sleep.
- ``rem_latency_min``: from sleep onset to the onset of the first REM window; ``None`` without
  sleep or without REM.
- ``waso_min`` (wake after sleep onset): wake time between sleep onset and the end of the last
  sleep window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BAD_LABEL = "bad"
_WAKE_NAMES = ("W", "WAKE", "SLEEP STAGE W")
_REM_NAMES = ("REM", "R", "SLEEP STAGE R")


def _find(label_names: Sequence[str], candidates: tuple[str, ...]) -> str | None:
    for name in label_names:
        if name.strip().upper() in candidates:
            return name
    return None


def is_sleep_model(label_names: Sequence[str]) -> bool:
    """True when the classes include a wake class (``W``) and a REM class (``REM``)."""
    return (
        _find(label_names, _WAKE_NAMES) is not None and _find(label_names, _REM_NAMES) is not None
    )


def time_per_class(labels: Sequence[str], label_names: Sequence[str], epoch_s: float) -> dict:
    """Minutes per class (every class of the model, then ``bad`` when any window failed QC)."""
    labels = list(labels)
    minutes = {name: labels.count(name) * epoch_s / 60.0 for name in label_names}
    n_bad = labels.count(BAD_LABEL)
    if n_bad:
        minutes[BAD_LABEL] = n_bad * epoch_s / 60.0
    return minutes


def sleep_statistics(
    labels: Sequence[str], onset_s: np.ndarray, label_names: Sequence[str], epoch_s: float
) -> dict:
    """TST, sleep efficiency, sleep-onset latency, REM latency and WASO (see the module docstring).

    Args:
        labels: (W,) predicted class name of each window, or ``"bad"``.
        onset_s: (W,) window onsets in seconds, increasing.
        label_names: the model's classes (must satisfy :func:`is_sleep_model`).
        epoch_s: seconds each window stands for.
    """
    wake = _find(label_names, _WAKE_NAMES)
    rem = _find(label_names, _REM_NAMES)
    if wake is None or rem is None:
        raise ValueError(f"not a sleep model: classes {list(label_names)} lack W or REM")
    labels_arr = np.asarray(list(labels), dtype=object)
    onset_s = np.asarray(onset_s, dtype=np.float64)
    is_sleep = (labels_arr != wake) & (labels_arr != BAD_LABEL)
    recording_min = len(labels_arr) * epoch_s / 60.0
    tst_min = float(is_sleep.sum()) * epoch_s / 60.0
    stats: dict = {
        "recording_min": recording_min,
        "total_sleep_time_min": tst_min,
        "sleep_efficiency_pct": 100.0 * tst_min / recording_min if recording_min > 0 else None,
        "sleep_onset_latency_min": None,
        "rem_latency_min": None,
        "waso_min": None,
    }
    if not is_sleep.any():
        return stats
    first_sleep = int(np.argmax(is_sleep))
    last_sleep = len(is_sleep) - 1 - int(np.argmax(is_sleep[::-1]))
    onset_of_sleep_s = onset_s[first_sleep]
    stats["sleep_onset_latency_min"] = float(onset_of_sleep_s - onset_s[0]) / 60.0
    between = labels_arr[first_sleep : last_sleep + 1]
    stats["waso_min"] = float((between == wake).sum()) * epoch_s / 60.0
    is_rem = labels_arr == rem
    if is_rem.any():
        stats["rem_latency_min"] = float(onset_s[int(np.argmax(is_rem))] - onset_of_sleep_s) / 60.0
    return stats


def recording_summary(
    labels: Sequence[str],
    onset_s: np.ndarray,
    label_names: Sequence[str],
    window_s: float,
    stride_s: float,
) -> dict:
    """``{"n_windows", "n_bad", "epoch_s", "minutes_per_class", "sleep": {...} | None}``."""
    epoch_s = min(float(stride_s), float(window_s))
    labels = list(labels)
    sleep = (
        sleep_statistics(labels, onset_s, label_names, epoch_s)
        if is_sleep_model(label_names) and labels
        else None
    )
    return {
        "n_windows": len(labels),
        "n_bad": labels.count(BAD_LABEL),
        "epoch_s": epoch_s,
        "minutes_per_class": time_per_class(labels, label_names, epoch_s),
        "sleep": sleep,
    }
