"""Plan and run a benchmark: every (fold, setting, label fraction) cell is one ``finetune`` run
on the fold's windows, scored on the fold's test subjects.

::

    runs/benchmark-<UTC stamp>/
        plan.json                  settings, store, pretrained checkpoint, the folds' subjects
        cells/fold0-pretrained-0.05/   the cell's finetune run folder (config, metrics.jsonl;
                                   its checkpoints are removed once scored, unless kept)
        cells/fold0-pretrained-0.05.json   the cell's result, written atomically when it is done
        benchmark.json             every finished cell and the summary (rewritten after each)
        label_efficiency.png       test macro-F1 against the label fraction, both settings
        FINISHED                   written last

Both settings of a fold and fraction train on the same windows with the same seed and the same
schedule; ``scratch`` keeps the pretrained checkpoint's architecture with random weights. A
resumed benchmark skips the cells whose result file exists and reruns an interrupted one from
its start (its unfinished run folder is replaced).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cwtmae_cli import __version__
from cwtmae_cli.benchmark.protocol import (
    SETTINGS,
    Fold,
    build_folds,
    fold_warnings,
    fraction_key,
    label_subset,
)
from cwtmae_cli.benchmark.results import cell_name, summarize
from cwtmae_cli.errors import DataError, UsageError
from cwtmae_cli.workdir import FINISHED_MARKER

PLAN_FILE = "plan.json"
BENCHMARK_FILE = "benchmark.json"
PLOT_FILE = "label_efficiency.png"
CELLS_DIR = "cells"

Report = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class BenchmarkSettings:
    """What a benchmark is; saved in ``plan.json`` and reused by ``--resume``."""

    n_folds: int = 5
    label_fractions: tuple[float, ...] = (0.05, 0.2, 1.0)
    val_fraction: float = 0.2  # of each fold's non-test subjects
    seed: int = 0  # folds, validation parts, label subsets, and every cell's training
    keep_checkpoints: bool = False
    finetune: dict[str, Any] = field(default_factory=dict)  # finetune flags of every cell
    config_file: str | None = None  # finetune --config TOML of every cell

    def __post_init__(self) -> None:
        if self.n_folds < 2:
            raise UsageError(f"--folds {self.n_folds}: cross-validation needs at least 2 folds")
        if not 0.0 < self.val_fraction < 1.0:
            raise UsageError(
                f"--val-fraction {self.val_fraction:g} must lie strictly between 0 and 1"
            )
        if not self.label_fractions or not all(0.0 < f <= 1.0 for f in self.label_fractions):
            raise UsageError(
                f"--label-fractions {list(self.label_fractions)}: each must lie in (0, 1]"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_folds": self.n_folds,
            "label_fractions": list(self.label_fractions),
            "val_fraction": self.val_fraction,
            "seed": self.seed,
            "keep_checkpoints": self.keep_checkpoints,
            "finetune": dict(self.finetune),
            "config_file": self.config_file,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchmarkSettings:
        return cls(**{**data, "label_fractions": tuple(data["label_fractions"])})


@dataclass(frozen=True)
class Cell:
    fold: int
    setting: str
    fraction: float

    @property
    def name(self) -> str:
        return cell_name(self.fold, self.setting, self.fraction)


@dataclass(frozen=True)
class BenchmarkPlan:
    """A checked benchmark: nothing is written until :func:`run_benchmark`."""

    run_dir: Path
    workdir: Path
    store: Path
    pretrained: str
    settings: BenchmarkSettings
    folds: tuple[Fold, ...]
    labels: np.ndarray  # (N,) the store's labels
    label_names: tuple[str, ...]
    batch_size: int
    resumed: bool = False
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def cells(self) -> list[Cell]:
        """Fold by fold, each fraction, pretrained then scratch."""
        return [
            Cell(fold.index, setting, fraction)
            for fold in self.folds
            for fraction in self.settings.label_fractions
            for setting in SETTINGS
        ]

    def result_path(self, cell: Cell) -> Path:
        return self.run_dir / CELLS_DIR / f"{cell.name}.json"

    def finished_cells(self) -> list[Cell]:
        return [c for c in self.cells() if self.result_path(c).is_file()]


def _store_arrays(store_path: Path) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    from cwtmae_cli.data.store import open_store

    store = open_store(store_path)
    names = store.label_names
    labels = np.asarray(store.labels[:], dtype=np.int64)  # (N,)
    if not names or not (labels >= 0).any():
        raise DataError(
            f"store {store_path} has no labelled windows; a benchmark needs a labelled store "
            "(prepare one with a labelling recipe such as cinc2017 or mitdb-af)"
        )
    recording = np.asarray(store.recording[:], dtype=np.int64)  # (N,)
    subjects = [str(r["subject"]) for r in store.recordings]
    return labels, recording, subjects, names


def _subset_notes(
    folds: list[Fold],
    labels: np.ndarray,
    settings: BenchmarkSettings,
    names: list[str],
    batch_size: int,
) -> list[str]:
    """DataError for a fold and fraction with fewer windows than a batch; a line for each class
    that the at-least-one-window rule keeps above its fraction."""
    lines = []
    for fold in folds:
        per_class = np.bincount(labels[fold.train], minlength=len(names))  # (K,)
        for fraction in settings.label_fractions:
            chosen = label_subset(fold, labels, fraction, settings.seed)
            if len(chosen) < batch_size:
                raise DataError(
                    f"fold {fold.index} at label fraction {fraction_key(fraction)} leaves "
                    f"{len(chosen)} training windows, fewer than one batch of {batch_size}; "
                    "lower --batch-size or leave that fraction out"
                )
            for k in np.flatnonzero((per_class > 0) & (fraction * per_class < 0.5)):
                lines.append(
                    f"fold {fold.index} at label fraction {fraction_key(fraction)}: class "
                    f"`{names[k]}` has {per_class[k]} training windows; 1 is kept (at least one "
                    "window per class), more than the fraction"
                )
    return lines


def plan_benchmark(
    settings: BenchmarkSettings | None,
    *,
    data: Path | None = None,
    workdir: Path | None = None,
    pretrained: Path | None = None,
    out: Path | None = None,
    resume: Path | None = None,
    device: str | None = None,
) -> BenchmarkPlan:
    """Check everything that can fail on bad input, before anything is written.

    A new benchmark takes ``settings``; ``resume`` (a benchmark run folder) takes the saved
    ones instead (``settings`` must then be None; ``device`` may still change)."""
    from cwtmae_cli.train.config import FinetuneConfig, resolve_config
    from cwtmae_cli.train.finetune import resolve_pretrained
    from cwtmae_cli.train.plan import check_devices
    from cwtmae_cli.train.rundir import check_new_run_dir
    from cwtmae_cli.workdir import find_store, new_run_dir, resolve_workdir

    notes = []
    if resume is not None:
        run_dir, saved = _read_plan(Path(resume))
        settings = BenchmarkSettings.from_dict(saved["settings"])
        if device is not None:
            settings = BenchmarkSettings(
                **{**settings.__dict__, "finetune": {**settings.finetune, "device": device}}
            )
        root = Path(saved["workdir"])
        store = Path(saved["store"])
        given = Path(saved["pretrained"])
    else:
        assert settings is not None
        root = resolve_workdir(workdir)
        store = find_store(root, data)
        if data is None:
            notes.append(f"using store {store}")
        given = pretrained
    config_file = Path(settings.config_file) if settings.config_file else None
    config = resolve_config(FinetuneConfig, dict(settings.finetune), config_file)
    check_devices(config)
    labels, recording, subjects, names = _store_arrays(store)
    ckpt = resolve_pretrained(root, given)
    if given is None:
        notes.append(f"using pretrained checkpoint {ckpt}")
    folds = build_folds(
        labels,
        recording,
        subjects,
        len(names),
        settings.n_folds,
        settings.val_fraction,
        settings.seed,
    )
    warnings = fold_warnings(folds, labels, names)
    warnings += _subset_notes(folds, labels, settings, names, config.batch_size)
    if resume is not None:
        saved_folds = [{k: f[k] for k in ("test_subjects", "val_subjects")} for f in saved["folds"]]
        now = [{k: f.describe()[k] for k in ("test_subjects", "val_subjects")} for f in folds]
        if saved_folds != now:
            raise DataError(
                f"the folds of store {store} differ from those {run_dir} was started with (was "
                "the store prepared again?); start a new benchmark"
            )
    else:
        run_dir = Path(out) if out else new_run_dir(root, "benchmark")
        check_new_run_dir(run_dir)
    return BenchmarkPlan(
        run_dir=run_dir.resolve(),
        workdir=root.resolve(),
        store=store.resolve(),
        pretrained=str(ckpt.resolve()),
        settings=settings,
        folds=tuple(folds),
        labels=labels,
        label_names=tuple(names),
        batch_size=config.batch_size,
        resumed=resume is not None,
        warnings=tuple(warnings),
        notes=tuple(notes),
    )


def _read_plan(run_dir: Path) -> tuple[Path, dict[str, Any]]:
    path = run_dir / PLAN_FILE
    if not path.is_file():
        raise UsageError(
            f"--resume {run_dir}: not a benchmark run folder (no {PLAN_FILE}); give a "
            "runs/benchmark-* folder"
        )
    try:
        return run_dir, json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None


def _plan_doc(plan: BenchmarkPlan) -> dict[str, Any]:
    return {
        "tool_version": __version__,
        "workdir": str(plan.workdir),
        "store": str(plan.store),
        "pretrained": plan.pretrained,
        "label_names": list(plan.label_names),
        "settings": plan.settings.to_dict(),
        "folds": [f.describe() for f in plan.folds],
    }


def score_windows(
    checkpoint: Path, store: Path, positions: np.ndarray, device: str, batch_size: int = 64
) -> dict[str, Any]:
    """:func:`~cwtmae_cli.evaluate.metrics.classification_metrics` of a classifier checkpoint
    on the labelled store windows at ``positions``, after the store/checkpoint check."""
    from cwtmae_cli.data.loader import WindowDataset
    from cwtmae_cli.data.store import open_store
    from cwtmae_cli.evaluate.evaluation import match_store
    from cwtmae_cli.evaluate.inference import predict_proba
    from cwtmae_cli.evaluate.metrics import classification_metrics
    from cwtmae_cli.train.checkpoint import load_classifier, read_meta
    from cwtmae_cli.train.device import resolve_device

    meta = read_meta(checkpoint)
    channel = match_store(meta, open_store(store), checkpoint)
    dataset = WindowDataset(store, channel=channel, labelled_only=True, positions=positions)
    torch_device = resolve_device(device)
    model, meta = load_classifier(checkpoint, device=torch_device)
    probs = predict_proba(
        model, len(dataset), lambda i: dataset.get_batch(i)[0], batch_size, torch_device
    )  # (N, K)
    y_pred = probs.argmax(axis=1).astype(np.int64)  # (N,)
    return classification_metrics(dataset.labels, y_pred, list(meta["label_names"]))


def _cell_flags(plan: BenchmarkPlan, cell: Cell) -> dict[str, Any]:
    return {
        **plan.settings.finetune,
        "data": str(plan.store),
        "workdir": str(plan.workdir),
        "out": str(plan.run_dir / CELLS_DIR / cell.name),
        "pretrained": plan.pretrained,
        "from_scratch": cell.setting == "scratch",
        "seed": plan.settings.seed,
    }


def run_cell(plan: BenchmarkPlan, cell: Cell, events: Any = None) -> dict[str, Any]:
    """Fine-tune one cell on its fold's windows and score its best checkpoint on the test fold."""
    from cwtmae_cli.train import finetune

    fold = plan.folds[cell.fold]
    train = label_subset(fold, plan.labels, cell.fraction, plan.settings.seed)
    cell_dir = plan.run_dir / CELLS_DIR / cell.name
    if cell_dir.exists():  # an interrupted attempt: its result was never written
        shutil.rmtree(cell_dir)
    config_file = Path(plan.settings.config_file) if plan.settings.config_file else None
    run_plan = finetune.plan_finetune(
        _cell_flags(plan, cell),
        config_file,
        windows={finetune.TRAIN: train, finetune.VAL: fold.val},
    )
    summary = finetune.run_finetune(run_plan, events)
    best = Path(summary.get("best_checkpoint") or summary["checkpoint"])
    metrics = score_windows(best, plan.store, fold.test, run_plan.config.device, plan.batch_size)
    if not plan.settings.keep_checkpoints:
        shutil.rmtree(cell_dir / "checkpoints", ignore_errors=True)
    per_class = np.bincount(plan.labels[train], minlength=len(plan.label_names))
    return {
        "fold": cell.fold,
        "setting": cell.setting,
        "label_fraction": cell.fraction,
        "test_subjects": list(fold.test_subjects),
        "n_train_windows": int(len(train)),
        "train_windows_per_class": dict(zip(plan.label_names, per_class.tolist(), strict=True)),
        "n_val_windows": int(len(fold.val)),
        "n_test_windows": int(len(fold.test)),
        "steps": summary["steps"],
        "best_step": summary["best"]["step"],
        "best_val_macro_f1": summary["best"]["value"],
        "run_dir": str(Path(CELLS_DIR) / cell.name),
        "test": {
            **metrics["summary"],
            "per_class": metrics["per_class"],
            "confusion_matrix": metrics["confusion_matrix"]["counts"],
        },
    }


