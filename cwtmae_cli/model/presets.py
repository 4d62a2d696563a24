"""Named model sizes for the CLI (``--model tiny|small|base``).

``base`` is the seed's default (95,618,954 parameters). ``tiny`` trains a few hundred steps on a
laptop CPU in minutes and is what tests across the project use; ``small`` sits in between.
Parameter counts and FLOPs per window are listed in ``docs/model.md``.
"""

from __future__ import annotations

from typing import Any

from cwtmae_cli.errors import ConfigError

PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "signal_len": 3000, "cwt_scales": 32, "patch_size_time": 100, "patch_size_freq": 8,
        "embed_dim": 64, "depth": 2, "num_heads": 4,
        "decoder_embed_dim": 64, "decoder_depth": 1, "decoder_num_heads": 4,
    },
    "small": {
        "signal_len": 3000, "cwt_scales": 64, "patch_size_time": 50, "patch_size_freq": 4,
        "embed_dim": 384, "depth": 6, "num_heads": 6,
        "decoder_embed_dim": 256, "decoder_depth": 4, "decoder_num_heads": 8,
    },
    "base": {
        "signal_len": 3000, "cwt_scales": 64, "patch_size_time": 50, "patch_size_freq": 4,
        "embed_dim": 768, "depth": 12, "num_heads": 12,
        "decoder_embed_dim": 512, "decoder_depth": 8, "decoder_num_heads": 16,
    },
}


def preset_config(preset: str = "base", **overrides: Any) -> dict[str, Any]:
    """The constructor kwargs of ``preset`` with ``overrides`` applied (ConfigError if unknown)."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown model preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return {**PRESETS[preset], **overrides}


def build_mae(preset: str = "base", **overrides: Any):
    """A freshly initialised ``CWT_MAE_RoPE`` of the named preset (``overrides`` win)."""
    from cwtmae_cli.model.mae import CWT_MAE_RoPE

    config = preset_config(preset, **overrides)
    try:
        return CWT_MAE_RoPE(**config)
    except TypeError as exc:  # an override that is not a constructor argument
        raise ConfigError(f"bad model argument for preset {preset!r}: {exc}") from exc
