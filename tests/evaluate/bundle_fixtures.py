"""Bundled-model folders for tests (``cwtmae models``, ``predict --model``): an untrained tiny
classifier written with :func:`~cwtmae_cli.runtime.bundled.write_bundle` and figures chosen by
the test, so that what the commands print can be checked against what was written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from results_fixtures import SLEEP_LABELS, save_classifier, tiny_classifier

from cwtmae_cli.runtime.bundled import write_bundle


def _figures(value: float) -> dict[str, Any]:
    return {"accuracy": value, "balanced_accuracy": value, "macro_f1": value,
            "cohen_kappa": value / 2, "f1": {name: value for name in SLEEP_LABELS}}


def evaluation_doc(name: str, cv_scores: list[float], test_score: float) -> dict[str, Any]:
    """An ``evaluation.json`` with these per-fold challenge scores and held-out test score."""
    mean = sum(cv_scores) / len(cv_scores)
    sd = (sum((s - mean) ** 2 for s in cv_scores) / (len(cv_scores) - 1)) ** 0.5
    per_fold = [{"fold": i, "challenge_score": s, "n_records": 10, "records": _figures(s),
                 "windows": _figures(s)} for i, s in enumerate(cv_scores)]
    return {
        "name": name, "task": "sleep staging (test)",
        "cross_validation": {
            "n_folds": len(cv_scores), "unit": "record", "val_fraction": 0.2,
            "challenge_score": {"mean": mean, "sd": sd, "per_fold": list(cv_scores)},
            "records": _figures(mean), "windows": _figures(mean), "per_fold": per_fold,
        },
        "held_out_test": {"challenge_score": test_score, "n_records": 7,
                          "records": _figures(test_score), "windows": _figures(test_score)},
        "recipe": {"pretrain": {"model": "tiny", "steps": 3}, "finetune": {"steps": 5},
                   "command": "python tools/train_bundled_model.py --out DIR"},
    }


def make_bundle(models_dir: Path, name: str, cv_scores: list[float],
                test_score: float = 0.5, seed: int = 2) -> Path:
    """A bundled model folder ``models_dir/name`` (an untrained tiny five-stage sleep
    classifier on 30-s windows of EEG Fpz-Cz at 100 Hz)."""
    ckpt = save_classifier(models_dir.parent / f".ckpt-{name}", tiny_classifier(5, seed=seed),
                           SLEEP_LABELS)
    return write_bundle(ckpt, models_dir / name, evaluation_doc(name, cv_scores, test_score))


def low_and_good_bundles(root: Path) -> Path:
    """A models folder holding ``low`` (CV 0.35, below the 0.80 target) and ``good`` (0.85)."""
    folder = root / "models"
    make_bundle(folder, "low", [0.30, 0.40, 0.35], test_score=0.33)
    make_bundle(folder, "good", [0.84, 0.86], test_score=0.85, seed=3)
    return folder
