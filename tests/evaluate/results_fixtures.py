"""Checkpoints for the results tests, written with the training helper's ``save_checkpoint``.

Imported by ``tests/evaluate`` and ``tests/cli/test_{evaluate,predict}.py`` (pyproject's pytest
``pythonpath`` puts this folder on ``sys.path``).
"""

from __future__ import annotations

from pathlib import Path

import torch

from cwtmae_cli.model import PRESETS, TF_MAE_Classifier, build_mae
from cwtmae_cli.train.checkpoint import save_checkpoint

SLEEP_LABELS = ["W", "N1", "N2", "N3", "REM"]


def preprocessing(fs_hz: float, window_s: float, channel: str, scales: int = 32) -> dict:
    return {
        "fs_hz": fs_hz,
        "window_s": window_s,
        "n_samples": int(round(fs_hz * window_s)),
        "channel": channel,
        "cwt_scales": scales,
        "standardize": "per-window-zscore",
    }


def tiny_classifier(n_classes: int, n_samples: int = 3000, seed: int = 0) -> TF_MAE_Classifier:
    """A randomly initialised ``tiny`` classifier (MLP head) for windows of ``n_samples``."""
    torch.manual_seed(seed)
    kwargs = dict(PRESETS["tiny"]) | {"signal_len": n_samples}
    return TF_MAE_Classifier(None, num_classes=n_classes, use_cot=False, hidden_dim=64, **kwargs)


def save_classifier(
    path: Path,
    model: torch.nn.Module,
    label_names: list[str],
    fs_hz: float = 100.0,
    window_s: float = 30.0,
    channel: str = "EEG Fpz-Cz",
) -> Path:
    """``model`` as a classifier checkpoint folder with the given preprocessing."""
    meta = {
        "kind": "classifier",
        "step": 1,
        "epoch": 1,
        "preset": "tiny",
        "model_config": model.config,
        "preprocessing": preprocessing(fs_hz, window_s, channel, model.config["cwt_scales"]),
        "label_names": list(label_names),
        "store": None,
        "run_config": {},
    }
    return save_checkpoint(Path(path), model, meta)


def save_mae(path: Path, fs_hz: float = 100.0, window_s: float = 30.0) -> Path:
    """A ``tiny`` pretraining (MAE) checkpoint folder."""
    torch.manual_seed(0)
    model = build_mae("tiny", signal_len=int(round(fs_hz * window_s)))
    meta = {
        "kind": "mae",
        "step": 1,
        "epoch": 1,
        "preset": "tiny",
        "model_config": model.config,
        "preprocessing": preprocessing(fs_hz, window_s, "EEG Fpz-Cz", model.config["cwt_scales"]),
        "store": None,
        "run_config": {},
    }
    return save_checkpoint(Path(path), model, meta)


def finished_finetune_run(
    workdir: Path, ckpt_model: torch.nn.Module, label_names: list[str], **pre
) -> Path:
    """``runs/finetune-<stamp>/`` with ``checkpoints/best`` and ``FINISHED``, like the engine's."""
    run = Path(workdir) / "runs" / "finetune-20260101T000000Z"
    best = save_classifier(run / "checkpoints" / "best", ckpt_model, label_names, **pre)
    (run / "latest").write_text("checkpoints/best")
    (run / "FINISHED").write_text("")
    return best
