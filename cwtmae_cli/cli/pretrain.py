"""``cwtmae pretrain``: self-supervised MAE pretraining on a store's windows."""

from __future__ import annotations

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


def pretrain(
    data: Data = None,
    model: ModelSize = None,
    channel: TrainChannel = None,
    epochs: Epochs = None,
    steps: Steps = None,
    batch_size: TrainBatch = None,
    lr: Lr = None,
    mask_ratio: Annotated[
        float | None,
        typer.Option(
            "--mask-ratio", help="Fraction of patches masked (default: 0.75).", show_default=False
        ),
    ] = None,
    mask_mode: Annotated[
        str | None,
        typer.Option(
            "--mask-mode",
            help="random patches, or whole time columns (time) (default: random).",
            show_default=False,
        ),
    ] = None,
    splits: Annotated[
        str | None,
        typer.Option(
            "--splits",
            help="Comma-separated store splits to train on "
            "(default: train); the test split only when named.",
            show_default=False,
        ),
    ] = None,
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
    """Self-supervised CWT-MAE pretraining on a store (labels ignored)."""
    flags = training_flags(locals())  # first, while the parameters are the only locals
    from cwtmae_cli.train.pretrain import plan_pretrain, run_pretrain

    plan = plan_pretrain(flags, config)
    run_and_report(plan, run_pretrain, "pretrain")


def register(app: typer.Typer) -> None:
    app.command(name="pretrain")(pretrain)
