"""Option aliases shared by several commands, so that their help text is identical everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Workdir = Annotated[
    Path | None,
    typer.Option(
        "--workdir",
        envvar="CWTMAE_HOME",
        help="Working folder holding stores/ and runs/ "
        "(default: $CWTMAE_HOME or the current folder).",
        show_default=False,
    ),
]
Data = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Store to read (a .zarr folder); default: the only store in <workdir>/stores/.",
        show_default=False,
    ),
]
Checkpoint = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="Classifier checkpoint folder or run folder; default: the best checkpoint of the "
        "latest fine-tuning run.",
        show_default=False,
    ),
]
Device = Annotated[
    str,
    typer.Option(
        "--device", help="Torch device: auto, cpu, cuda or cuda:N (auto picks CUDA when present)."
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
