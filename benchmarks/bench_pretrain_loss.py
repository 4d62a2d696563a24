"""Does pretraining lower the MAE loss on a real store? Settings side by side on one held-out batch.

For each setting (``preset:lr:warmup_fraction:batch:steps:mask_mode[:overrides]``, the optional
overrides being model constructor arguments such as ``mask_ratio=0.5,time_loss_weight=4`` or
``patch_size_time=50``) it trains a fresh MAE with
the engine's own pieces (per-window z-scoring, AdamW groups of ``train/optim.py``, the warm-up +
cosine schedule of ``train/schedule.py``, gradient clipping at 1) on the store's train split, and
scores ``loss_spec`` and ``loss_time`` on a fixed batch of validation windows with a fixed masking
seed before training and after it. For reference it prints what predicting zero everywhere
scores on the same masked patches (the target is a z-scored scalogram, so that is about 1.0: a
loss of 1.0 means the masked patches come out flat).

A lower loss is not yet better features. ``--probe-windows N`` also scores the encoder as a
frozen feature extractor, before and after training: the mean of its patch tokens and its CLS
token (nothing masked) for ``N`` labelled train windows fit a class-balanced logistic regression
that is scored on ``N`` labelled validation windows (macro-F1, kappa, and with
``--score-classes N,A,O`` the mean F1 of those classes, the CinC 2017 challenge score).

Run: ``python benchmarks/bench_pretrain_loss.py STORE tiny:3e-4:0.05:64:150:random
tiny:2e-3:0.2:64:150:random:mask_ratio=0.5 --probe-windows 600 --score-classes N,A,O``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from cwtmae_cli.data.split import SPLIT_CODES
from cwtmae_cli.data.store.loader import WindowDataset
from cwtmae_cli.metrics import classification_metrics
from cwtmae_cli.model import build_mae, standardize_windows
from cwtmae_cli.train.optim import build_optimizer
from cwtmae_cli.train.schedule import WarmupCosine

EVAL_SEED = 1234


def _number(text: str) -> int | float:
    """``"50"`` -> 50, ``"0.5"`` / ``"4e-1"`` -> a float."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_setting(text: str) -> dict:
    """``preset:lr:warmup:batch:steps:mode[:key=value,...]`` -> the setting's fields.

    The optional last field holds model constructor overrides (numbers), in ``overrides``.
    """
    fields = text.split(":")
    if len(fields) not in (6, 7):
        raise SystemExit(f"setting {text!r}: expected preset:lr:warmup:batch:steps:mode"
                         "[:key=value,...]")
    preset, lr, warmup, batch, steps, mode = fields[:6]
    overrides = {}
    for item in (fields[6].split(",") if len(fields) == 7 else []):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"setting {text!r}: override {item!r} is not key=value")
        overrides[key.strip()] = _number(value.strip())
    return {"preset": preset, "lr": float(lr), "warmup": float(warmup), "batch": int(batch),
            "steps": int(steps), "mask_mode": mode, "overrides": overrides}


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


@torch.no_grad()
def encoder_features(model: torch.nn.Module, x: torch.Tensor, batch: int = 64) -> np.ndarray:
    """Frozen-encoder features of z-scored windows ``x (B, L)``: mean patch token, then CLS,
    ``(B, 2 D)``; nothing is masked."""
    model.eval()
    out = []
    for start in range(0, x.shape[0], batch):
        imgs = model.encoder.images(x[start:start + batch])
        tokens = model.encoder(model.encoder.embed(imgs))  # (b, 1 + N, D)
        out.append(torch.cat([tokens[:, 1:].mean(dim=1), tokens[:, 0]], dim=1))
    model.train()
    return torch.cat(out).numpy()


def probe_scores(features: tuple[np.ndarray, np.ndarray], labels: tuple[np.ndarray, np.ndarray],
                 label_names: list[str], score_classes: list[str]) -> dict[str, float]:
    """Fit a class-balanced logistic regression on the first features/labels, score the second:
    macro-F1, kappa and (when ``score_classes`` is given) the mean F1 of those classes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(
        class_weight="balanced", max_iter=2000))
    probe.fit(features[0], labels[0])
    report = classification_metrics(labels[1], probe.predict(features[1]), label_names)
    out = {"macro_f1": report["summary"]["macro_f1"], "kappa": report["summary"]["cohen_kappa"]}
    if score_classes:
        f1 = {row["label"]: row["f1"] for row in report["per_class"]}
        out["score"] = float(np.mean([f1[name] for name in score_classes]))
    return out


def evaluate(model: torch.nn.Module, x_eval: torch.Tensor, probe: dict | None) -> dict:
    """Held-out losses, plus the frozen-feature probe's scores when ``probe`` is set."""
    out = held_out_losses(model, x_eval)
    if probe is not None:
        features = (encoder_features(model, probe["x"][0]), encoder_features(model, probe["x"][1]))
        out["probe"] = probe_scores(features, probe["y"], probe["label_names"],
                                    probe["score_classes"])
    return out


