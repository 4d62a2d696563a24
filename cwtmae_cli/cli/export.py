"""``cwtmae export CHECKPOINT --out DIR``: a checkpoint as a Hugging Face hub model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cwtmae_cli.cli.console import note, out

Source = Annotated[
    Path,
    typer.Argument(
        help="A checkpoint folder, or a run folder (its best checkpoint, else its newest).",
        show_default=False,
    ),
]
Out = Annotated[
    Path,
    typer.Option(
        "--out",
        help="Folder to write (new or empty): model.safetensors, meta.json, config.json, "
        "README.md, manifest.json.",
        show_default=False,
    ),
]


def export(checkpoint: Source, out_dir: Out) -> None:
    """Write a checkpoint as a folder the Hugging Face hub takes, with a model card."""
    from cwtmae_cli.runtime.export import export_checkpoint

    folder = export_checkpoint(checkpoint, out_dir)
    for child in sorted(folder.iterdir()):
        out.print(f"{child.name}\t{child.stat().st_size}", highlight=False)
    note(f"wrote {folder}; upload it with `hf upload OWNER/NAME {folder}`, then use it as "
         "hf://OWNER/NAME")


def register(app: typer.Typer) -> None:
    app.command(name="export")(export)
