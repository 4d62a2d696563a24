"""``cwtmae benchmark``: subject-wise k-fold cross-validation, fine-tuning from a pretraining run
and from scratch at several label fractions; mean ± sd per setting and fraction."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cwtmae_cli.cli.console import note, out, warn
from cwtmae_cli.cli.options import (
    ConfigFile,
    Data,
    Epochs,
    JsonFlag,
    Lr,
    Steps,
    TrainBatch,
    TrainChannel,
    Workdir,
)

_METRIC_NAMES = (
    ("accuracy", "accuracy"),
    ("balanced_accuracy", "balanced acc."),
    ("macro_f1", "macro-F1"),
    ("cohen_kappa", "kappa"),
)


class BenchmarkView:
    """Status lines per cell and a training progress bar while a cell trains (stderr)."""

    def __init__(self, n_cells: int) -> None:
        self.n_cells, self.seen = n_cells, 0
        self.progress: Any = None

    def _title(self, payload: dict[str, Any]) -> str:
        return (
            f"fold {payload['fold']} {payload['setting']} "
            f"{payload['label_fraction'] * 100:g} % ({self.seen}/{self.n_cells})"
        )

    def report(self, kind: str, payload: dict[str, Any]) -> None:
        from cwtmae_cli.cli.training_view import TrainingProgress

        self.seen += 1 if kind in ("skip", "start") else 0
        if kind == "skip":
            note(f"{self._title(payload)}: finished before, skipped")
        elif kind == "start":
            self.progress = TrainingProgress(self._title(payload)).__enter__()
        elif kind == "done":
            self.close()
            test = payload["result"]["test"]
            note(
                f"{self._title(payload)}: test macro-F1 {test['macro_f1']:.4f}  "
                f"accuracy {test['accuracy']:.4f}"
            )

    def events(self, kind: str, payload: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress(kind, payload)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)
            self.progress = None


def render(doc: dict[str, Any]) -> None:
    """The mean ± sd table per setting and fraction, and the gain of pretraining, on stdout."""
    from rich.table import Table

    from cwtmae_cli.benchmark.results import format_mean_sd, label_efficiency_gain

    settings = doc["settings"]
    table = Table(
        title=f"{settings['n_folds']}-fold subject-wise cross-validation on the test folds "
        "(mean ± sd over folds)",
        title_justify="left",
    )
    table.add_column("setting", no_wrap=True)
    table.add_column("labels", justify="right", no_wrap=True)
    table.add_column("folds", justify="right", no_wrap=True)
    for _, name in _METRIC_NAMES:
        table.add_column(name, justify="right")
    partial = False
    for setting, by_fraction in doc["summary"].items():
        for key, stats in by_fraction.items():
            cells = []
            for metric, _ in _METRIC_NAMES:
                text = format_mean_sd(stats[metric])
                if 0 < stats[metric]["n"] < stats["n_folds"]:
                    text, partial = f"{text} (n={stats[metric]['n']})", True
                cells.append(text)
            table.add_row(setting, f"{float(key) * 100:g} %", str(stats["n_folds"]), *cells)
    out.print(table)
    if partial:
        out.print(
            "(n=...): over the folds where the metric is defined (kappa is not when truth and "
            "predictions hold one class)",
            highlight=False,
        )
    gains = label_efficiency_gain(doc["summary"])
    gain = Table(title="macro-F1 gain of pretraining (pretrained - scratch)", title_justify="left")
    gain.add_column("labels")
    gain.add_column("gain", justify="right")
    for key, value in gains.items():
        gain.add_row(f"{float(key) * 100:g} %", "n/a" if value is None else f"{value:+.3f}")
    out.print(gain)
    out.print(f"benchmark.json and the plot: {doc['run_dir']}", highlight=False)


def benchmark(
    data: Data = None,
    pretrained: Annotated[
        Path | None,
        typer.Option(
            "--pretrained",
            help="Pretraining checkpoint folder, or run folder (= its latest) (default: the "
            "latest finished pretraining run in <workdir>/runs).",
            show_default=False,
        ),
    ] = None,
    folds: Annotated[
        int | None,
        typer.Option("--folds", help="Folds, by subject (default: 5).", show_default=False),
    ] = None,
    label_fractions: Annotated[
        str | None,
        typer.Option(
            "--label-fractions",
            help="Fractions of the training windows to fine-tune on, comma-separated, each in "
            "(0, 1] (default: 0.05,0.2,1.0).",
            show_default=False,
        ),
    ] = None,
    val_fraction: Annotated[
        float | None,
        typer.Option(
            "--val-fraction",
            help="Share of each fold's non-test subjects that choose the best epoch "
            "(default: 0.2).",
            show_default=False,
        ),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option(
            "--head", help="Classification head: cot or mlp (default: cot).", show_default=False
        ),
    ] = None,
    channel: TrainChannel = None,
    epochs: Epochs = None,
    steps: Steps = None,
    batch_size: TrainBatch = None,
    lr: Lr = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Seed of the folds, label subsets and every cell's training (default: 0).",
            show_default=False,
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            "--device",
            help="Torch device: auto, cpu, cuda or cuda:N (default: auto).",
            show_default=False,
        ),
    ] = None,
    keep_checkpoints: Annotated[
        bool,
        typer.Option(
            "--keep-checkpoints",
            help="Keep every cell's checkpoints (default: removed once scored).",
        ),
    ] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Run folder (default: <workdir>/runs/benchmark-<UTC stamp>).",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            help="Continue a benchmark run folder with its saved settings: finished cells are "
            "skipped.",
            show_default=False,
        ),
    ] = None,
    config: ConfigFile = None,
    json_out: JsonFlag = False,
    workdir: Workdir = None,
) -> None:
    """Cross-validate fine-tuning from pretraining against from scratch at label fractions."""
    import json

    from cwtmae_cli.benchmark.plan import BenchmarkSettings, plan_benchmark
    from cwtmae_cli.benchmark.protocol import parse_fractions
    from cwtmae_cli.benchmark.runner import run_benchmark
    from cwtmae_cli.errors import UsageError

    training = {
        "head": head,
        "channel": channel,
        "epochs": epochs,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "device": device,
    }
    if resume is not None:
        given = {
            "--data": data,
            "--pretrained": pretrained,
            "--folds": folds,
            "--label-fractions": label_fractions,
            "--val-fraction": val_fraction,
            "--head": head,
            "--channel": channel,
            "--epochs": epochs,
            "--steps": steps,
            "--batch-size": batch_size,
            "--lr": lr,
            "--seed": seed,
            "--out": out_dir,
            "--config": config,
            "--keep-checkpoints": keep_checkpoints or None,
        }
        named = [k for k, v in given.items() if v is not None]
        if named:
            raise UsageError(
                f"--resume continues a benchmark with its saved settings; leave out "
                f"{', '.join(named)}"
            )
        plan = plan_benchmark(None, resume=resume, device=device)
    else:
        if channel is not None and channel.strip().isdigit():
            training["channel"] = int(channel)
        settings = BenchmarkSettings(
            n_folds=5 if folds is None else folds,
            label_fractions=parse_fractions(
                "0.05,0.2,1.0" if label_fractions is None else label_fractions
            ),
            val_fraction=0.2 if val_fraction is None else val_fraction,
            seed=0 if seed is None else seed,
            keep_checkpoints=keep_checkpoints,
            finetune={k: v for k, v in training.items() if v is not None},
            config_file=str(config.resolve()) if config is not None else None,
        )
        plan = plan_benchmark(
            settings, data=data, workdir=workdir, pretrained=pretrained, out=out_dir
        )
    for line in plan.notes:
        note(line)
    for line in plan.warnings:
        warn(line)
    note(f"run folder {plan.run_dir}")
    view = BenchmarkView(len(plan.cells()))
    try:
        doc = run_benchmark(plan, view.report, view.events)
    finally:
        view.close()
    if json_out:
        out.print_json(json.dumps(doc))
    else:
        render(doc)


def register(app: typer.Typer) -> None:
    app.command(name="benchmark")(benchmark)
