"""Sleep summary statistics on hand-made hypnograms."""

from __future__ import annotations

import numpy as np
import pytest

from cwtmae_cli.evaluate.summary import (
    is_sleep_model,
    recording_summary,
    sleep_statistics,
    time_per_class,
)

SLEEP = ["W", "N1", "N2", "N3", "REM"]


def test_is_sleep_model():
    assert is_sleep_model(SLEEP)
    assert is_sleep_model(["Wake", "NREM", "R"])
    assert not is_sleep_model(["AF", "non-AF"])
    assert not is_sleep_model(["W", "N1"])


def test_statistics_of_a_known_night():
    # 30-s epochs: W W W N1 N2 W N2 REM N2 W   (10 epochs = 5 min)
    labels = ["W", "W", "W", "N1", "N2", "W", "N2", "REM", "N2", "W"]
    onset_s = np.arange(10) * 30.0
    stats = sleep_statistics(labels, onset_s, SLEEP, 30.0)
    assert stats["recording_min"] == pytest.approx(5.0)
    assert stats["total_sleep_time_min"] == pytest.approx(5 * 0.5)
    assert stats["sleep_efficiency_pct"] == pytest.approx(50.0)
    assert stats["sleep_onset_latency_min"] == pytest.approx(1.5)  # first N1 at 90 s
    assert stats["rem_latency_min"] == pytest.approx((210 - 90) / 60)
    assert stats["waso_min"] == pytest.approx(0.5)  # one W between first and last sleep


def test_bad_epochs_are_neither_sleep_nor_wake():
    labels = ["bad", "N2", "bad", "N2"]
    stats = sleep_statistics(labels, np.arange(4) * 30.0, SLEEP, 30.0)
    assert stats["total_sleep_time_min"] == pytest.approx(1.0)
    assert stats["recording_min"] == pytest.approx(2.0)
    assert stats["sleep_onset_latency_min"] == pytest.approx(0.5)
    assert stats["waso_min"] == 0.0 and stats["rem_latency_min"] is None


def test_no_sleep_gives_none_latencies():
    stats = sleep_statistics(["W"] * 4, np.arange(4) * 30.0, SLEEP, 30.0)
    assert stats["total_sleep_time_min"] == 0.0
    assert stats["sleep_onset_latency_min"] is None and stats["rem_latency_min"] is None


def test_time_per_class_and_overlapping_windows():
    minutes = time_per_class(["AF", "AF", "bad", "non-AF"], ["AF", "non-AF"], 30.0)
    assert minutes == {"AF": 1.0, "non-AF": 0.5, "bad": 0.5}
    # Stride 10 s over 30-s windows: each window stands for 10 s.
    summary = recording_summary(["AF"] * 6, np.arange(6) * 10.0, ["AF", "non-AF"], 30.0, 10.0)
    assert summary["epoch_s"] == 10.0 and summary["minutes_per_class"]["AF"] == pytest.approx(1.0)
    assert summary["sleep"] is None


def test_recording_summary_has_sleep_block_for_sleep_models():
    summary = recording_summary(["W", "N2"], np.array([0.0, 30.0]), SLEEP, 30.0, 30.0)
    assert summary["sleep"]["total_sleep_time_min"] == pytest.approx(0.5)
    assert summary["n_windows"] == 2 and summary["n_bad"] == 0
