"""What a benchmark is, checked before anything is written: the settings (saved in
``plan.json``), the folds, the cells, and on ``--resume`` the saved plan read back."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from cwtmae_cli import __version__
from cwtmae_cli.benchmark.held_out import seen_in_pretraining, unseen_labels
from cwtmae_cli.benchmark.protocol import (
    SETTINGS,
    Fold,
    build_folds,
    check_same_folds,
    check_same_workdir,
    fold_warnings,
    subset_warnings,
)
from cwtmae_cli.benchmark.results import cell_name
from cwtmae_cli.benchmark.scoring import RecordingScoring, recording_scoring
from cwtmae_cli.benchmark.settings import BenchmarkSettings
from cwtmae_cli.errors import DataError, UsageError

PLAN_FILE = "plan.json"
BENCHMARK_FILE = "benchmark.json"
PLOT_FILE = "label_efficiency.png"
CELLS_DIR = "cells"

Report = Callable[[str, dict[str, Any]], None]


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
    device: str = "auto"  # the cells' fine-tuning device, which also scores them
    scoring: RecordingScoring = RecordingScoring()  # test recordings too? the recipe's [score]?
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    seen_overlap: dict | None = None  # test recordings pretraining saw (runtime/seen.py)

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


def _store_arrays(store_path: Path) -> tuple[np.ndarray, np.ndarray, list[dict], list[str]]:
    from cwtmae_cli.data.store.schema import open_store

    store = open_store(store_path)
    names = store.label_names
    labels = np.asarray(store.labels[:], dtype=np.int64)  # (N,)
    if not names or not (labels >= 0).any():
        raise DataError(
            f"store {store_path} has no labelled windows; a benchmark needs a labelled store "
            "(prepare one with a labelling recipe such as cinc2017 or mitdb-af)"
        )
    recording = np.asarray(store.recording[:], dtype=np.int64)  # (N,)
    return labels, recording, store.recordings, names


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
    """Check all that bad input can fail, before anything is written: a new benchmark takes
    ``settings``, ``resume`` (a run folder; ``device`` may change) the saved ones."""
    from cwtmae_cli.train.finetune import resolve_pretrained

    notes: list[str] = []
    if resume is not None:
        run_dir, saved = _read_plan(Path(resume))
        settings, root, store, given = _saved_inputs(saved, device)
        check_same_workdir(run_dir, root, workdir)
    else:
        assert settings is not None
        root, store = _new_store(workdir, data, notes)
        given = pretrained
    batch_size, device = _checked_training(settings)
    labels, recording, recordings, names = _store_arrays(store)
    ckpt = resolve_pretrained(root, given)
    notes += _pretrained_notes(ckpt, store, chosen=given is None)
    folds, warnings, seen, labels = _folds(labels, recording, recordings, names, settings,
                                           batch_size, ckpt, notes)
    if resume is not None:
        check_same_folds(saved["folds"], folds, store, run_dir)
    else:
        run_dir = _new_run_dir(root, out)
    return BenchmarkPlan(
        run_dir=run_dir.resolve(),
        workdir=root.resolve(),
        store=store.resolve(),
        pretrained=str(ckpt.resolve()),
        settings=settings,
        folds=tuple(folds),
        labels=labels,
        label_names=tuple(names),
        batch_size=batch_size,
        resumed=resume is not None,
        device=device,
        scoring=recording_scoring(store, labels, recording),
        warnings=tuple(warnings),
        notes=tuple(notes),
        seen_overlap=seen,
    )


def _pretrained_notes(ckpt: Path, store_path: Path, chosen: bool) -> list[str]:
    """The pretrained checkpoint used when it was ``chosen`` (not given), and what fine-tuning
    every cell on the store's windows does to its encoder (its position embedding
    interpolated, or the same samples at another rate), as finetune says it; a ConfigError,
    before anything is written, when the windows do not fit its patches."""
    from cwtmae_cli.data.store.schema import open_store
    from cwtmae_cli.runtime.checkpoint import read_meta
    from cwtmae_cli.train.window_fit import pretrained_window_note

    store = open_store(store_path)
    note = pretrained_window_note(read_meta(ckpt), store.fs_hz, store.window_s, store.n_samples)
    notes = [f"using pretrained checkpoint {ckpt}"] if chosen else []
    return notes + ([note] if note else [])


def _folds(
    labels: np.ndarray,
    recording: np.ndarray,
    recordings: list[dict],
    names: list[str],
    settings: BenchmarkSettings,
    batch_size: int,
    pretrained: Path,
    notes: list[str],
) -> tuple[list[Fold], list[str], dict | None, np.ndarray]:
    """The subject-wise folds of the settings (with ``unseen_only``, of the recordings the
    ``pretrained`` checkpoint did not see), the warnings about them and their label subsets
    (DataError for a subset smaller than a batch), how many tested recordings the pretraining
    saw, and the labels the folds were built from."""
    from cwtmae_cli.runtime.checkpoint import read_meta

    pretrained_meta = read_meta(pretrained)
    if settings.unseen_only:
        labels = unseen_labels(labels, recording, recordings, pretrained_meta, notes)
    folds = build_folds(
        labels,
        recording,
        [str(r["subject"]) for r in recordings],
        len(names),
        settings.n_folds,
        settings.val_fraction,
        settings.seed,
    )
    warnings = fold_warnings(folds, labels, names)
    warnings += subset_warnings(
        folds, labels, settings.label_fractions, settings.seed, names, batch_size
    )
    seen = seen_in_pretraining(pretrained_meta, recordings, recording, folds, warnings)
    return folds, warnings, seen, labels


def _new_run_dir(root: Path, out: Path | None) -> Path:
    """The run folder of a new benchmark (``out``, else a new one in ``root``), checked free."""
    from cwtmae_cli.train.rundir import check_new_run_dir
    from cwtmae_cli.workdir import new_run_dir

    run_dir = Path(out) if out else new_run_dir(root, "benchmark")
    check_new_run_dir(run_dir)
    return run_dir


def _new_store(workdir: Path | None, data: Path | None, notes: list[str]) -> tuple[Path, Path]:
    """The workdir and store of a new benchmark; the store named in ``notes`` when it is the
    default."""
    from cwtmae_cli.workdir import find_store, resolve_workdir

    root = resolve_workdir(workdir)
    store = find_store(root, data)
    if data is None:
        notes.append(f"using store {store}")
    return root, store


def _saved_inputs(
    saved: dict[str, Any], device: str | None
) -> tuple[BenchmarkSettings, Path, Path, Path]:
    """The settings, workdir, store and pretraining checkpoint a benchmark was started with
    (``device``, when given, in place of the saved one)."""
    settings = BenchmarkSettings.from_dict(saved["settings"])
    if device is not None:
        settings = replace(settings, finetune={**settings.finetune, "device": device})
    return settings, Path(saved["workdir"]), Path(saved["store"]), Path(saved["pretrained"])


def _checked_training(settings: BenchmarkSettings) -> tuple[int, str]:
    """The fine-tuning batch size and device of the cells, once their config resolves and its
    devices are there."""
    from cwtmae_cli.train.config import FinetuneConfig, resolve_config
    from cwtmae_cli.train.plan import check_devices

    config_file = Path(settings.config_file) if settings.config_file else None
    config = resolve_config(FinetuneConfig, dict(settings.finetune), config_file)
    check_devices(config)
    return config.batch_size, config.device


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


def plan_doc(plan: BenchmarkPlan) -> dict[str, Any]:
    return {
        "tool_version": __version__,
        "workdir": str(plan.workdir),
        "store": str(plan.store),
        "pretrained": plan.pretrained,
        "label_names": list(plan.label_names),
        "settings": plan.settings.to_dict(),
        "folds": [f.describe() for f in plan.folds],
    }
