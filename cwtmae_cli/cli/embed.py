"""``cwtmae embed PATH --out OUT``: one embedding per window, for scikit-learn and friends."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cwtmae_cli.cli.console import note, out, warn
from cwtmae_cli.cli.options import Device, ForwardBatch, Workdir
from cwtmae_cli.wording import plural

EmbedInput = Annotated[
    Path,
    typer.Argument(
        help="An EDF/BDF file, a WFDB record, a folder of them, or a store (.zarr).",
        show_default=False,
    ),
]
EmbedCheckpoint = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="Classifier or pretraining checkpoint, run folder, exported folder or "
        "hf://OWNER/NAME[@REV]; default: the best checkpoint of the latest fine-tuning run.",
        show_default=False,
    ),
]
EmbedOut = Annotated[
    Path,
    typer.Option(
        "--out",
        help="Writes OUT.npy (windows x embed_dim float32) and OUT.tsv (row, recording, "
        "onset_s, label, split); an OUT ending in .zarr gets one zarr v3 group holding both "
        "instead. None may exist.",
        show_default=False,
    ),
]
EmbedChannel = Annotated[
    str | None,
    typer.Option(
        "--channel",
        help="Channel to read from recordings (default: the checkpoint's channel slot).",
        show_default=False,
    ),
]


def embed(
    path: EmbedInput,
    out_path: EmbedOut,
    checkpoint: EmbedCheckpoint = None,
    channel: EmbedChannel = None,
    batch_size: ForwardBatch = 32,
    device: Device = "auto",
    workdir: Workdir = None,
) -> None:
    """Write the encoder's embedding of every window (mean patch token) for linear probes."""
    from cwtmae_cli.errors import UsageError
    from cwtmae_cli.evaluate import embedding
    from cwtmae_cli.evaluate.embedding_store import is_zarr_output, write_zarr
    from cwtmae_cli.evaluate.evaluation import choose_checkpoint
    from cwtmae_cli.runtime.device import resolve_device
    from cwtmae_cli.workdir import resolve_workdir

    torch_device = resolve_device(device)
    embedding.check_output(out_path)  # an existing output: a usage error before any work
    if not path.exists():
        raise UsageError(f"no such file or folder: {path}")
    ckpt = choose_checkpoint(resolve_workdir(workdir), checkpoint)
    model, meta = embedding.load_encoder_model(ckpt, torch_device)
    note(f"using checkpoint {ckpt} ({meta['kind']})")
    if (path / "zarr.json").is_file():
        parts = [embedding.embed_store(model, meta, path, batch_size, torch_device)]
    else:
        parts = _embed_recordings(model, meta, ckpt, path, channel, batch_size, torch_device)
    dim = parts[0].vectors.shape[1]
    if is_zarr_output(out_path):
        group, n = write_zarr(parts, out_path, embedding.provenance(ckpt, meta, path))
        out.print(f"{group}\t{n} x {dim}", highlight=False)
        return
    vectors, table, n = embedding.write_embeddings(parts, out_path)
    out.print(f"{vectors}\t{n} x {dim}", highlight=False)
    out.print(f"{table}\t{plural(n, 'row')}", highlight=False)


def _embed_recordings(model, meta, ckpt, path, channel, batch_size, device) -> list:
    from cwtmae_cli.evaluate import embedding
    from cwtmae_cli.evaluate.prediction_paths import find_recordings

    reader = embedding.RecordingWindows(ckpt, meta, channel)
    parts = []
    for source, part in embedding.embed_recordings(
        model, reader, find_recordings(path), batch_size, device
    ):
        if part.n_bad:
            warn(f"{source.name}: {plural(part.n_bad, 'window')} failed quality control "
                 "(non-finite or flat) and have no embedding")
        parts.append(part)
    return parts


def register(app: typer.Typer) -> None:
    app.command(name="embed")(embed)
