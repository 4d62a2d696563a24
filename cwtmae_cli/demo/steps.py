"""The demo's steps, each calling the library function behind one command.

Every step is ``step(config, state, on_train) -> outputs``: it reads what earlier steps put in
``state`` (paths, results) and returns what it adds. ``STEPS`` lists them in order with the
command line each one stands for (formatted with ``state``, paths relative to the demo folder).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA_DIR = "synthetic-sleep-edf"
HELDOUT_DIR = "synthetic-heldout"
SLEEP_EDF_STAGE = {"Sleep stage W": "W", "Sleep stage 1": "N1", "Sleep stage 2": "N2",
                   "Sleep stage 3": "N3", "Sleep stage 4": "N3", "Sleep stage R": "REM"}

State = dict[str, Any]
TrainEvents = Callable[[str, dict[str, Any]], None] | None


def generate(config: Any, state: State, on_train: TrainEvents) -> State:
    """n_subjects synthetic nights for the store, plus one more subject's night held back."""
    from cwtmae_cli.demo.synthetic import write_sleep_edf_dataset

    data_dir, heldout_dir = config.out_dir / DATA_DIR, config.out_dir / HELDOUT_DIR
    for folder in (data_dir, heldout_dir):
        if folder.exists():
            shutil.rmtree(folder)
    pairs = write_sleep_edf_dataset(  # one EEG, as the demo trains on it: no time for the rest
        data_dir, n_subjects=config.n_subjects + 1, minutes=config.minutes, seed=config.seed,
        extra_channels=False,
    )
    heldout_dir.mkdir(parents=True)
    shutil.copy(data_dir / "SYNTHETIC.txt", heldout_dir / "SYNTHETIC.txt")
    moved = [Path(shutil.move(str(path), str(heldout_dir / path.name))) for path in pairs[-1]]
    return {"data": data_dir, "heldout_psg": moved[0], "heldout_hypnogram": moved[1]}


def prepare(config: Any, state: State, on_train: TrainEvents) -> State:
    """``cwtmae prepare sleep-edf --source <data>`` into ``stores/sleep-edf.zarr``."""
    from cwtmae_cli.data.prepare import prepare_store, summary_problem
    from cwtmae_cli.data.recipes.load import load_recipe
    from cwtmae_cli.errors import DataError
    from cwtmae_cli.workdir import default_store_path

    recipe = load_recipe("sleep-edf")
    store = default_store_path(config.out_dir, recipe.name)
    summary = prepare_store(recipe, state["data"], store, overwrite=True)
    problem = summary_problem(summary)
    if problem:
        raise DataError(f"demo data: {problem}")
    return {"store": store, "prepare_summary": summary}


def pretrain_flags(config: Any) -> dict[str, Any]:
    """The options of the demo's ``cwtmae pretrain`` (store and folder are the defaults')."""
    return {"model": "tiny", "steps": config.pretrain_steps, "batch_size": config.batch_size,
            "lr": 1e-3, "save_every": config.pretrain_steps, "device": config.device,
            "seed": config.seed}


