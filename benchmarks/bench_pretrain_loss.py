"""Does pretraining lower the MAE loss on a real store? Settings side by side on one held-out batch.

For each setting (``preset:lr:warmup_fraction:batch:steps:mask_mode``) it trains a fresh MAE with
the engine's own pieces (per-window z-scoring, AdamW groups of ``train/optim.py``, the warm-up +
cosine schedule of ``train/schedule.py``, gradient clipping at 1) on the store's train split, and
scores ``loss_spec`` and ``loss_time`` on a fixed batch of validation windows with a fixed masking
seed before training and after it. For reference it prints what predicting zero everywhere
scores on the same masked patches (the target is a z-scored scalogram, so that is about 1.0: a
loss of 1.0 means the masked patches come out flat).

Run: ``python benchmarks/bench_pretrain_loss.py STORE tiny:3e-4:0.05:64:150:random
tiny:2e-3:0.2:64:150:random``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from cwtmae_cli.data.split import SPLIT_CODES
from cwtmae_cli.data.store.loader import WindowDataset
from cwtmae_cli.model import build_mae, standardize_windows
from cwtmae_cli.train.optim import build_optimizer
from cwtmae_cli.train.schedule import WarmupCosine

EVAL_SEED = 1234


def parse_setting(text: str) -> dict:
    preset, lr, warmup, batch, steps, mode = text.split(":")
    return {"preset": preset, "lr": float(lr), "warmup": float(warmup), "batch": int(batch),
            "steps": int(steps), "mask_mode": mode}


@torch.no_grad()
def held_out_losses(model: torch.nn.Module, x: torch.Tensor) -> dict[str, float]:
    """loss_spec, loss_time and the predict-zero loss on the masked patches, fixed masks."""
    model.eval()
    state = torch.random.get_rng_state()
    torch.manual_seed(EVAL_SEED)
    parts = model.forward_with_parts(x)
    torch.random.set_rng_state(state)
    model.train()
    target = model.patchify(parts["imgs"]).pow(2).mean(dim=-1)  # (B, N)
    zero = float((target * parts["mask"]).sum() / parts["mask"].sum().clamp_min(1.0))
    return {"spec": float(parts["loss_spec"]), "time": float(parts["loss_time"]), "zero": zero}


def train(setting: dict, train_set: WindowDataset, x_eval: torch.Tensor, seed: int) -> dict:
    torch.manual_seed(seed)
    model = build_mae(setting["preset"], signal_len=x_eval.shape[1],
                      mask_mode=setting["mask_mode"])
    before = held_out_losses(model, x_eval)
    optimizer = build_optimizer(model, setting["lr"], 0.05)
    steps = setting["steps"]
    schedule = WarmupCosine(optimizer, steps, int(setting["warmup"] * steps), 0.01)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    curve = []
    for step in range(steps):
        positions = np.sort(rng.choice(len(train_set), setting["batch"], replace=False))
        x, _ = train_set.get_batch(positions)
        loss = model.forward_with_parts(standardize_windows(x))["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if (step + 1) % max(1, steps // 5) == 0:
            curve.append((step + 1, held_out_losses(model, x_eval)))
    return {"before": before, "curve": curve, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("settings", nargs="+", help="preset:lr:warmup_fraction:batch:steps:mode")
    parser.add_argument("--eval-windows", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train_set = WindowDataset(args.store, splits=(SPLIT_CODES["train"],))
    val_set = WindowDataset(args.store, splits=(SPLIT_CODES["val"],))
    pick = np.linspace(0, len(val_set) - 1, args.eval_windows).astype(np.int64)
    x_eval = standardize_windows(val_set.get_batch(np.unique(pick))[0])
    print(f"{len(train_set)} train windows; held-out batch of {x_eval.shape[0]} validation windows")
    for text in args.settings:
        out = train(parse_setting(text), train_set, x_eval, args.seed)
        b = out["before"]
        print(f"\n{text}  ({out['seconds']:.0f} s, {args.threads} thread(s))")
        print(f"  step     0  loss_spec {b['spec']:.3f}  loss_time {b['time']:.3f}  "
              f"(predict-zero on the masked patches: {b['zero']:.3f})")
        for step, losses in out["curve"]:
            print(f"  step {step:5d}  loss_spec {losses['spec']:.3f}  "
                  f"loss_time {losses['time']:.3f}")


if __name__ == "__main__":
    main()
