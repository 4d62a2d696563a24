"""Synthetic Sleep-EDF-format recordings: the demo's data and the fixture of other areas' tests.

A generated night is a PSG file (``EEG Fpz-Cz``, ``EEG Pz-Oz`` and ``EOG horizontal`` at 100 Hz
and ``Temp rectal`` at 1 Hz, 30-s data records, as in Sleep-EDF Expanded; the demo writes only the
first EEG and the temperature) and an EDF+ annotation-only hypnogram
(``Sleep stage W/1/2/3/4/R/?``, ``Movement time``) named the Sleep-EDF way: ``SC4ssNE0-PSG.edf``
with ``SC4ssNEx-Hypnogram.edf`` (``ss`` subject, ``N`` night, ``x`` a scorer letter; pairs share
their first 6 characters).

The night follows cycles of N1 -> N2 -> N3 -> N2 -> REM with wake at both ends, more N3 early and
more REM late. Each stage has its typical content on a 1/f background: alpha for W, theta for N1,
spindles and K-complexes for N2, high-amplitude delta for N3, low-voltage theta with sawtooth waves
for REM; subjects differ in amplitude, peak frequencies and background. ``separable=True`` gives
every stage its own clean frequency band instead, so that a tiny model learns it in seconds.

``EEG Pz-Oz`` is a second EEG of the same stages (more alpha in wake, smaller slow waves: these
are frontal) on its own noise; ``EOG horizontal`` holds saccades in wake, bursts of rapid eye
movements in REM, slow rolling movements in N1, and the frontal slow waves of N3 picked up by the
eye electrodes. Both come from a random stream of their own, so ``EEG Fpz-Cz`` is the same signal
as before they existed.

Files are written by :func:`cwtmae_cli.data.edf_writer.write_edf` (re-exported here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import sawtooth

from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.demo.eog import synthesize_eog
from cwtmae_cli.demo.noise import band_noise, pink_noise

__all__ = ["DESCRIPTIONS", "night_codes", "synthesize_eeg", "synthesize_eog", "write_edf",
           "write_sleep_edf_dataset"]

EPOCH_S = 30.0
EEG_FS_HZ = 100.0
SAMPLES_PER_EPOCH = int(EPOCH_S * EEG_FS_HZ)
DESCRIPTIONS = {
    "W": "Sleep stage W",
    "1": "Sleep stage 1",
    "2": "Sleep stage 2",
    "3": "Sleep stage 3",
    "4": "Sleep stage 4",
    "R": "Sleep stage R",
    "?": "Sleep stage ?",
    "M": "Movement time",
}  # one-letter epoch code -> Sleep-EDF annotation text
_SCORER_LETTERS = "CHJPVA"

# Standard deviation in uV of each continuous band per stage (code), before subject/epoch scaling.
_BANDS = ("bg", "alpha", "theta", "delta", "sigma", "beta")
_REALISTIC = {  # bg alpha theta delta sigma beta
    "W": (10, 15, 3, 4, 0, 5),
    "1": (9, 4, 12, 7, 0, 2),
    "2": (9, 1, 7, 15, 0, 1),
    "3": (9, 0, 5, 38, 0, 0),
    "4": (9, 0, 4, 50, 0, 0),
    "R": (6, 3, 9, 5, 0, 3),
    "?": (10, 12, 3, 4, 0, 5),
    "M": (30, 5, 5, 30, 0, 15),
}
_SEPARABLE = {
    "W": (2, 25, 0, 0, 0, 0),
    "1": (2, 0, 25, 0, 0, 0),
    "2": (2, 0, 0, 0, 25, 0),
    "3": (2, 0, 0, 40, 0, 0),
    "4": (2, 0, 0, 40, 0, 0),
    "R": (2, 0, 0, 0, 0, 25),
    "?": (2, 25, 0, 0, 0, 0),
    "M": (2, 0, 0, 40, 0, 0),
}
# Pz-Oz: occipital alpha stronger in wake, frontal slow waves and K-complexes weaker
_PZ_OZ = {code: (bg, alpha * (1.8 if code in "W?" else 1.0), theta, delta * 0.6, sigma, beta)
          for code, (bg, alpha, theta, delta, sigma, beta) in _REALISTIC.items()}
# Transient events per second: (spindles, K-complexes, sawtooth bursts); realistic nights only.
_EVENT_RATES_HZ = {
    "2": (0.12, 0.05, 0.0),
    "3": (0.03, 0.02, 0.0),
    "4": (0.02, 0.0, 0.0),
    "R": (0.0, 0.0, 0.06),
    "1": (0.0, 0.01, 0.0),
}


def night_codes(n_epochs: int, rng: np.random.Generator) -> list[str]:
    """One Sleep-EDF stage code per 30-s epoch: wake, >= 2 sleep cycles, wake, a final ``?``.

    Wake at each end stays short (<= 20 min), so the usual 30-min wake trimming keeps it all.
    Every cycle is N1, N2, N3, N2, REM; N3 shrinks and REM grows from cycle to cycle.
    """
    if n_epochs < 20:
        raise ValueError(f"a night needs >= 20 epochs of 30 s (10 min); got {n_epochs}")
    wake_start = int(np.clip(round(0.08 * n_epochs), 2, 40))
    wake_end = int(np.clip(round(0.06 * n_epochs), 2, 40))
    n_sleep = n_epochs - wake_start - wake_end - 1
    n_cycles = max(2, round(n_sleep / 180))  # 180 epochs = a 90-min cycle
    bounds = np.linspace(0, n_sleep, n_cycles + 1).round().astype(int)
    codes = ["W"] * wake_start
    for k in range(n_cycles):
        length = int(bounds[k + 1] - bounds[k])
        late = k / (n_cycles - 1)  # 0 for the first cycle, 1 for the last
        jitter = rng.uniform(0.8, 1.2, size=3)
        n1 = max(1, round(0.07 * length * jitter[0]))
        n3 = max(1, round((0.35 - 0.28 * late) * length * jitter[1]))
        rem = max(1, round((0.10 + 0.22 * late) * length * jitter[2]))
        n2 = max(2, length - n1 - n3 - rem)
        n2_first = max(1, round(0.6 * n2))
        n3_codes = ["3"] * n3
        if late < 0.5 and n3 >= 3:  # the deepest middle of early N3 scores as stage 4
            n3_codes[n3 // 3 : n3 - n3 // 3] = ["4"] * (n3 - 2 * (n3 // 3))
        cycle = ["1"] * n1 + ["2"] * n2_first + n3_codes + ["2"] * (n2 - n2_first) + ["R"] * rem
        if k > 0 and rng.random() < 0.5:
            cycle[0] = "W"  # a brief awakening between cycles
        codes += cycle[:length] if len(cycle) >= length else cycle + ["2"] * (length - len(cycle))
    if n_sleep >= 60:
        codes[wake_start + int(rng.integers(n_sleep // 3, 2 * n_sleep // 3))] = "M"
    return codes + ["W"] * wake_end + ["?"]


def _subject_traits(rng: np.random.Generator, separable: bool) -> dict[str, float]:
    if separable:
        return dict(
            gain=1.0,
            alpha=10.0,
            theta=6.0,
            delta=1.2,
            sigma=13.5,
            beta=22.0,
            exponent=1.0,
            epoch_spread=0.05,
        )
    return dict(
        gain=float(rng.lognormal(0.0, 0.2)),
        alpha=rng.uniform(8.5, 11.5),
        theta=rng.uniform(4.8, 7.0),
        delta=rng.uniform(0.8, 1.6),
        sigma=rng.uniform(11.8, 14.2),
        beta=rng.uniform(18.0, 25.0),
        exponent=rng.uniform(0.8, 1.4),
        epoch_spread=0.3,
    )


def _add_events(eeg: np.ndarray, codes: list[str], traits: dict, rng: np.random.Generator) -> None:
    """Adds spindles, K-complexes and sawtooth bursts in place, epoch by epoch."""
    for e, code in enumerate(codes):
        for kind, rate_hz in enumerate(_EVENT_RATES_HZ.get(code, (0.0, 0.0, 0.0))):
            for _ in range(rng.poisson(rate_hz * EPOCH_S)):
                if kind == 0:  # spindle: 0.5-1.5 s of 11-15 Hz under a Hann window
                    t = np.arange(int(rng.uniform(0.5, 1.5) * EEG_FS_HZ)) / EEG_FS_HZ
                    f_hz = traits["sigma"] + rng.uniform(-0.5, 0.5)
                    wave = np.sin(2 * np.pi * f_hz * t) * np.hanning(t.size) * rng.uniform(15, 35)
                elif kind == 1:  # K-complex: sharp negative then slower positive deflection
                    t = np.arange(int(1.2 * EEG_FS_HZ)) / EEG_FS_HZ
                    wave = rng.uniform(60, 120) * (
                        -np.exp(-(((t - 0.3) / 0.1) ** 2))
                        + 0.6 * np.exp(-(((t - 0.7) / 0.18) ** 2))
                    )
                else:  # sawtooth burst: 1-3 s of 2-3 Hz ramps
                    t = np.arange(int(rng.uniform(1.0, 3.0) * EEG_FS_HZ)) / EEG_FS_HZ
                    ramp = sawtooth(2 * np.pi * rng.uniform(2.0, 3.0) * t, width=0.2)
                    wave = ramp * np.hanning(t.size) * rng.uniform(15, 30)
                start = e * SAMPLES_PER_EPOCH + int(rng.integers(0, SAMPLES_PER_EPOCH))
                stop = min(start + wave.size, eeg.size)
                eeg[start:stop] += traits["gain"] * wave[: stop - start]


def synthesize_eeg(
    codes: list[str], rng: np.random.Generator, separable: bool = False, traits: dict | None = None,
    table: dict[str, tuple] | None = None, direct_noise: bool = False,
) -> np.ndarray:
    """EEG in uV, shape (len(codes) * 3000,), at 100 Hz, one 30-s epoch per stage code
    (``table``: band amplitudes per stage, default the Fpz-Cz ones; ``direct_noise``: the
    cheaper noise stream of :mod:`cwtmae_cli.demo.noise`)."""
    traits = traits or _subject_traits(rng, separable)
    table = table or (_SEPARABLE if separable else _REALISTIC)
    n = len(codes) * SAMPLES_PER_EPOCH
    amps = np.array([table[c] for c in codes], dtype=float)  # (E, bands)
    amps *= rng.lognormal(0.0, traits["epoch_spread"], size=amps.shape)
    eeg = np.zeros(n)
    for b, band in enumerate(_BANDS):
        if not amps[:, b].any():
            continue
        if band == "bg":
            carrier = pink_noise(n, rng, traits["exponent"], EEG_FS_HZ, direct_noise)
        else:
            width_hz = 0.4 if band == "delta" else (3.0 if band == "beta" else 1.0)
            carrier = band_noise(n, rng, traits[band], width_hz, EEG_FS_HZ, direct_noise)
        envelope = uniform_filter1d(np.repeat(amps[:, b], SAMPLES_PER_EPOCH), size=100)
        eeg += traits["gain"] * envelope * carrier
    if not separable:
        _add_events(eeg, codes, traits, rng)
    return eeg


def second_channels(codes: list[str], fpz_cz_uv: np.ndarray, rng: np.random.Generator,
                    separable: bool, traits: dict) -> tuple[np.ndarray, np.ndarray]:
    """``EEG Pz-Oz`` and ``EOG horizontal`` in uV for the night of ``codes`` (both (n,))."""
    pz_oz = synthesize_eeg(codes, rng, separable, traits, None if separable else _PZ_OZ,
                           direct_noise=True)
    return pz_oz, synthesize_eog(codes, fpz_cz_uv, rng, EEG_FS_HZ, EPOCH_S)


def _annotations(codes: list[str]) -> list[tuple[float, float, str]]:
    """Runs of equal codes as (onset_s, duration_s, Sleep-EDF text), like Sleep-EDF hypnograms."""
    runs: list[tuple[float, float, str]] = []
    for e, code in enumerate(codes):
        if runs and runs[-1][2] == DESCRIPTIONS[code]:
            onset_s, duration_s, text = runs[-1]
            runs[-1] = (onset_s, duration_s + EPOCH_S, text)
        else:
            runs.append((e * EPOCH_S, EPOCH_S, DESCRIPTIONS[code]))
    return runs


def _write_psg(psg: Path, codes: list[str], rng: np.random.Generator,
               extra_rng: np.random.Generator | None, separable: bool, traits: dict) -> None:
    """One night's PSG: the EEG Fpz-Cz, (from ``extra_rng``, when given) EEG Pz-Oz and EOG
    horizontal, and the rectal temperature at 1 Hz."""
    eeg_uv = synthesize_eeg(codes, rng, separable, traits)
    signals, names = [eeg_uv], ["EEG Fpz-Cz"]
    if extra_rng is not None:
        signals += second_channels(codes, eeg_uv, extra_rng, separable, traits)
        names += ["EEG Pz-Oz", "EOG horizontal"]
    n_s = len(codes) * int(EPOCH_S)
    temp_c = 37.0 + 0.2 * rng.standard_normal() - 0.4 * np.arange(n_s) / n_s
    write_edf(
        psg,
        [*signals, temp_c + 0.01 * rng.standard_normal(n_s)],
        [EEG_FS_HZ] * len(signals) + [1.0],
        [*names, "Temp rectal"],
        units=["uV"] * len(signals) + ["DegC"],
        record_duration_s=EPOCH_S,
    )


def write_sleep_edf_dataset(
    out_dir: Path,
    n_subjects: int = 4,
    minutes: float = 60,
    seed: int = 0,
    separable: bool = False,
    nights_per_subject: int = 1,
    extra_channels: bool = True,
) -> list[tuple[Path, Path]]:
    """Writes Sleep-EDF-format (PSG, hypnogram) pairs into ``out_dir`` and returns them.

    Subject ``s`` night ``N`` depends only on (seed, s, N), so adding subjects keeps the others.
    ``minutes`` is rounded to whole 30-s epochs and must be >= 10. ``extra_channels=False``
    leaves out ``EEG Pz-Oz`` and ``EOG horizontal`` (the rest of the file is the same).
    """
    if not 1 <= n_subjects <= 100 or not 1 <= nights_per_subject <= 9:
        raise ValueError("n_subjects must be 1..100 and nights_per_subject 1..9 (Sleep-EDF names)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_epochs = int(round(minutes * 60 / EPOCH_S))
    pairs = []
    for subject in range(n_subjects):
        traits = _subject_traits(np.random.default_rng([seed, subject, 0]), separable)
        for night in range(1, nights_per_subject + 1):
            rng = np.random.default_rng([seed, subject, night])
            codes = night_codes(n_epochs, rng)
            extra_rng = np.random.default_rng([seed, subject, night, 1]) if extra_channels else None
            stem = f"SC4{subject:02d}{night}E"
            letter = _SCORER_LETTERS[(subject + night) % len(_SCORER_LETTERS)]
            psg = out_dir / f"{stem}0-PSG.edf"
            hyp = out_dir / f"{stem}{letter}-Hypnogram.edf"
            _write_psg(psg, codes, rng, extra_rng, separable, traits)
            write_edf(hyp, [], [], [], annotations=_annotations(codes))
            pairs.append((psg, hyp))
    (out_dir / "SYNTHETIC.txt").write_text(
        "Synthetic recordings generated by cwtmae (cwtmae_cli.demo.synthetic), not real data: "
        f"{n_subjects} subjects x {nights_per_subject} nights, {minutes} min, seed {seed}, "
        f"separable={separable}.\n"
    )
    return pairs
