"""Run a planned benchmark: every (fold, setting, label fraction) cell is one ``finetune`` run
on the fold's windows, scored on the fold's test subjects.

::

    runs/benchmark-<UTC stamp>/
        plan.json                  settings, store, pretrained checkpoint, the folds' subjects
        cells/fold0-pretrained-0.05/   the cell's finetune run folder (config, metrics.jsonl;
                                   its checkpoints are removed once scored, unless kept)
        cells/fold0-pretrained-0.05.json   the cell's result, written atomically when it is done
        benchmark.json             every finished cell and the summary (rewritten after each)
                                   (test windows; test recordings too when labels are per
                                   recording: see ``scoring``)
        label_efficiency.png       test macro-F1 against the label fraction, both settings
        FINISHED                   written last

Both settings of a fold and fraction train on the same windows with the same seed and the same
schedule; ``scratch`` keeps the pretrained checkpoint's architecture with random weights. A
resumed benchmark skips the cells whose result file exists and reruns an interrupted one from
its start (its unfinished run folder is replaced); a finished cell of an older version without
the recording-level figures gets them from its checkpoint when it was kept
(:func:`~cwtmae_cli.benchmark.scoring.add_missing_scores`), else the summary counts it as lacking.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from cwtmae_cli.benchmark.plan import (
    BENCHMARK_FILE,
    CELLS_DIR,
    PLAN_FILE,
    PLOT_FILE,
    BenchmarkPlan,
    Cell,
    Report,
    plan_doc,
)
from cwtmae_cli.benchmark.protocol import label_subset
from cwtmae_cli.benchmark.results import summarize
from cwtmae_cli.benchmark.scoring import add_missing_scores, score_test
from cwtmae_cli.data.split import TRAIN, VALIDATION
from cwtmae_cli.workdir import FINISHED_MARKER


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
        windows={TRAIN: train, VALIDATION: fold.val},
    )
    summary = finetune.run_finetune(run_plan, events)
    best = Path(summary.get("best_checkpoint") or summary["checkpoint"])
    scored = score_test(best, plan.store, fold.test, run_plan.config.device, plan.batch_size,
                        by_recording=plan.scoring.labels_per_recording,
                        score=plan.scoring.score)  # fmt: skip
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
        **scored,  # "test" (windows), and "test_recording_level" when labels are per recording
    }


def benchmark_doc(plan: BenchmarkPlan, cells: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``benchmark.json`` holds: the plan, every finished cell (``per_fold``), the summary."""
    complete = len(cells) == len(plan.cells())
    return {
        **plan_doc(plan),
        "run_dir": str(plan.run_dir),
        "complete": complete,
        "warnings": list(plan.warnings),
        "seen_in_pretraining": plan.seen_overlap,  # test recordings the pretraining saw
        **plan.scoring.describe(),  # labels_per_recording, score
        "per_fold": cells,
        "summary": summarize(
            cells,
            plan.settings.label_fractions,
            recording_level=plan.scoring.labels_per_recording,
            recipe_score=plan.scoring.score is not None,
        ),
    }


def run_benchmark(
    plan: BenchmarkPlan, report: Report | None = None, events: Any = None
) -> dict[str, Any]:
    """Run every cell not finished yet; returns the ``benchmark.json`` document.

    ``report(kind, payload)``: ``"skip"`` / ``"start"`` / ``"done"`` with the cell (``done``
    adds its result); after a ``skip``, ``"rescored"`` or ``"lacking"`` (with ``why``) when an
    older cell's recording-level figures were computed now or cannot be. ``events`` receives
    each cell's training events (see ``finetune``)."""
    from cwtmae_cli.train.rundir import write_text_atomic

    say = report or (lambda kind, payload: None)
    if not plan.resumed:
        (plan.run_dir / CELLS_DIR).mkdir(parents=True, exist_ok=True)
        write_text_atomic(plan.run_dir / PLAN_FILE, json.dumps(plan_doc(plan), indent=1) + "\n")
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
            saved = json.loads(path.read_text(encoding="utf-8"))
            record, change = _completed(plan, cell, saved)
            if record is not saved:  # keys added, none changed
                write_text_atomic(path, json.dumps(record, indent=1) + "\n")
            results.append(record)
            say("skip", info)
            if change is not None:
                say(change["kind"], {**info, "why": change["why"]})
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


def _completed(
    plan: BenchmarkPlan, cell: Cell, record: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """A finished cell's result completed with what this version scores (the same object when
    nothing was added) and what was done about its recording-level figures (None: nothing)."""
    return add_missing_scores(
        record,
        plan.scoring,
        run_dir=plan.run_dir,
        store=plan.store,
        positions=plan.folds[cell.fold].test,
        device=plan.device,
        batch_size=plan.batch_size,
    )


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
