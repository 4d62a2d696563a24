"""The generated nights' horizontal EOG: eye movements by sleep stage on a noisy background.

Saccades in wake, bursts of rapid eye movements in REM, slow rolling movements in N1, still eyes
in N2 and N3, where the eye electrodes pick up the frontal slow waves instead.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from cwtmae_cli.demo.noise import pink_noise

# Eye movements per stage code: (per second, uV, rise s, hold s)
EYE_MOVEMENTS = {
    "W": (0.4, 90.0, 0.04, 0.8),
    "?": (0.4, 90.0, 0.04, 0.8),
    "R": (0.9, 110.0, 0.05, 0.4),
    "1": (0.08, 70.0, 1.2, 1.5),
    "M": (0.5, 150.0, 0.05, 0.5),
}
# Share of the frontal EEG below 2 Hz the eye electrodes pick up: the slow waves of N3
PICKUP = {"3": 0.5, "4": 0.5}
PICKUP_OTHER = 0.15
PICKUP_BELOW_HZ = 2.0


def eye_movement(n: int, rise_s: float, hold_s: float, fs_hz: float) -> np.ndarray:
    """A conjugate movement of n samples: a smooth step of height 1 after ``rise_s``, held for
    ``hold_s``, and back."""
    t_s = np.arange(n) / fs_hz
    width_s = rise_s / 4
    up = 0.5 * (1 + np.tanh((t_s - rise_s) / width_s))
    down = 0.5 * (1 + np.tanh((t_s - rise_s - hold_s) / width_s))
    return up - down


def _slow_part(signal: np.ndarray, fs_hz: float) -> np.ndarray:
    spectrum = scipy.fft.rfft(signal)
    spectrum[np.fft.rfftfreq(signal.size, d=1.0 / fs_hz) > PICKUP_BELOW_HZ] = 0
    return scipy.fft.irfft(spectrum, signal.size)


def synthesize_eog(codes: list[str], frontal_uv: np.ndarray, rng: np.random.Generator,
                   fs_hz: float, epoch_s: float) -> np.ndarray:
    """Horizontal EOG in uV, ``(len(codes) * epoch samples,)``: eye movements per stage
    (``EYE_MOVEMENTS``, left or right at random), the slow part of ``frontal_uv`` picked up
    (``PICKUP``) and 1/f noise."""
    per_epoch = int(round(epoch_s * fs_hz))
    n = len(codes) * per_epoch
    pickup = np.repeat([PICKUP.get(c, PICKUP_OTHER) for c in codes], per_epoch)
    eog = 4.0 * pink_noise(n, rng, 1.0, fs_hz, direct=True)
    eog += pickup * _slow_part(frontal_uv[:n], fs_hz)
    for e, code in enumerate(codes):
        rate_hz, amp_uv, rise_s, hold_s = EYE_MOVEMENTS.get(code, (0.0, 0.0, 0.0, 0.0))
        for _ in range(rng.poisson(rate_hz * epoch_s)):
            held_s = rng.uniform(0.5, 1.5) * hold_s
            wave = eye_movement(int((2 * rise_s + held_s) * fs_hz) + 1, rise_s, held_s, fs_hz)
            start = e * per_epoch + int(rng.integers(0, per_epoch))
            stop = min(start + wave.size, n)
            size_uv = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5) * amp_uv
            eog[start:stop] += size_uv * wave[: stop - start]
    return eog
