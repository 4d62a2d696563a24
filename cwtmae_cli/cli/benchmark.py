"""``cwtmae benchmark``: subject-wise k-fold cross-validation, fine-tuning from a pretraining run
and from scratch at several label fractions; mean ± sd per setting and fraction."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cwtmae_cli.cli.benchmark_view import BenchmarkView, render, say_lacking
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
    context: Annotated[
        int | None,
        typer.Option(
            "--context",
            help="Windows each cell's classifier sees per classified window, centred on it "
            "(odd; see finetune --context); its test scoring uses the same (default: 1, none).",
            show_default=False,
        ),
    ] = None,
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
    unseen_only: Annotated[
        bool,
        typer.Option(
            "--unseen-only",
            help="Cross-validate only the recordings the pretraining checkpoint did not see "
            "(matched by name and length; both settings, same folds): held-out figures.",
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
    training = {
        "head": head,
        "channel": channel,
        "context": context,
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
            "--context": context,
            "--epochs": epochs,
            "--steps": steps,
            "--batch-size": batch_size,
            "--lr": lr,
            "--seed": seed,
            "--out": out_dir,
            "--config": config,
            "--keep-checkpoints": keep_checkpoints or None,
            "--unseen-only": unseen_only or None,
        }
        plan = _resumed_plan(resume, device, given, workdir)
    else:
        settings = _new_settings(
            folds, label_fractions, val_fraction, seed, (keep_checkpoints, unseen_only),
            training, config,
        )
        from cwtmae_cli.benchmark.plan import plan_benchmark

        plan = plan_benchmark(
            settings, data=data, workdir=workdir, pretrained=pretrained, out=out_dir
        )
    _run(plan, json_out)


def _resumed_plan(
    resume: Path, device: str | None, given: dict[str, Any], workdir: Path | None
) -> Any:
    """The plan of a benchmark to continue; refused when any setting option is given too (the
    run's saved settings win, so a given one would be silently ignored), or a workdir other
    than the run's own."""
    from cwtmae_cli.benchmark.plan import plan_benchmark
    from cwtmae_cli.errors import UsageError

    named = [k for k, v in given.items() if v is not None]
    if named:
        raise UsageError(
            f"--resume continues a benchmark with its saved settings; leave out "
            f"{', '.join(named)}"
        )
    return plan_benchmark(None, resume=resume, device=device, workdir=workdir)


def _new_settings(
    folds: int | None,
    label_fractions: str | None,
    val_fraction: float | None,
    seed: int | None,
    flags: tuple[bool, bool],
    training: dict[str, Any],
    config: Path | None,
) -> Any:
    """The settings of a new benchmark: the options given, the defaults for the others; the
    fine-tuning options only where given (``--channel 1`` as index 1). ``flags``:
    ``--keep-checkpoints``, ``--unseen-only``."""
    from cwtmae_cli.benchmark.plan import BenchmarkSettings
    from cwtmae_cli.benchmark.protocol import parse_fractions

    channel = training["channel"]
    if channel is not None and channel.strip().isdigit():
        training = {**training, "channel": int(channel)}
    return BenchmarkSettings(
        n_folds=5 if folds is None else folds,
        label_fractions=parse_fractions(
            "0.05,0.2,1.0" if label_fractions is None else label_fractions
        ),
        val_fraction=0.2 if val_fraction is None else val_fraction,
        seed=0 if seed is None else seed,
        keep_checkpoints=flags[0],
        unseen_only=flags[1],
        finetune={k: v for k, v in training.items() if v is not None},
        config_file=str(config.resolve()) if config is not None else None,
    )


def _run(plan: Any, json_out: bool) -> None:
    """Say the plan's notes and warnings, run its cells with a view, print the result."""
    import json

    from cwtmae_cli.benchmark.runner import run_benchmark

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
    say_lacking(doc)
    if json_out:
        out.print_json(json.dumps(doc))
    else:
        render(doc)


def register(app: typer.Typer) -> None:
    app.command(name="benchmark")(benchmark)
