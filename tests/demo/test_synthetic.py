"""The synthetic Sleep-EDF generator writes real-format files with a plausible, learnable night."""

from __future__ import annotations

import re
from pathlib import Path

import mne
import numpy as np
import pytest
from scipy.signal import welch

from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.demo.synthetic import DESCRIPTIONS, night_codes, write_sleep_edf_dataset

STAGE_OF = {
    "Sleep stage W": "W",
    "Sleep stage 1": "N1",
    "Sleep stage 2": "N2",
    "Sleep stage 3": "N3",
    "Sleep stage 4": "N3",
    "Sleep stage R": "REM",
}


def _epochs(psg: Path, hyp: Path, channel: str = "EEG Fpz-Cz") -> dict[str, np.ndarray]:
    """Stage -> (n_epochs, 3000) of ``channel`` in uV, cut along the hypnogram."""
    eeg_uv = mne.io.read_raw_edf(psg, verbose="error").get_data(picks=[channel])[0] * 1e6
    by_stage: dict[str, list[np.ndarray]] = {}
    for ann in mne.read_annotations(hyp):
        stage = STAGE_OF.get(ann["description"])
        for k in range(int(ann["duration"] // 30)):
            start = int((ann["onset"] + 30 * k) * 100)
            if stage is not None:
                by_stage.setdefault(stage, []).append(eeg_uv[start : start + 3000])
    return {stage: np.stack(rows) for stage, rows in by_stage.items()}


def _band_power(windows: np.ndarray, low_hz: float, high_hz: float) -> float:
    freqs_hz, pxx = welch(windows, fs=100.0, nperseg=256, axis=-1)
    return float(pxx[:, (freqs_hz >= low_hz) & (freqs_hz < high_hz)].sum(axis=1).mean())


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Path]]:
    return write_sleep_edf_dataset(tmp_path_factory.mktemp("sc"), n_subjects=2, minutes=40, seed=3)


def test_files_are_named_and_paired_the_sleep_edf_way(night: list[tuple[Path, Path]]) -> None:
    assert len(night) == 2
    for psg, hyp in night:
        assert re.fullmatch(r"SC4\d\d1E0-PSG\.edf", psg.name)
        assert re.fullmatch(r"SC4\d\d1E[A-Z]-Hypnogram\.edf", hyp.name)
        assert psg.name[:6] == hyp.name[:6]
    assert night[0][0].name[3:5] != night[1][0].name[3:5]  # one subject each
    assert "not real data" in (night[0][0].parent / "SYNTHETIC.txt").read_text()