def benchmark_doc(plan: BenchmarkPlan, cells: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``benchmark.json`` holds: the plan, every finished cell (``per_fold``), the summary."""
    complete = len(cells) == len(plan.cells())
    return {
        **_plan_doc(plan),
        "run_dir": str(plan.run_dir),
        "complete": complete,
        "warnings": list(plan.warnings),
        "per_fold": cells,
        "summary": summarize(cells, plan.settings.label_fractions),
    }


def run_benchmark(
    plan: BenchmarkPlan, report: Report | None = None, events: Any = None
) -> dict[str, Any]:
    """Run every cell not finished yet; returns the ``benchmark.json`` document.

    ``report(kind, payload)``: ``"skip"`` / ``"start"`` / ``"done"`` with the cell (``done``
    adds its result). ``events`` receives each cell's training events (see ``finetune``)."""
    from cwtmae_cli.train.rundir import write_text_atomic

    say = report or (lambda kind, payload: None)
    if not plan.resumed:
        (plan.run_dir / CELLS_DIR).mkdir(parents=True, exist_ok=True)
        write_text_atomic(plan.run_dir / PLAN_FILE, json.dumps(_plan_doc(plan), indent=1) + "\n")
    results = []
    for cell in plan.cells():
        info = {
            "cell": cell.name,
            "fold": cell.fold,
            "setting": cell.setting,
            "label_fraction": cell.fraction,
        }
        path = plan.result_path(cell)
        if path.is_file():
            results.append(json.loads(path.read_text(encoding="utf-8")))
            say("skip", info)
            continue
        say("start", info)
        record = run_cell(plan, cell, events)
        write_text_atomic(path, json.dumps(record, indent=1) + "\n")
        results.append(record)
        write_text_atomic(
            plan.run_dir / BENCHMARK_FILE,
            json.dumps(benchmark_doc(plan, results), indent=1) + "\n",
        )
        say("done", {**info, "result": record})
    doc = benchmark_doc(plan, results)
    write_text_atomic(plan.run_dir / BENCHMARK_FILE, json.dumps(doc, indent=1) + "\n")
    _write_plot(plan, doc)
    doc["plot"] = str(plan.run_dir / PLOT_FILE)
    write_text_atomic(plan.run_dir / FINISHED_MARKER, json.dumps(doc["summary"], indent=1) + "\n")
    return doc


def _write_plot(plan: BenchmarkPlan, doc: dict[str, Any]) -> None:
    import os

    from cwtmae_cli.benchmark.plot import plot_label_efficiency

    tmp = plan.run_dir / f".{PLOT_FILE}.tmp.png"
    plot_label_efficiency(
        doc["summary"],
        list(plan.settings.label_fractions),
        tmp,
        title=f"{plan.store.name}: {plan.settings.n_folds}-fold subject-wise cross-validation",
    )
    os.replace(tmp, plan.run_dir / PLOT_FILE)
