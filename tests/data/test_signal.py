"""Channel matching, resampling and windowing."""

from __future__ import annotations

import numpy as np
import pytest

from cwtmae_cli.data.readers.channels import match_channel, match_channels
from cwtmae_cli.data.resample import resample, resample_ratio
from cwtmae_cli.data.windows import cut_windows, quality_reasons, window_samples
from cwtmae_cli.errors import ConfigError, DataError

SLEEP_EDF_CHANNELS = [
    "EEG Fpz-Cz",
    "EEG Pz-Oz",
    "EOG horizontal",
    "Resp oro-nasal",
    "EMG submental",
    "Temp rectal",
    "Event marker",
]


def test_channel_matching_is_tolerant_of_prefix_case_and_spaces():
    assert match_channel("Fpz-Cz", SLEEP_EDF_CHANNELS) == 0
    assert match_channel("eeg pz-oz", SLEEP_EDF_CHANNELS) == 1
    assert match_channel("EEGFpz-Cz", SLEEP_EDF_CHANNELS) == 0
    assert match_channel("EOG horizontal", SLEEP_EDF_CHANNELS) == 2
    assert match_channels(["Pz-Oz", "Fpz-Cz"], SLEEP_EDF_CHANNELS) == [1, 0]


def test_missing_channel_lists_the_file_channels():
    with pytest.raises(DataError) as info:
        match_channel("C3-A2", SLEEP_EDF_CHANNELS, "SC4002E0-PSG.edf")
    message = str(info.value)
    assert "no channel `C3-A2` in SC4002E0-PSG.edf" in message
    assert "EEG Fpz-Cz, EEG Pz-Oz" in message
    with pytest.raises(DataError, match="no channel `Cz`"):  # not a whole-word suffix
        match_channel("Cz", SLEEP_EDF_CHANNELS)


def test_ambiguous_channel_is_an_error():
    with pytest.raises(DataError, match="ambiguous.*EEG Fpz-Cz, EOG Fpz-Cz"):
        match_channel("Fpz-Cz", ["EEG Fpz-Cz", "EOG Fpz-Cz"])
    with pytest.raises(DataError, match="twice"):
        match_channels(["Fpz-Cz", "EEG Fpz-Cz"], SLEEP_EDF_CHANNELS)


def test_resample_keeps_the_band_and_removes_aliases():
    fs_in, fs_out, seconds = 360.0, 100.0, 20
    t = np.arange(int(fs_in * seconds)) / fs_in
    inband = np.sin(2 * np.pi * 10 * t)
    alias = np.sin(2 * np.pi * 70 * t)  # above the new Nyquist: would fold onto 30 Hz
    out = resample(np.stack([inband, alias]).astype(np.float32), fs_in, fs_out)
    assert out.dtype == np.float32 and out.shape == (2, int(fs_out * seconds))
    t_out = np.arange(out.shape[1]) / fs_out
    core = slice(200, -200)  # away from the filter's edge transients
    np.testing.assert_allclose(out[0, core], np.sin(2 * np.pi * 10 * t_out)[core], atol=0.01)
    assert np.abs(out[1, core]).max() < 0.01  # 70 Hz attenuated by > 40 dB, no 30 Hz alias
    assert resample_ratio(360, 100) == (5, 18) and resample_ratio(256, 100) == (25, 64)
    same = resample(out, 100.0, 100.0)
    np.testing.assert_array_equal(same, out)


def test_cut_windows_shapes_starts_and_values():
    signal = np.arange(2 * 1000, dtype=np.float32).reshape(2, 1000)  # (C, n)
    windows, start_s = cut_windows(signal, 10.0, 30.0)
    assert windows.shape == (3, 2, 300) and windows.dtype == np.float32
    np.testing.assert_array_equal(start_s, [0.0, 30.0, 60.0])
    np.testing.assert_array_equal(windows[2, 1], signal[1, 600:900])
    windows, start_s = cut_windows(signal, 10.0, 30.0, stride_s=15.0, start_s=2.0)
    np.testing.assert_array_equal(start_s, [2.0, 17.0, 32.0, 47.0, 62.0])
    np.testing.assert_array_equal(windows[3, 0], signal[0, 470:770])
    assert cut_windows(signal[:, :299], 10.0, 30.0)[0].shape == (0, 2, 300)
    with pytest.raises(ConfigError, match="whole number"):
        window_samples(0.015, 100.0)


def test_quality_reasons_flag_nonfinite_and_flat_windows():
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((5, 2, 100)).astype(np.float32)
    windows[1, 0, 7] = np.nan
    windows[2, 1, 3] = np.inf
    windows[3, 1] = 42.0  # a disconnected lead stored as a constant
    windows[4, 0] = 0.0
    assert quality_reasons(windows) == [None, "non-finite", "non-finite", "flat", "flat"]
    assert quality_reasons(windows[:1], flat_ptp=100.0) == ["flat"]