def finetune_flags(config: Any) -> dict[str, Any]:
    """The options of the demo's ``cwtmae finetune`` (it takes the latest pretraining run)."""
    return {"head": "cot", "classes": 5, "steps": config.finetune_steps,
            "batch_size": config.batch_size, "lr": 2e-3, "layer_decay": 0.9,
            "eval_every": max(1, config.finetune_steps // 4), "save_every": config.finetune_steps,
            "device": config.device, "seed": config.seed}


def as_command(command: str, flags: dict[str, Any]) -> str:
    """``cwtmae <command> --key value ...``: what a user types for the same run."""
    return " ".join([f"cwtmae {command}", *(f"--{k.replace('_', '-')} {v}" for k, v in
                                             flags.items())])


def _where(config: Any, state: State) -> dict[str, Any]:
    return {"data": str(state["store"]), "workdir": str(config.out_dir)}


def pretrain(config: Any, state: State, on_train: TrainEvents) -> State:
    """``cwtmae pretrain --model tiny ...``: self-supervised MAE on the train split."""
    from cwtmae_cli.train.pretrain import plan_pretrain, run_pretrain

    flags = {**pretrain_flags(config), **_where(config, state)}
    summary = run_pretrain(plan_pretrain(flags), on_train)
    outputs: State = {"pretrain_run": Path(summary["run_dir"]), "pretrain_summary": summary}
    if summary.get("figure"):
        outputs["reconstruction_png"] = Path(summary["figure"])
    return outputs


def finetune(config: Any, state: State, on_train: TrainEvents) -> State:
    """``cwtmae finetune --head cot --classes 5 ...`` from the pretraining run."""
    from cwtmae_cli.runtime.checkpoint import resolve_checkpoint
    from cwtmae_cli.train.finetune import plan_finetune, run_finetune

    flags = {**finetune_flags(config), **_where(config, state),
             "pretrained": str(state["pretrain_run"])}
    summary = run_finetune(plan_finetune(flags), on_train)
    run_dir = Path(summary["run_dir"])
    return {"finetune_run": run_dir, "checkpoint": resolve_checkpoint(run_dir, prefer="best"),
            "finetune_summary": summary}


def evaluate(config: Any, state: State, on_train: TrainEvents) -> State:
    """``cwtmae evaluate --split test --json ... --plot ...`` with the best checkpoint."""
    import numpy as np

    from cwtmae_cli.evaluate.evaluation import evaluate_checkpoint
    from cwtmae_cli.evaluate.plots import plot_confusion_matrix

    result = evaluate_checkpoint(state["checkpoint"], state["store"], split="test",
                                 device=config.device)
    folder = config.out_dir / "evaluation"
    folder.mkdir(exist_ok=True)
    report = folder / "report.json"
    report.write_text(json.dumps(result.to_dict(), indent=1) + "\n")
    confusion = plot_confusion_matrix(result.metrics["confusion_matrix"]["counts"],
                                      result.label_names, folder / "confusion.png",
                                      title="synthetic demo: test split")
    majority = float(np.bincount(result.y_true).max() / len(result.y_true))
    return {"evaluation": result, "report_json": report, "confusion_png": Path(confusion),
            "test_majority_rate": majority}


def predict(config: Any, state: State, on_train: TrainEvents) -> State:
    """``cwtmae predict <held-back PSG> --plot``; scored against its own hypnogram."""
    from cwtmae_cli.evaluate.prediction import Predictor, predict_paths
    from cwtmae_cli.evaluate.prediction_paths import ensure_writable

    predictor = Predictor(state["checkpoint"], device=config.device)
    folder = ensure_writable(config.out_dir / "predictions")
    outcome = next(predict_paths(predictor, [state["heldout_psg"]], folder, plot=True,
                                 keep_going=False))
    truth = heldout_truth(state["heldout_hypnogram"], list(outcome.table.onset_s))
    scored = [(t, p) for t, p in zip(truth, outcome.table.labels, strict=True) if t is not None]
    accuracy = sum(t == p for t, p in scored) / max(len(scored), 1)
    return {"predictions_tsv": outcome.output, "hypnogram_png": outcome.plot,
            "prediction_table": outcome.table, "heldout_accuracy": accuracy}


def heldout_truth(hypnogram: Path, onset_s: list[float]) -> list[str | None]:
    """The true stage (W/N1/N2/N3/REM; None where unscored) of each window onset."""
    import mne

    annotations = mne.read_annotations(hypnogram)
    ends_s = annotations.onset + annotations.duration
    truth: list[str | None] = []
    for start_s in onset_s:
        hit = [i for i in range(len(annotations)) if annotations.onset[i] <= start_s < ends_s[i]]
        truth.append(SLEEP_EDF_STAGE.get(annotations.description[hit[0]]) if hit else None)
    return truth


Command = Callable[[Any, State], str]  # (config, state with paths as shown) -> command line
STEPS: list[tuple[str, Command, Callable[[Any, State, TrainEvents], State]]] = [
    ("generate", lambda c, s: "write_sleep_edf_dataset(...)  # synthetic, not real recordings",
     generate),
    ("prepare", lambda c, s: f"cwtmae prepare sleep-edf --source {s['data']}", prepare),
    ("pretrain", lambda c, s: as_command("pretrain", pretrain_flags(c)), pretrain),
    ("finetune", lambda c, s: as_command("finetune", finetune_flags(c)), finetune),
    ("evaluate", lambda c, s: "cwtmae evaluate --split test --json evaluation/report.json "
     f"--plot evaluation/confusion.png --device {c.device}", evaluate),
    ("predict", lambda c, s: f"cwtmae predict {s['heldout_psg']} --plot --out predictions "
     f"--device {c.device}", predict),
]
