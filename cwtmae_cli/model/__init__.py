"""CWT-MAE-RoPE: Ricker-scalogram masked autoencoder with rotary positions, and its classifier."""

from __future__ import annotations

from cwtmae_cli.model.classifier import TF_MAE_Classifier
from cwtmae_cli.model.cwt import cwt_wrap, standardize_windows
from cwtmae_cli.model.mae import CWT_MAE_RoPE
from cwtmae_cli.model.presets import PRESETS, build_mae, preset_config

__all__ = [
    "CWT_MAE_RoPE",
    "PRESETS",
    "TF_MAE_Classifier",
    "build_mae",
    "cwt_wrap",
    "preset_config",
    "standardize_windows",
]
