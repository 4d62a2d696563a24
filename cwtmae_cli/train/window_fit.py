"""Fine-tuning on windows of another length or rate than the pretraining's.

The encoder's patch grid follows the window: ``signal_len / patch_size_time`` time columns. A
pretrained position embedding is interpolated to the new grid when the classifier loads it
(``model/pretrained.py``), so a 30-s, 100-Hz encoder fine-tunes on 10-s ECG at 300 Hz (3000
samples again) or at 250 Hz (2500 samples, 25 columns instead of 30); what cannot be done is a
window that is not a whole number of patches.
"""

from __future__ import annotations

from typing import Any

from cwtmae_cli.errors import ConfigError


def _seconds(n_samples: int, pre: dict[str, Any]) -> str:
    fs_hz, window_s = pre.get("fs_hz"), pre.get("window_s")
    return f" ({window_s:g} s at {fs_hz:g} Hz)" if fs_hz and window_s else ""


def pretrained_window_note(pretrained_meta: dict[str, Any], fs_hz: float, window_s: float,
                           n_samples: int) -> str | None:
    """What fine-tuning on windows of ``n_samples`` does to a pretrained encoder: None when its
    windows were the same length, else a note naming both grids; ConfigError when
    ``n_samples`` is not a whole number of the encoder's patches."""
    config = pretrained_meta.get("model_config", {})
    pre = pretrained_meta.get("preprocessing", {})
    patch, source_len = int(config["patch_size_time"]), int(config["signal_len"])
    here = {"fs_hz": fs_hz, "window_s": window_s}
    if n_samples % patch:
        shorter, longer = n_samples - n_samples % patch, n_samples - n_samples % patch + patch
        raise ConfigError(
            f"the store's windows have {n_samples} samples{_seconds(n_samples, here)} but the "
            f"pretrained encoder cuts time into patches of {patch}; prepare windows of a multiple "
            f"of {patch} samples (e.g. {shorter} or {longer} at {fs_hz:g} Hz) or at another rate"
        )
    if n_samples == source_len:
        return _same_grid_other_rate(n_samples, patch, pre, here)
    rows = int(config["cwt_scales"]) // int(config["patch_size_freq"])
    return (
        f"fine-tuning on {n_samples}-sample windows{_seconds(n_samples, here)}; the encoder was "
        f"pretrained on {source_len}{_seconds(source_len, pre)}: its position embedding is "
        f"interpolated from {rows} x {source_len // patch} to {rows} x {n_samples // patch} "
        "patches"
    )


def _same_grid_other_rate(n_samples: int, patch: int, pre: dict[str, Any],
                          here: dict[str, Any]) -> str | None:
    """None when the rates agree (or the pretraining's is not recorded), else a note: the patch
    grid is the same, but each patch and wavelet scale means another time span."""
    source_fs, fs_hz = pre.get("fs_hz"), here.get("fs_hz")
    if not source_fs or not fs_hz or abs(float(source_fs) - float(fs_hz)) < 1e-9:
        return None
    return (
        f"fine-tuning on {n_samples}-sample windows{_seconds(n_samples, here)}; the encoder was "
        f"pretrained on {n_samples}{_seconds(n_samples, pre)}: the same patch grid, so nothing "
        f"is interpolated, but a patch spans {patch / float(fs_hz):.3g} s here against "
        f"{patch / float(source_fs):.3g} s in pretraining, and each wavelet scale stands for "
        f"{float(fs_hz) / float(source_fs):.3g} times the frequency it had there"
    )
