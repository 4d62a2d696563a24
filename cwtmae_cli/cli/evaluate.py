"""``cwtmae evaluate``: metrics of a classifier checkpoint on a split of a store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cwtmae_cli.cli.console import err, note, out, warn
from cwtmae_cli.cli.metrics_view import render
from cwtmae_cli.cli.options import (
    Checkpoint,
    Data,
    Device,
    ForwardBatch,
    JsonOut,
    RunContext,
    RunPrecision,
    Workdir,
)

Split = Annotated[
    str,
    typer.Option(
        "--split",
        help=(
            "Store split to score: test, val or train; all: every window of the store "
            "(external validation on recordings prepared elsewhere)."
        ),
    ),
]
PlotOut = Annotated[
    Path | None,
    typer.Option("--plot", help="Write the confusion matrix as a PNG here.", show_default=False),
]
PerRecording = Annotated[
    bool,
    typer.Option(
        "--per-recording",
        help=(
            "Add a table with one row per recording; when labels are per recording (cinc2017), "
            "also score recordings (mean window probability) and the recipe's challenge score."
        ),
    ),
]


def channel_mismatch_line(result, most: int = 10) -> str:
    """The warning for recordings read from another channel than the checkpoint's."""
    found = result.channel_mismatches
    listed = ", ".join(f"{m['id']} ({m['channel']})" for m in found[:most])
    if len(found) > most:
        listed += f", ... ({len(found) - most} more)"
    one = len(found) == 1
    return (
        f"{len(found)} {'' if result.split == 'all' else result.split + ' '}"
        f"recording{'' if one else 's'} of the store "
        f"{'was' if one else 'were'} read from another channel than the checkpoint's "
        f"{result.checkpoint_channel}: {listed}; the metrics include {'its' if one else 'their'} "
        "windows"
    )


def evaluate(
    checkpoint: Checkpoint = None,
    data: Data = None,
    split: Split = "test",
    json_path: JsonOut = None,
    plot: PlotOut = None,
    per_recording: PerRecording = False,
    batch_size: ForwardBatch = 32,
    context: RunContext = None,
    device: Device = "auto",
    precision: RunPrecision = "auto",
    workdir: Workdir = None,
) -> None:
    """Metrics of a fine-tuned classifier on a store split (accuracy, kappa, confusion matrix)."""
    from cwtmae_cli.runtime.precision import check_precision_name
    from cwtmae_cli.workdir import resolve_workdir

    _check_options(split, device, json_path, plot, context)
    check_precision_name(precision)
    root = resolve_workdir(workdir)
    ckpt, store = _locate(root, checkpoint, data)
    result = _evaluate_with_progress(ckpt, store, split, batch_size, device, per_recording,
                                     precision, context)
    doc = result.to_dict()
    if result.labels_per_recording and not per_recording:
        note("labels are per recording: --per-recording scores recordings too")
    if result.channel_mismatches:
        warn(channel_mismatch_line(result))
    for line in result.seen_warnings:
        warn(line)
    title = f"{Path(ckpt).name} on {Path(store).name} ({split})"
    _report(result, doc, json_path, plot, title=title)


def _check_options(
    split: str, device: str, json_path: Path | None, plot: Path | None, context: int | None
) -> None:
    """Usage errors before any checkpoint or store is looked at; the output folders made before
    the work, so that a path that cannot be written fails now, not after it."""
    from cwtmae_cli.errors import CwtmaeError, UsageError
    from cwtmae_cli.evaluate.evaluation import SPLIT_CHOICES, SPLITS
    from cwtmae_cli.evaluate.inference import check_context_size
    from cwtmae_cli.runtime.device import resolve_device

    if context is not None:
        check_context_size(context)
    if split not in SPLITS:
        raise UsageError(f"unknown split `{split}`; choose {SPLIT_CHOICES}")
    resolve_device(device)
    for target in (json_path, plot):
        if target is not None and str(target) != "-":
            try:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CwtmaeError(f"cannot write {target}: {exc.strerror or exc}") from None


def _locate(root: Path, checkpoint: Path | None, data: Path | None) -> tuple[Path, Path]:
    """The checkpoint and the store to evaluate, each named on stderr when it was chosen for
    the user (a default, or a checkpoint picked inside a run folder)."""
    from cwtmae_cli.evaluate.evaluation import choose_checkpoint
    from cwtmae_cli.workdir import find_store

    ckpt = choose_checkpoint(root, checkpoint)
    if checkpoint is None or ckpt != Path(checkpoint):
        note(f"using checkpoint {ckpt}")
    store = find_store(root, data)
    if data is None:
        note(f"using store {store}")
    return ckpt, store


def _evaluate_with_progress(
    ckpt: Path, store: Path, split: str, batch_size: int, device: str, per_recording: bool,
    precision: str = "auto",
    context: int | None = None,
) -> Any:
    """The library's evaluation, with a transient progress bar on stderr."""
    from rich.progress import Progress

    from cwtmae_cli.evaluate.evaluation import evaluate_checkpoint

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(f"evaluating {split}", total=None)
        return evaluate_checkpoint(
            ckpt,
            store,
            split=split,
            batch_size=batch_size,
            device=device,
            per_recording=per_recording,
            precision=precision,
            context=context,
            progress=lambda done, n: bar.update(task, completed=done, total=n),
        )


def _report(
    result: Any, doc: dict[str, Any], json_path: Path | None, plot: Path | None, title: str
) -> None:
    """The tables on stdout (or the JSON alone with ``--json -``), then the JSON file and the
    confusion-matrix plot when asked for."""
    import json

    if json_path is not None and str(json_path) == "-":
        out.print_json(json.dumps(doc))
    else:
        render(result)
    if json_path is not None and str(json_path) != "-":
        Path(json_path).write_text(json.dumps(doc, indent=1) + "\n")
        note(f"wrote {json_path}")
    if plot is not None:
        from cwtmae_cli.evaluate.plots import plot_confusion_matrix

        plot_confusion_matrix(
            result.metrics["confusion_matrix"]["counts"], result.label_names, plot, title=title
        )
        note(f"wrote {plot}")


def register(app: typer.Typer) -> None:
    app.command(name="evaluate")(evaluate)
