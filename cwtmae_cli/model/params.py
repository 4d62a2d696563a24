"""Which parameters take weight decay: shared by the MAE and the classifier (and their optimizer).

As in MAE and timm, biases, norms, learnable tokens and position embeddings are not decayed.
"""

from __future__ import annotations

from torch import nn


def no_weight_decay_names(model: nn.Module) -> set[str]:
    """Names of 0-/1-D parameters (biases, LayerNorm) and of every ``*token*`` / ``*pos_embed``."""
    return {
        name for name, p in model.named_parameters()
        if p.ndim <= 1 or "token" in name.rsplit(".", 1)[-1] or name.endswith("pos_embed")
    }
