"""``ContextClassifier``: the classifier that also sees the neighbouring windows of a recording.

Each of the K windows centred on the classified one goes through the shared per-window encoder;
its patch tokens, averaged, are that window's embedding ``(D,)``. A small transformer (learned
positions ``-K//2 .. K//2``) reads the K embeddings, with the missing neighbours (recording edges,
dropped windows) left out of attention; its output at the centre, through a zero-initialised
projection, is added to every patch token of the centre window before the usual head. At
initialisation the model is therefore exactly the single-window classifier.

Input convention: ``x (B, K, C, L)`` (or ``(B, K, L)``) with a missing neighbour given as a window
of NaN; the centre window (index ``K // 2``) must be present. Batches in this form come from
:class:`cwtmae_cli.data.context.ContextWindows` and pass through the per-window z-score unchanged
(a NaN window stays NaN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from cwtmae_cli.errors import ConfigError, UsageError
from cwtmae_cli.model.classifier import TF_MAE_Classifier
from cwtmae_cli.model.layers import init_weights

# model_config keys of a context model (absent: a single-window classifier, K = 1)
CONTEXT_KEYS = ("context", "context_depth", "context_stride_s")


def check_context_size(context: int, flag: str = "--context") -> int:
    """``context`` when it is an odd whole number >= 1; UsageError otherwise."""
    if isinstance(context, bool) or not isinstance(context, int) or context < 1 \
            or context % 2 == 0:
        raise UsageError(f"{flag} must be an odd number of windows >= 1, got {context!r}")
    return context


def trained_context(model_config: dict[str, Any]) -> int:
    """The number of windows a checkpoint's model was trained to see (1: no context)."""
    return int(model_config.get("context", 1))


def resolve_context(model_config: dict[str, Any], requested: int | None) -> int:
    """The context to run a checkpoint with: its own, or a narrower odd ``requested`` one
    (the outer neighbours are then masked as if missing). UsageError for a wider one."""
    trained = trained_context(model_config)
    if requested is None:
        return trained
    check_context_size(requested)
    if requested > trained:
        raise UsageError(
            f"--context {requested} but the checkpoint was trained with a context of {trained} "
            f"window{'s' if trained != 1 else ''}; give at most {trained} (a narrower context "
            "masks the outer neighbours)"
        )
    return requested


class ContextClassifier(TF_MAE_Classifier):
    """``TF_MAE_Classifier`` plus a sequence model over the K windows around each window.

    Args (besides the classifier's):
        context: K, the odd number of windows seen (the classified one in the middle).
        context_depth: transformer layers over the K window embeddings.
        context_stride_s: seconds between neighbouring windows (the training store's stride):
            recorded so that evaluate and predict find the same neighbours.
    """

    def __init__(self, pretrained_path: str | Path | dict | None, num_classes: int,
                 context: int = 3, context_depth: int = 2, context_stride_s: float | None = None,
                 **classifier_kwargs: Any) -> None:
        try:
            check_context_size(context, flag="context")
        except UsageError as exc:
            raise ConfigError(str(exc)) from None
        if context_stride_s is None or not context_stride_s > 0:
            raise ConfigError(f"context_stride_s must be > 0 seconds, got {context_stride_s!r}")
        super().__init__(pretrained_path, num_classes, **classifier_kwargs)
        D = self.encoder.embed_dim
        self.context_pos_embed = nn.Parameter(torch.zeros(1, context, D))  # (1, K, D)
        self.context_blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(D, self.config["num_heads"], 4 * D, self.config["dropout"],
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(context_depth)
        )
        self.context_norm = nn.LayerNorm(D)
        self.context_out = nn.Linear(D, D)
        for module in (self.context_blocks, self.context_norm, self.context_out):
            module.apply(init_weights)
        nn.init.normal_(self.context_pos_embed, std=0.02)
        # zero: the context starts as no change to the centre window's tokens
        nn.init.zeros_(self.context_out.weight)
        nn.init.zeros_(self.context_out.bias)
        self.context = context
        self.config.update(context=context, context_depth=context_depth,
                           context_stride_s=float(context_stride_s))

    def forward_context(self, centre_tokens: torch.Tensor, embeddings: torch.Tensor,
                        present: torch.Tensor) -> torch.Tensor:
        """Logits from the centre window's patch tokens and the K window embeddings.

        Args:
            centre_tokens: (B, N, D) patch tokens of the classified windows.
            embeddings: (B, K, D) mean patch token of each window (anything where absent).
            present: (B, K) bool, False for a missing neighbour; the centre must be True.

        Returns:
            (B, num_classes) logits.
        """
        h = self.context // 2
        seq = torch.where(present[..., None], embeddings, 0.0) + self.context_pos_embed  # (B,K,D)
        for block in self.context_blocks:
            seq = block(seq, src_key_padding_mask=~present)  # (B, K, D), missing keys ignored
        delta = self.context_out(self.context_norm(seq[:, h]))  # (B, D)
        return self.forward_head(centre_tokens + delta[:, None, :])  # (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Neighbourhoods ``(B, K, C, L)`` or ``(B, K, L)``, NaN windows missing -> logits."""
        if x.dim() == 3:
            x = x.unsqueeze(2)  # (B, K, 1, L)
        if x.shape[1] != self.context:
            raise ValueError(f"expected {self.context} windows per row, got {x.shape[1]}")
        present = torch.isfinite(x).flatten(2).all(dim=2)  # (B, K)
        if not bool(present[:, self.context // 2].all()):
            raise ValueError("the centre window of every row must be present (not NaN)")
        tokens = self.forward_features(x[present])  # (M, N, D), M = present windows
        embeddings = tokens.new_zeros(*present.shape, tokens.shape[-1])  # (B, K, D)
        embeddings[present] = tokens.mean(dim=1)
        flat = torch.cumsum(present.flatten(), 0).view_as(present) - 1  # (B, K) row in tokens
        centre_tokens = tokens[flat[:, self.context // 2]]  # (B, N, D)
        return self.forward_context(centre_tokens, embeddings, present)


def build_classifier(pretrained_path: str | Path | dict | None,
                     **config: Any) -> TF_MAE_Classifier:
    """The classifier a ``model_config`` describes: a ``ContextClassifier`` when it has a
    ``context`` above 1, the single-window ``TF_MAE_Classifier`` otherwise."""
    if int(config.get("context", 1)) > 1:
        return ContextClassifier(pretrained_path, **config)
    plain = {k: v for k, v in config.items() if k not in CONTEXT_KEYS}
    return TF_MAE_Classifier(pretrained_path, **plain)
