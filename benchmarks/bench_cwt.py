"""Benchmark of the CWT views transform on the CPU (2 threads).

64 windows x 3 views x 64 scales x 3000 samples, in one run:

* ours: ``cwtmae_cli.model.cwt_wrap`` (batched rfft -> multiply by cached spectra -> irfft);
* seed: the seed's method, a direct ``conv1d`` of the truncated Ricker kernels (written here);
* pywt: ``pywt.cwt(..., "mexh", method="fft")`` on the same views and scales;
* the encoder's input, the per-(sample, view) z-scored scalogram, three ways: ours in one pass
  (``normalized_cwt``: the moments from the views' spectra, the z-score folded into the inverse
  FFT), ours followed by a z-score pass (``normalize_scalogram``), and the seed's method followed
  by that z-score pass.

The seed's code is not in this repository: "seed" is the seed's method written here (direct
convolution of the truncated kernels), with our odd kernel length (631 taps; the seed's 630-tap
even kernel costs the same).

Prints windows/s of each, our speed-up over the others (the z-scored rows against the one-pass
row), the largest relative error (``max |y - y_ref| / max |y_ref|`` per window and view) against
a float64 direct convolution (z-scored in float64 for the z-scored rows), and the load average
before and after: on a shared machine only side-by-side ratios mean something.
Run: ``python benchmarks/bench_cwt.py [--repeats 3] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from cwtmae_cli.model import cwt_wrap
from cwtmae_cli.model.cwt import normalize_scalogram, signal_views
from cwtmae_cli.model.scalogram import normalized_cwt

N_WINDOWS, N_SCALES, N_SAMPLES = 64, 64, 3000
LOWEST_SCALE, SCALE_STEP = 0.1, 1.0


def seed_kernels(dtype: torch.dtype) -> torch.Tensor:
    """Truncated Ricker kernels as the seed builds them: ``(S, 1, n)``, ``n`` odd."""
    scales = LOWEST_SCALE + SCALE_STEP * torch.arange(N_SCALES, dtype=torch.float64)  # (S,)
    n = int(np.ceil(min(10 * float(scales[-1]), N_SAMPLES) - 1e-9))
    n += 1 - n % 2
    t = torch.arange(n, dtype=torch.float64) - (n - 1) / 2  # (n,)
    s = scales[:, None]  # (S, 1)
    amp = 2.0 / (torch.sqrt(3.0 * s) * np.pi**0.25)
    psi = amp * (1 - t**2 / s**2) * torch.exp(-(t**2) / (2 * s**2))  # (S, n)
    return psi[:, None, :].to(dtype)  # (S, 1, n)


def seed_cwt(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Direct "same" convolution of the three views: ``(B, L)`` -> ``(B, 3, S, L)``."""
    views = signal_views(x.to(kernels.dtype))  # (B, 3, L)
    B, V, L = views.shape
    out = F.conv1d(views.reshape(B * V, 1, L), kernels, padding=kernels.shape[-1] // 2)
    return out.reshape(B, V, -1, L)  # (B, 3, S, L)


def pywt_cwt(x: torch.Tensor) -> np.ndarray:
    """PyWavelets' FFT CWT with the Mexican hat at the same scales: ``(S, B, 3, L)``."""
    import pywt

    views = signal_views(x).numpy()  # (B, 3, L)
    scales = LOWEST_SCALE + SCALE_STEP * np.arange(N_SCALES)
    coeffs, _ = pywt.cwt(views, scales, "mexh", method="fft", axis=-1)
    return coeffs


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best wall seconds and best process CPU seconds (all threads) of ``repeats`` calls.

    The minimum is the least disturbed run; CPU seconds are reported too because a shared
    machine inflates wall time unevenly.
    """
    fn()  # warm-up: caches, allocator, FFT plans
    walls, cpus = [], []
    for _ in range(repeats):
        wall0, cpu0 = time.perf_counter(), _cpu_s()
        fn()
        walls.append(time.perf_counter() - wall0)
        cpus.append(_cpu_s() - cpu0)
    return min(walls), min(cpus)


def max_rel_error(y: torch.Tensor, ref: torch.Tensor) -> float:
    """Largest ``max |y - ref| / max |ref|`` over windows and views of ``(B, 3, S, L)``."""
    err = (y.double() - ref).abs().amax(dim=(-2, -1))  # (B, 3)
    return float((err / ref.abs().amax(dim=(-2, -1))).max())


def synthetic_eeg(seed: int = 0) -> torch.Tensor:
    """64 windows of EEG-like float32 signals: random walk + rhythms + white noise, in uV."""
    rng = np.random.default_rng(seed)
    t_s = np.arange(N_SAMPLES) / 100.0
    walk = np.cumsum(rng.normal(size=(N_WINDOWS, N_SAMPLES)), axis=1)
    freqs_hz = rng.uniform(0.5, 30.0, size=(N_WINDOWS, 4, 1))
    rhythms = (np.sin(2 * np.pi * freqs_hz * t_s) * rng.uniform(5, 40, (N_WINDOWS, 4, 1))).sum(1)
    return torch.from_numpy(walk + rhythms + 5 * rng.normal(size=walk.shape)).float()


def _zscored(y: torch.Tensor) -> torch.Tensor:
    std, mean = torch.std_mean(y, dim=(-2, -1), keepdim=True, correction=0)
    return (y - mean) / std


def measure(x: torch.Tensor, repeats: int) -> list[tuple[str, tuple[float, float], float]]:
    """(name, (wall s, cpu s), max rel err) of every method, in the order printed."""
    kernels32 = seed_kernels(torch.float32)
    scales = (N_SCALES, LOWEST_SCALE, SCALE_STEP)
    ref = seed_cwt(x.double(), seed_kernels(torch.float64))  # float64 direct convolution
    ref_z = _zscored(ref)
    return [
        ("ours (rfft, cached spectra)", timed(lambda: cwt_wrap(x, *scales), repeats),
         max_rel_error(cwt_wrap(x, *scales), ref)),
        ("seed (direct conv1d)", timed(lambda: seed_cwt(x, kernels32), repeats),
         max_rel_error(seed_cwt(x, kernels32), ref)),
        ("pywt.cwt mexh fft", timed(lambda: pywt_cwt(x), repeats), float("nan")),
        ("ours, z-scored in one pass", timed(lambda: normalized_cwt(x, *scales), repeats),
         max_rel_error(normalized_cwt(x, *scales), ref_z)),
        ("ours + z-score pass", timed(
            lambda: normalize_scalogram(cwt_wrap(x, *scales), inplace=True), repeats),
         max_rel_error(normalize_scalogram(cwt_wrap(x, *scales)), ref_z)),
        ("seed + z-score pass", timed(
            lambda: normalize_scalogram(seed_cwt(x, kernels32), inplace=True), repeats),
         max_rel_error(normalize_scalogram(seed_cwt(x, kernels32)), ref_z)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    rows = measure(synthetic_eeg(), args.repeats)
    load_after = os.getloadavg()[0]
    print(f"CWT views: {N_WINDOWS} windows x 3 views x {N_SCALES} scales x {N_SAMPLES} samples, "
          f"{torch.get_num_threads()} threads, best of {args.repeats} after a warm-up; "
          f"load average {load_before:.1f} before, {load_after:.1f} after")
    print(f"{'method':<29}{'wall s':>8}{'windows/s':>11}{'ours is':>9}"
          f"{'cpu s':>8}{'windows/cpu-s':>15}{'ours is':>9}{'max rel err':>13}")
    for i, (name, (wall_s, cpu_s), err) in enumerate(rows):
        err_text = "n/a" if np.isnan(err) else f"{err:.2e}"
        base = rows[3][1] if i >= 3 else rows[0][1]  # like against like
        print(f"{name:<29}{wall_s:>8.3f}{N_WINDOWS / wall_s:>11.1f}{wall_s / base[0]:>8.1f}x"
              f"{cpu_s:>8.3f}{N_WINDOWS / cpu_s:>15.1f}{cpu_s / base[1]:>8.1f}x{err_text:>13}")


if __name__ == "__main__":
    main()
