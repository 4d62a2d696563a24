"""The numbers of a benchmark: one record per cell (fold, setting, label fraction) and their mean
± sd per setting and fraction.

The sd is the sample standard deviation over folds (``ddof = 1``); it is ``None`` when fewer
than two folds give a value. Cohen's κ is ``None`` in a fold where it is undefined (truth and
predictions a single class); such folds are left out of its mean, and ``n`` says how many folds
each mean averages.

When the store's labels are per recording, ``summary[setting][fraction]["recording_level"]``
holds the same statistics over the cells' ``test_recording_level`` blocks (see ``scoring``),
with ``n_folds`` the folds that have one and ``n_folds_lacking`` those that do not (cells scored
by an older version whose checkpoints are gone): its means are over ``n_folds`` folds only, and
the table and ``benchmark.json`` say so. ``recipe_score`` (the recipe's ``[score]``, e.g. the
CinC 2017 challenge score) joins the metrics of both levels when the recipe declares one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from cwtmae_cli.benchmark.protocol import SETTINGS, fraction_key
from cwtmae_cli.runtime.export import CHANCE_KAPPA

METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "cohen_kappa")
RECIPE_SCORE = "recipe_score"
RECORDING_LEVEL_SUMMARY = "recording_level"


def cell_name(fold: int, setting: str, fraction: float) -> str:
    """``fold0-pretrained-0.05``: a cell's result file and run folder name."""
    return f"fold{fold}-{setting}-{fraction_key(fraction)}"


def mean_sd(values: Iterable[float | None]) -> dict:
    """``{"mean", "sd", "n"}`` over the values that are not None (sample sd, ddof 1)."""
    kept = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if kept.size == 0:
        return {"mean": None, "sd": None, "n": 0}
    sd = float(np.std(kept, ddof=1)) if kept.size > 1 else None
    return {"mean": float(np.mean(kept)), "sd": sd, "n": int(kept.size)}


def summarize(
    cells: Sequence[dict],
    fractions: Sequence[float],
    *,
    recording_level: bool = False,
    recipe_score: bool = False,
) -> dict:
    """``summary[setting][fraction][metric] = {"mean", "sd", "n"}`` over the folds' cells;
    ``recording_level``: also ``summary[setting][fraction]["recording_level"]`` over their
    recording-level blocks; ``recipe_score``: ``"recipe_score"`` among the metrics."""
    from cwtmae_cli.benchmark.scoring import RECORDING_LEVEL

    metrics = (*METRICS, RECIPE_SCORE) if recipe_score else METRICS
    summary: dict = {}
    for setting in SETTINGS:
        summary[setting] = {}
        for fraction in fractions:
            key = fraction_key(fraction)
            rows = [
                c
                for c in cells
                if c["setting"] == setting and fraction_key(c["label_fraction"]) == key
            ]
            stats = {"n_folds": len(rows), **_stats([r["test"] for r in rows], metrics)}
            if recording_level:
                blocks = [r[RECORDING_LEVEL] for r in rows if RECORDING_LEVEL in r]
                stats[RECORDING_LEVEL_SUMMARY] = {
                    "n_folds": len(blocks),
                    "n_folds_lacking": len(rows) - len(blocks),
                    **_stats(blocks, metrics),
                }
            summary[setting][key] = stats
    return summary


def _stats(blocks: Sequence[dict], metrics: Sequence[str]) -> dict:
    """``{metric: mean_sd}`` over test blocks; a block without the metric counts as undefined
    (so ``n`` says it)."""
    return {m: mean_sd(b.get(m) for b in blocks) for m in metrics}


def recording_level_view(summary: dict) -> dict:
    """``summary[setting][fraction]["recording_level"]`` as a summary of its own (the shape
    :func:`label_efficiency_gain`, :func:`near_chance` and the plot read); ``{}`` without it."""
    view = {
        setting: {
            key: stats[RECORDING_LEVEL_SUMMARY]
            for key, stats in by_fraction.items()
            if RECORDING_LEVEL_SUMMARY in stats
        }
        for setting, by_fraction in summary.items()
    }
    return {setting: by for setting, by in view.items() if by}


def label_efficiency_gain(summary: dict, metric: str = "macro_f1") -> dict:
    """Per fraction: mean pretrained minus mean scratch of ``metric`` (None if either is)."""
    gains = {}
    for key in summary.get("pretrained", {}):
        a = summary["pretrained"][key][metric]["mean"]
        b = summary.get("scratch", {}).get(key, {}).get(metric, {}).get("mean")
        gains[key] = None if a is None or b is None else float(a - b)
    return gains


def near_chance(summary: dict) -> list[str]:
    """A sentence per (setting, fraction) whose mean Cohen's kappa over the folds is below
    :data:`~cwtmae_cli.runtime.export.CHANCE_KAPPA` (the model cards' threshold): its accuracy
    then mostly reflects the class mix."""
    said = []
    for setting, by_fraction in summary.items():
        for key, stats in by_fraction.items():
            kappa = stats["cohen_kappa"]["mean"]
            if kappa is not None and math.isfinite(kappa) and kappa < CHANCE_KAPPA:
                said.append(
                    f"{setting} at {float(key) * 100:g} % of labels: mean kappa {kappa:.3f} over "
                    f"{stats['cohen_kappa']['n']} folds is near chance (< {CHANCE_KAPPA:g}); its "
                    "models barely tell the classes apart and its accuracy mostly reflects the "
                    "class mix"
                )
    return said


def format_mean_sd(stats: dict, digits: int = 3) -> str:
    """``0.812 ± 0.034``; ``0.812`` without an sd; ``n/a`` without a mean."""
    mean, sd = stats.get("mean"), stats.get("sd")
    if mean is None or not math.isfinite(mean):
        return "n/a"
    text = f"{mean:.{digits}f}"
    return text if sd is None else f"{text} ± {sd:.{digits}f}"