def train(setting: dict, train_set: WindowDataset, x_eval: torch.Tensor, seed: int,
          probe: dict | None = None) -> dict:
    torch.manual_seed(seed)
    model = build_mae(setting["preset"], signal_len=x_eval.shape[1],
                      mask_mode=setting["mask_mode"], **setting.get("overrides", {}))
    before = evaluate(model, x_eval, probe)
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
    seconds = time.perf_counter() - start
    after = evaluate(model, x_eval, probe) if probe is not None else None
    return {"before": before, "curve": curve, "after": after, "seconds": seconds,
            "config": model.config}


def probe_windows(store: str, n_windows: int, score_classes: list[str]) -> dict:
    """``n_windows`` labelled windows each of the train and the validation split, spread evenly
    over the split (z-scored), for :func:`probe_scores`."""
    xs, ys = [], []
    for split in ("train", "val"):
        labelled = WindowDataset(store, splits=(SPLIT_CODES[split],), labelled_only=True)
        pick = np.unique(np.linspace(0, len(labelled) - 1, n_windows).astype(np.int64))
        x, y = labelled.get_batch(pick)
        xs.append(standardize_windows(x))
        ys.append(y.numpy())
    missing = [name for name in score_classes if name not in labelled.label_names]
    if missing:
        raise SystemExit(f"--score-classes: {', '.join(missing)} not among the store's labels "
                         f"({', '.join(labelled.label_names)})")
    return {"x": tuple(xs), "y": tuple(ys), "label_names": labelled.label_names,
            "score_classes": score_classes}


def probe_line(scores: dict[str, float]) -> str:
    text = f"probe macro-F1 {scores['macro_f1']:.3f}  kappa {scores['kappa']:.3f}"
    return text + (f"  score {scores['score']:.3f}" if "score" in scores else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("settings", nargs="+", help="preset:lr:warmup_fraction:batch:steps:mode")
    parser.add_argument("--eval-windows", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--probe-windows", type=int, default=0,
                        help="labelled windows per split for the frozen-feature probe (0: none)")
    parser.add_argument("--score-classes", default="",
                        help="comma-separated classes whose mean probe F1 is printed as score")
    args = parser.parse_args()
    settings = [parse_setting(text) for text in args.settings]
    score_classes = [c.strip() for c in args.score_classes.split(",") if c.strip()]
    torch.set_num_threads(args.threads)
    train_set = WindowDataset(args.store, splits=(SPLIT_CODES["train"],))
    val_set = WindowDataset(args.store, splits=(SPLIT_CODES["val"],))
    pick = np.linspace(0, len(val_set) - 1, args.eval_windows).astype(np.int64)
    x_eval = standardize_windows(val_set.get_batch(np.unique(pick))[0])
    print(f"{len(train_set)} train windows; held-out batch of {x_eval.shape[0]} validation windows")
    probe = (probe_windows(args.store, args.probe_windows, score_classes)
             if args.probe_windows else None)
    for text, setting in zip(args.settings, settings, strict=True):
        out = train(setting, train_set, x_eval, args.seed, probe)
        b = out["before"]
        print(f"\n{text}  ({out['seconds']:.0f} s, {args.threads} thread(s))")
        print(f"  step     0  loss_spec {b['spec']:.3f}  loss_time {b['time']:.3f}  "
              f"(predict-zero on the masked patches: {b['zero']:.3f})")
        for step, losses in out["curve"]:
            print(f"  step {step:5d}  loss_spec {losses['spec']:.3f}  "
                  f"loss_time {losses['time']:.3f}")
        if probe is not None:
            print(f"  before  {probe_line(b['probe'])}")
            print(f"  after   {probe_line(out['after']['probe'])}")


if __name__ == "__main__":
    main()
