"""``TF_MAE_Classifier``: the pretrained CWT-MAE-RoPE encoder plus a classification head.

The decoder is never built; the encoder runs unmasked (``mask_ratio = 0``); the CLS token is dropped
and the patch tokens ``(B, N, D)`` go to the head (latent-reasoning "CoT" or residual MLP).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cwtmae_cli.errors import ConfigError
from cwtmae_cli.model.encoder import CWTEncoder
from cwtmae_cli.model.heads import LatentReasoningHead, ResidualMLPHead
from cwtmae_cli.model.layers import init_weights
from cwtmae_cli.model.params import no_weight_decay_names
from cwtmae_cli.model.pretrained import adapt_encoder_state, read_model_config, read_state_dict

ENCODER_DEFAULTS: dict[str, Any] = {
    name: p.default for name, p in inspect.signature(CWTEncoder.__init__).parameters.items()
    if name != "self"
}
# MAE constructor arguments that only concern pretraining: accepted, then dropped
PRETRAINING_ONLY = frozenset({"decoder_embed_dim", "decoder_depth", "decoder_num_heads",
                              "decoder_mlp_ratio", "mask_ratio", "mask_mode", "time_loss_weight"})
# head arguments a fine-tuned checkpoint's model_config carries: not encoder arguments
HEAD_KEYS = frozenset({"num_classes", "use_cot", "num_reasoning_tokens", "num_res_blocks",
                       "hidden_dim", "dropout"})


def _encoder_config(source_config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    config = dict(ENCODER_DEFAULTS)
    for origin, values, ignored in (("checkpoint model_config", source_config, HEAD_KEYS),
                                    ("encoder_kwargs", overrides, frozenset())):
        unknown = sorted(set(values) - set(ENCODER_DEFAULTS) - PRETRAINING_ONLY - ignored)
        if unknown:
            raise ConfigError(f"unknown model argument(s) in {origin}: {', '.join(unknown)}; "
                              f"expected some of {', '.join(ENCODER_DEFAULTS)}")
        config.update({k: v for k, v in values.items() if k in ENCODER_DEFAULTS})
    return config


class TF_MAE_Classifier(nn.Module):  # noqa: N801 - the seed's public name
    """Encoder + head; ``.config`` holds the encoder and head arguments (not the weights' path).

    Args:
        pretrained_path: checkpoint folder (``model.safetensors``, ``meta.json``), ``.safetensors``
            file, MAE state dict, or None for random weights. A folder's ``meta.json``
            ``model_config`` supplies encoder arguments not given in ``encoder_kwargs``.
        num_classes: number of output logits.
        use_cot: latent-reasoning head if True, residual-MLP head if False.
        encoder_kwargs: CWT_MAE_RoPE arguments (pretraining-only ones are ignored).
    """

    def __init__(self, pretrained_path: str | Path | dict | None, num_classes: int,
                 use_cot: bool = True, num_reasoning_tokens: int = 8, num_res_blocks: int = 2,
                 hidden_dim: int = 512, dropout: float = 0.1, **encoder_kwargs: Any) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}")
        source_config = read_model_config(pretrained_path) if pretrained_path is not None else {}
        enc_config = _encoder_config(source_config, encoder_kwargs)
        # read the weights before building anything, so a bad path fails fast
        state = read_state_dict(pretrained_path) if pretrained_path is not None else None
        self.config: dict[str, Any] = {
            **enc_config, "num_classes": num_classes, "use_cot": bool(use_cot),
            "num_reasoning_tokens": num_reasoning_tokens, "num_res_blocks": num_res_blocks,
            "hidden_dim": hidden_dim, "dropout": dropout,
        }
        self.encoder = CWTEncoder(**enc_config)
        D = self.encoder.embed_dim
        if use_cot:
            self.head: nn.Module = LatentReasoningHead(D, num_classes, enc_config["num_heads"],
                                                       num_reasoning_tokens, dropout)
        else:
            self.head = ResidualMLPHead(D, num_classes, hidden_dim, num_res_blocks, dropout)
        self.apply(init_weights)
        self.encoder.init_tokens()
        if use_cot:
            nn.init.normal_(self.head.reasoning_tokens, std=0.02)
        self.num_layers = self.encoder.depth + 2
        if state is not None:
            self.load_encoder(state, origin=str(pretrained_path)
                              if not isinstance(pretrained_path, dict) else None)

    def load_encoder(self, source: str | Path | dict[str, torch.Tensor],
                     origin: str | None = None) -> None:
        """Load encoder weights strictly (CheckpointError names bad keys); fits pos_embed."""
        if origin is None:
            origin = "the given state dict" if isinstance(source, dict) else str(source)
        state = adapt_encoder_state(read_state_dict(source), self.encoder.state_dict(),
                                    (self.encoder.grid_h, self.encoder.grid_w), origin)
        self.encoder.load_state_dict(state, strict=True)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Windows ``(B, L)`` or ``(B, 1, L)`` -> patch tokens ``(B, N, D)`` (CLS dropped)."""
        tokens = self.encoder.tokens(x)  # (B, N, D), nothing masked
        return self.encoder(tokens)[:, 1:]  # (B, N, D)

    def forward_head(self, tokens: torch.Tensor) -> torch.Tensor:
        """Patch tokens ``(B, N, D)`` -> logits ``(B, num_classes)``."""
        return self.head(tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Windows ``(B, L)`` -> logits ``(B, num_classes)``."""
        return self.forward_head(self.forward_features(x))

    def no_weight_decay(self) -> set[str]:
        """Parameter names without weight decay: biases, norms, tokens, position embeddings."""
        return no_weight_decay_names(self)

    def layer_id(self, param_name: str) -> int:
        """Layer of a parameter for lr decay: 0 embeddings, i + 1 block i, depth + 1 rest."""
        if param_name.startswith(("encoder.patch_embed", "encoder.cls_token",
                                  "encoder.pos_embed")):
            return 0
        if param_name.startswith("encoder.blocks."):
            return int(param_name.split(".")[2]) + 1
        return self.encoder.depth + 1
