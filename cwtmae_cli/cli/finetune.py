"""``cwtmae finetune``: a TF_MAE_Classifier from a pretraining checkpoint, selected on the
validation split by macro-F1 (the test split is never read)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cwtmae_cli.cli.options import (
    Compile,
    ConfigFile,
    Data,
    Device,
    Epochs,
    Gpus,
    Lr,
    ModelSize,
    Resume,
    RunOut,
    SaveEvery,
    Seed,
    Steps,
    TrainBatch,
    TrainChannel,
    TrainPrecision,
    Workdir,
    training_flags,
)
from cwtmae_cli.cli.training_view import run_and_report


def finetune(
    data: Data = None,
    pretrained: Annotated[
        Path | None,
        typer.Option(
            "--pretrained",
            help="Pretraining checkpoint folder, run folder (= its latest), exported folder "
            "or hf://OWNER/NAME[@REV] (default: the latest finished pretraining run in "
            "<workdir>/runs).",
            show_default=False,
        ),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            help="Classification head: cot (latent reasoning) or mlp (default: cot).",
            show_default=False,
        ),
    ] = None,
    classes: Annotated[
        int | None,
        typer.Option(
            "--classes",
            help="Number of classes; must equal the store's label count (default: the store's).",
            show_default=False,
        ),
    ] = None,
    layer_decay: Annotated[
        float | None,
        typer.Option(
            "--layer-decay",
            help="Layer-wise lr decay: layer i of n trains at "
            "lr * decay^(n-1-i); 1 turns it off (default: 0.75).",
            show_default=False,
        ),
    ] = None,
    class_weights: Annotated[
        bool, typer.Option("--class-weights", help="Weight the loss by inverse class frequency.")
    ] = False,
    balanced_sampling: Annotated[
        bool,
        typer.Option(
            "--balanced-sampling",
            help="Draw training windows class-balanced (with replacement) instead of in the "
            "data's mix; not with --class-weights.",
        ),
    ] = False,
    balance_power: Annotated[
        float | None,
        typer.Option(
            "--balance-power",
            help="With --balanced-sampling: a class of n windows makes up a share of the draws "
            "in proportion to n^(1 - power); 1 equal shares, 0.5 square-root shares, which keep "
            "more of the common classes (default: 1).",
            show_default=False,
        ),
    ] = None,
    label_smoothing: Annotated[
        float | None,
        typer.Option(
            "--label-smoothing",
            help="Cross-entropy label smoothing (default: 0.1).",
            show_default=False,
        ),
    ] = None,
    freeze_encoder: Annotated[
        bool, typer.Option("--freeze-encoder", help="Train the head only (linear probing).")
    ] = False,
    from_scratch: Annotated[
        bool,
        typer.Option(
            "--from-scratch",
            help="Random encoder weights (ablation); the "
            "architecture comes from --pretrained if given, else --model.",
        ),
    ] = False,
    dropout: Annotated[
        float | None,
        typer.Option("--dropout", help="Head dropout (default: 0.1).", show_default=False),
    ] = None,
    eval_every: Annotated[
        int | None,
        typer.Option(
            "--eval-every",
            help="Validate every N steps (default: every epoch and at the end).",
            show_default=False,
        ),
    ] = None,
    context: Annotated[
        int | None,
        typer.Option(
            "--context",
            help="Windows seen per classified window, centred on it (odd): a small transformer "
            "over their embeddings; gaps and recording edges are masked (default: 1, none).",
            show_default=False,
        ),
    ] = None,
    model: ModelSize = None,
    channel: TrainChannel = None,
    epochs: Epochs = None,
    steps: Steps = None,
    batch_size: TrainBatch = None,
    lr: Lr = None,
    gpus: Gpus = None,
    device: Device = None,
    seed: Seed = None,
    save_every: SaveEvery = None,
    out: RunOut = None,
    resume: Resume = None,
    compile: Compile = False,
    precision: TrainPrecision = None,
    config: ConfigFile = None,
    workdir: Workdir = None,
) -> None:
    """Fine-tune a classifier from a pretraining checkpoint; keeps the best on validation."""
    flags = training_flags(locals())  # first, while the parameters are the only locals
    from cwtmae_cli.train.finetune import plan_finetune, run_finetune

    plan = plan_finetune(flags, config)
    run_and_report(plan, run_finetune, "finetune")


def register(app: typer.Typer) -> None:
    app.command(name="finetune")(finetune)