def test_psg_reads_back_with_mixed_rates(night: list[tuple[Path, Path]]) -> None:
    raw = mne.io.read_raw_edf(night[0][0], verbose="error")
    assert raw.ch_names == ["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "Temp rectal"]
    # per 30-s record: 100 Hz and 1 Hz
    assert list(raw._raw_extras[0]["n_samps"]) == [3000, 3000, 3000, 30]
    assert raw.n_times == 40 * 60 * 100
    *signals_uv, temp = raw.get_data() * np.array([[1e6], [1e6], [1e6], [1.0]])
    for signal_uv in signals_uv:
        assert 5 < signal_uv.std() < 100 and np.isfinite(signal_uv).all()
    assert 35 < temp.mean() < 39


def test_hypnogram_tiles_the_recording(night: list[tuple[Path, Path]]) -> None:
    for psg, hyp in night:
        ann = mne.read_annotations(hyp)
        assert set(ann.description) <= set(DESCRIPTIONS.values())
        assert ann.onset[0] == 0.0
        np.testing.assert_allclose(ann.onset[1:], ann.onset[:-1] + ann.duration[:-1])
        n_samples = mne.io.read_raw_edf(psg, verbose="error").n_times
        assert ann.onset[-1] + ann.duration[-1] == n_samples / 100
        assert np.all(ann.duration % 30 == 0) and np.all(ann.duration > 0)


@pytest.mark.parametrize("minutes", [20, 40, 480])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_night_has_all_stages_and_short_wake_ends(minutes: int, seed: int) -> None:
    codes = night_codes(minutes * 2, np.random.default_rng(seed))
    assert len(codes) == minutes * 2
    assert {"W", "1", "2", "R"} <= set(codes) and {"3", "4"} & set(codes)
    first_sleep = next(i for i, c in enumerate(codes) if c not in "W?")
    last_sleep = max(i for i, c in enumerate(codes) if c not in "W?")
    assert 0 < first_sleep <= 40 and 0 < len(codes) - 1 - last_sleep <= 41  # <= 20 min + "?"
    n3 = [i for i, c in enumerate(codes) if c in "34"]
    rem = [i for i, c in enumerate(codes) if c == "R"]
    assert np.mean(n3) < np.mean(rem)  # deep sleep early, REM late


def test_too_short_a_night_is_refused() -> None:
    with pytest.raises(ValueError, match="10 min"):
        night_codes(10, np.random.default_rng(0))


def test_same_seed_same_bytes_and_subjects_are_stable(tmp_path: Path) -> None:
    a = write_sleep_edf_dataset(tmp_path / "a", n_subjects=1, minutes=15, seed=7)
    b = write_sleep_edf_dataset(tmp_path / "b", n_subjects=2, minutes=15, seed=7)
    c = write_sleep_edf_dataset(tmp_path / "c", n_subjects=1, minutes=15, seed=8)
    for x, y in zip(a[0], b[0], strict=True):
        assert x.read_bytes() == y.read_bytes()
    assert a[0][0].read_bytes() != c[0][0].read_bytes()


def test_stage_spectra_are_stage_typical(night: list[tuple[Path, Path]]) -> None:
    stages = _epochs(*night[0])
    assert set(stages) == {"W", "N1", "N2", "N3", "REM"}
    delta = {s: _band_power(w, 0.5, 2.0) for s, w in stages.items()}
    alpha = {s: _band_power(w, 8.0, 12.0) for s, w in stages.items()}
    theta = {s: _band_power(w, 4.0, 7.5) / _band_power(w, 0.5, 30) for s, w in stages.items()}
    assert delta["N3"] > 10 * delta["W"] and delta["N3"] > 2 * delta["N2"] > 2 * delta["REM"]
    assert alpha["W"] > 10 * alpha["N3"] and alpha["W"] > 3 * alpha["REM"]
    assert theta["N1"] > theta["W"] and theta["REM"] > theta["W"]
    sigma_share = {s: _band_power(w, 11.5, 15) / _band_power(w, 0.5, 30) for s, w in stages.items()}
    assert sigma_share["N2"] > 1.5 * sigma_share["REM"]  # spindles


def test_the_second_eeg_and_the_eog_follow_the_stages(night: list[tuple[Path, Path]]) -> None:
    pz = _epochs(*night[0], channel="EEG Pz-Oz")
    eog = _epochs(*night[0], channel="EOG horizontal")
    fpz = _epochs(*night[0])
    delta = {s: _band_power(w, 0.5, 2.0) for s, w in pz.items()}
    alpha = {s: _band_power(w, 8.0, 12.0) for s, w in pz.items()}
    assert delta["N3"] > 5 * delta["W"] and alpha["W"] > 5 * alpha["N2"]
    assert _band_power(pz["W"], 8.0, 12.0) > _band_power(fpz["W"], 8.0, 12.0)  # occipital alpha
    assert not np.allclose(pz["N2"], fpz["N2"])  # its own signal, not a copy
    # eye movements: steps of ~100 uV within 50 ms in wake and REM; N2 and N3 eyes are still
    # (N3's slow waves picked up from the frontal EEG change far less in 50 ms)
    jumps = {s: np.mean(np.abs(w[:, 5:] - w[:, :-5]).max(axis=1)) for s, w in eog.items()}
    assert jumps["REM"] > 5 * jumps["N2"] and jumps["W"] > 5 * jumps["N2"]
    assert jumps["REM"] > 2.5 * jumps["N3"] and jumps["N1"] < jumps["W"] / 2
    # the frontal slow waves of N3 reach the eye electrodes
    eog_delta = {s: _band_power(w, 0.5, 2.0) for s, w in eog.items()}
    assert eog_delta["N3"] > 3 * eog_delta["N2"]


def test_the_extra_channels_leave_the_first_eeg_as_it_was(night: list[tuple[Path, Path]]) -> None:
    from cwtmae_cli.demo.synthetic import _subject_traits, synthesize_eeg

    rng = np.random.default_rng([3, 0, 1])  # seed 3, subject 0, night 1
    codes = night_codes(80, rng)
    expected = synthesize_eeg(codes, rng, False, _subject_traits(np.random.default_rng([3, 0, 0]),
                                                                 False))
    raw = mne.io.read_raw_edf(night[0][0], verbose="error")
    eeg_uv = raw.get_data(picks=["EEG Fpz-Cz"])[0] * 1e6
    step_uv = np.ptp(expected) / 65535  # EDF's 16-bit resolution over the channel's range
    np.testing.assert_allclose(eeg_uv, expected, atol=step_uv)


def test_without_the_extra_channels_the_rest_of_the_file_is_the_same(tmp_path: Path) -> None:
    full = write_sleep_edf_dataset(tmp_path / "a", n_subjects=1, minutes=15, seed=7)[0][0]
    lean = write_sleep_edf_dataset(tmp_path / "b", n_subjects=1, minutes=15, seed=7,
                                   extra_channels=False)[0][0]
    a, b = (mne.io.read_raw_edf(p, verbose="error") for p in (full, lean))
    assert b.ch_names == ["EEG Fpz-Cz", "Temp rectal"]
    for name in b.ch_names:
        np.testing.assert_array_equal(a.get_data(picks=[name]), b.get_data(picks=[name]))


def test_separable_stages_own_distinct_bands(tmp_path: Path) -> None:
    pairs = write_sleep_edf_dataset(tmp_path, n_subjects=1, minutes=20, seed=0, separable=True)
    stages = _epochs(*pairs[0])
    peaks_hz = {}
    for stage, windows in stages.items():
        freqs_hz, pxx = welch(windows, fs=100.0, nperseg=512, axis=-1)
        peaks_hz[stage] = freqs_hz[pxx.mean(axis=0).argmax()]
    assert peaks_hz["N3"] < 2 < peaks_hz["N1"] < 8 < peaks_hz["W"] < 11.5
    assert 11.5 < peaks_hz["N2"] < 16 < peaks_hz["REM"]


def test_write_edf_round_trips_signal_units_and_annotations(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    signal = np.stack([rng.normal(0, 50, 2000), rng.normal(0.2, 0.5, 2000)])  # (2, 2000)
    path = write_edf(
        tmp_path / "x.edf",
        signal,
        200.0,
        ["EEG C3", "ECG"],
        units=["uV", "mV"],
        annotations=[(1.0, 2.0, "event A"), (5.5, 0.0, "event B")],
    )
    raw = mne.io.read_raw_edf(path, verbose="error")
    assert raw.ch_names == ["EEG C3", "ECG"] and raw.info["sfreq"] == 200.0
    np.testing.assert_allclose(raw.get_data()[0] * 1e6, signal[0], atol=0.01)
    np.testing.assert_allclose(raw.get_data()[1] * 1e3, signal[1], atol=1e-4)
    assert list(raw.annotations.description) == ["event A", "event B"]
    np.testing.assert_allclose(raw.annotations.onset, [1.0, 5.5])


def test_write_bdf_round_trips_with_24_bit_precision(tmp_path: Path) -> None:
    signal = np.stack([np.sin(np.arange(512) / 7) * 300, np.linspace(-1e-3, 2e-3, 512)])
    path = write_edf(tmp_path / "x.bdf", signal, 256, ["Fz", "Cz"], units="uV")
    raw = mne.io.read_raw_bdf(path, verbose="error")
    assert raw.ch_names == ["Fz", "Cz"] and raw.n_times == 512
    np.testing.assert_allclose(raw.get_data()[0] * 1e6, signal[0], atol=1e-3)
    with pytest.raises(ValueError, match="EDF\\+"):
        write_edf(tmp_path / "y.bdf", signal, 256, ["Fz", "Cz"], annotations=[(0, 1, "a")])


def test_write_edf_rejects_mismatched_channels(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="same channels"):
        write_edf(tmp_path / "z.edf", np.zeros((2, 100)), 100, ["only one"])


def test_write_edf_cuts_records_for_any_whole_length(tmp_path: Path) -> None:
    signal = np.random.default_rng(1).normal(0, 30, size=(1, 6000))  # 23.4375 s at 256 Hz
    raw = mne.io.read_raw_edf(write_edf(tmp_path / "a.edf", signal, 256, ["EEG"]), verbose="error")
    assert raw.n_times == 6000 and raw.info["sfreq"] == 256
    np.testing.assert_allclose(raw.get_data()[0] * 1e6, signal[0], atol=0.01)
    with pytest.raises(ValueError, match="whole number of seconds"):
        write_edf(tmp_path / "b.edf", signal[:, :1001], 360, ["ECG"])


def test_write_edf_refuses_values_its_header_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="smaller unit"):
        write_edf(tmp_path / "v.edf", np.linspace(-3e-6, 3e-6, 100)[None], 100, ["EEG"], units="V")
