"""``bench_train.py --compare``: today's path against the plain eager float32 reference.

The reference is the step as the seed's formulas write it, kept here on purpose so that the ratio
is measured, not remembered: RoPE through ``rotate_half`` (a negated, concatenated copy of q and
k), the mask built by a scatter and a gather, the decoder input by two concatenations, the
spectral loss against a patchified copy of the target, AdamW's per-parameter Python loop, the
classifier's patch tokens through the materialised scalogram (never the direct token path), and
no autocast. Both sides run the same model (the same weights, copied), the same batch and the
same configuration, in interleaved pairs whose order alternates; the figure is the median of the
per-pair ratios ``reference time / path time`` (above 1: the path is faster).
"""

from __future__ import annotations

import contextlib
import copy
import statistics
import time
from collections.abc import Callable, Iterator
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F

from cwtmae_cli.evaluate.inference import predict_proba
from cwtmae_cli.model import CWT_MAE_RoPE, TF_MAE_Classifier
from cwtmae_cli.model.rope import rotate_half
from cwtmae_cli.train.config import PretrainConfig
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.engine import Engine
from cwtmae_cli.train.job import TrainJob
from cwtmae_cli.train.optim import param_groups
from cwtmae_cli.train.pretrain import MAEObjective

# the configuration: 192-wide 4-layer encoder, 128-wide 2-layer decoder
ENCODER = dict(embed_dim=192, depth=4, num_heads=3)
DECODER = dict(decoder_embed_dim=128, decoder_depth=2, decoder_num_heads=4)


def _reference_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    if cos.dim() == 3:
        cos, sin = cos[:, None], sin[:, None]
    xf = x.float()
    return (xf * cos + rotate_half(xf) * sin).to(x.dtype)


def _reference_from_noise(noise: torch.Tensor, n_keep: int):
    ids_shuffle = torch.argsort(noise, dim=1, stable=True)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    mask = torch.ones_like(noise)
    mask[:, :n_keep] = 0
    return ids_shuffle[:, :n_keep], torch.gather(mask, 1, ids_restore), ids_restore


def _reference_decoder(self: CWT_MAE_RoPE, latent: torch.Tensor, ids_restore: torch.Tensor):
    x = self.decoder_embed(latent)
    B, n_kept, Dd = x.shape[0], x.shape[1] - 1, x.shape[2]
    masked = self.mask_token.expand(B, ids_restore.shape[1] - n_kept, -1)
    patches = torch.cat([x[:, 1:], masked], dim=1)
    patches = torch.gather(patches, 1, ids_restore[..., None].expand(-1, -1, Dd))
    x = torch.cat([x[:, :1], patches], dim=1) + self.decoder_pos_embed
    gh, gw = self.encoder.grid_h, self.encoder.grid_w
    rope = self.decoder_rope.tables(gh, gw, x.device)
    for block in self.decoder_blocks:
        x = block(x, rope)
    x = self.decoder_norm(x)[:, 1:]
    pred_spec = self.decoder_pred_spec(x)
    columns = F.gelu(self.time_reducer(x.transpose(1, 2).reshape(B, Dd, gh, gw)))
    return pred_spec, self.decoder_pred_time(columns.flatten(2).transpose(1, 2)).reshape(B, -1)


def _reference_loss_spec(self: CWT_MAE_RoPE, imgs, pred_spec, mask):
    per_patch = (pred_spec.float() - self.patchify(imgs)).pow(2).mean(dim=-1)
    return (per_patch * mask).sum() / mask.sum().clamp_min(1.0)


def _reference_optimizer(model, lr, weight_decay, layer_decay=None, betas=(0.9, 0.95)):
    groups = param_groups(model, lr, weight_decay, layer_decay)
    return torch.optim.AdamW(groups, lr=lr, betas=betas, foreach=False)


@contextlib.contextmanager
def reference_path() -> Iterator[None]:
    """Swap the seed-style formulas in for the duration (see the module docstring)."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch("cwtmae_cli.model.layers.apply_rope", _reference_rope))
        stack.enter_context(mock.patch("cwtmae_cli.model.masking._from_noise",
                                       _reference_from_noise))
        stack.enter_context(mock.patch.object(CWT_MAE_RoPE, "forward_decoder",
                                              _reference_decoder))
        stack.enter_context(mock.patch.object(CWT_MAE_RoPE, "forward_loss_spec",
                                              _reference_loss_spec))
        stack.enter_context(mock.patch("cwtmae_cli.train.engine.build_optimizer",
                                       _reference_optimizer))
        yield


class _Windows:
    def __init__(self, x: torch.Tensor) -> None:
        self.x, self.labels = x, np.zeros(len(x), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.x)

    def get_batch(self, positions: np.ndarray):
        idx = torch.as_tensor(np.asarray(positions))
        return self.x[idx], torch.as_tensor(self.labels)[idx]


def _pretrain_step(model: CWT_MAE_RoPE, x: torch.Tensor, precision: str,
                   reference: bool) -> Callable[[], None]:
    config = PretrainConfig(steps=1000, batch_size=len(x), device="cpu", precision=precision)
    job = TrainJob(model=model, objective=MAEObjective(model), train_set=_Windows(x), meta={})
    with reference_path() if reference else contextlib.nullcontext():
        engine = Engine(config, job, DistContext.single(torch.device("cpu")), run=None)
    positions = np.arange(len(x))

    def step() -> None:
        with reference_path() if reference else contextlib.nullcontext():
            engine._train_step(positions)
    return step


def _cot_inference(model: TF_MAE_Classifier, x: torch.Tensor, precision: str,
                   reference: bool) -> Callable[[], None]:
    windows = x.numpy()

    def run() -> None:
        # the reference builds the scalogram as the seed does; today's path may skip it
        # (the direct token path, where it measured faster)
        model.encoder.direct_tokens = False if reference else None
        with reference_path() if reference else contextlib.nullcontext():
            predict_proba(model, len(windows), lambda i: torch.from_numpy(windows[i]),
                          batch_size=len(windows), precision=precision)
    return run


def paired_ratios(reference: Callable[[], None], candidate: Callable[[], None],
                  pairs: int) -> list[float]:
    """``pairs`` interleaved timings (order alternating), one ratio ref/candidate per pair."""
    reference(), candidate()  # warm-up: caches, tables, first-call allocations
    ratios = []
    for i in range(pairs):
        times = {}
        for name, fn in ((("ref", reference), ("new", candidate)) if i % 2 == 0
                         else (("new", candidate), ("ref", reference))):
            start = time.perf_counter()
            fn()
            times[name] = time.perf_counter() - start
        ratios.append(times["ref"] / times["new"])
    return ratios


def compare(pairs: int, precision: str, seed: int = 0) -> list[dict]:
    """Median paired ratios for the pretraining step (batch 8) and CoT inference (batch 32)."""
    torch.manual_seed(seed)
    rows = []
    mae = CWT_MAE_RoPE(**ENCODER, **DECODER)
    x8 = 30.0 * torch.randn(8, mae.config["signal_len"])
    ref = _pretrain_step(copy.deepcopy(mae), x8, "fp32", reference=True)
    new = _pretrain_step(copy.deepcopy(mae), x8, precision, reference=False)
    rows.append(_row("pretraining step, batch 8", precision, paired_ratios(ref, new, pairs)))
    cot = TF_MAE_Classifier(None, num_classes=5, **ENCODER).eval()
    x32 = 30.0 * torch.randn(32, cot.config["signal_len"])
    ref = _cot_inference(cot, x32, "fp32", reference=True)
    new = _cot_inference(cot, x32, precision, reference=False)
    rows.append(_row("CoT inference, batch 32", precision, paired_ratios(ref, new, pairs)))
    return rows


def _row(what: str, precision: str, ratios: list[float]) -> dict:
    return {"what": what, "precision": precision, "pairs": len(ratios),
            "median_ratio": statistics.median(ratios), "min_ratio": min(ratios),
            "max_ratio": max(ratios)}
