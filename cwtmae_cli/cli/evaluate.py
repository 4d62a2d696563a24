"""``cwtmae evaluate``: metrics of a classifier checkpoint on a split of a store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cwtmae_cli.cli.console import err, note, out, warn
from cwtmae_cli.cli.options import Checkpoint, Data, Device, ForwardBatch, Workdir
from cwtmae_cli.wording import plural

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
JsonOut = Annotated[
    Path | None,
    typer.Option(
        "--json",
        help="Write every metric to this JSON file ('-' prints the JSON alone on stdout).",
        show_default=False,
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


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def scope(result) -> tuple[str, str]:
    """The title of an EvaluationResult's summary table and the phrase naming what was scored
    (``the test split``; with ``--split all``, ``the store``)."""
    n_windows = plural(result.metrics["summary"]["n_windows"], "window")
    if result.split == "all":
        return f"split: all ({n_windows} from {plural(result.n_recordings, 'recording')})", (
            "the store"
        )
    return f"{result.split} split: {n_windows}", f"the {result.split} split"


def render(
    result, title: str | None = None, where: str | None = None, unit: str = "window"
) -> None:
    """Rich tables of a result on stdout: its ``metrics`` (:func:`classification_metrics`),
    then its ``per_recording`` and ``recording_level`` when set. ``title`` and ``where`` default
    to :func:`scope`'s (an EvaluationResult); ``unit`` is what ``metrics`` counts (``window``;
    ``cwtmae score`` of recording labels: ``recording``)."""
    from rich.table import Table

    s = result.metrics["summary"]
    if title is None or where is None:
        title, where = scope(result)
    summary = Table(title=title, title_justify="left")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    for key, name in (
        ("accuracy", "accuracy"),
        ("balanced_accuracy", "balanced accuracy"),
        ("macro_f1", "macro-F1"),
        ("cohen_kappa", "Cohen's kappa"),
    ):
        summary.add_row(name, _fmt(s[key]))
    absent = result.metrics.get("classes_without_support") or []
    if absent:
        summary.add_row("macro-F1, classes present", _fmt(s["macro_f1_supported"]))
    out.print(summary)
    if absent:
        which = ", ".join(absent)
        out.print(
            f"no {which} {unit} in {where}: macro-F1 counts "
            f"{'its' if len(absent) == 1 else 'their'} F1 as 0; over the classes present it is "
            f"{_fmt(s['macro_f1_supported'])}",
            highlight=False,
        )
        warn(f"{where} has no {which} {unit}: its macro-F1 is not comparable")

    report = Table(title="per class", title_justify="left")
    for col in ("class", "precision", "recall", "F1", "support"):
        report.add_column(col, justify="left" if col == "class" else "right")
    for row in result.metrics["per_class"]:
        report.add_row(
            row["label"],
            _fmt(row["precision"]),
            _fmt(row["recall"]),
            _fmt(row["f1"]),
            str(row["support"]),
        )
    out.print(report)

    cm = result.metrics["confusion_matrix"]
    for key, title, cell in (
        ("counts", "confusion matrix (rows true, columns predicted)", str),
        ("normalized", "confusion matrix, row-normalised", lambda v: _fmt(v, 3)),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column("true \\ pred")
        for name in cm["labels"]:
            table.add_column(name, justify="right")
        for name, values in zip(cm["labels"], cm[key], strict=True):
            table.add_row(name, *[cell(v) for v in values])
        out.print(table)

    if getattr(result, "recording_level", None):  # labels per recording: one answer each
        render_recording_rows(result.recording_level["recordings"], result.per_recording or [])
    elif getattr(result, "per_recording", None):
        per_rec = Table(title="per recording", title_justify="left")
        for col in ("recording", "windows", "accuracy", "balanced acc.", "macro-F1", "kappa"):
            per_rec.add_column(col, justify="left" if col == "recording" else "right")
        for row in result.per_recording:
            per_rec.add_row(
                row["recording"],
                str(row["n_windows"]),
                _fmt(row["accuracy"]),
                _fmt(row["balanced_accuracy"]),
                _fmt(row["macro_f1"]),
                _fmt(row["cohen_kappa"]),
            )
        out.print(per_rec)
    if getattr(result, "recording_level", None):
        render_recording_level(result.recording_level, result.split)


def render_recording_rows(recordings: list[dict], window_rows: list[dict]) -> None:
    """One row per recording whose label is per recording: truth, answer (the mean of its
    windows' probabilities), its confidence, and the share of its windows classified right."""
    from rich.table import Table

    right = {row["recording"]: row["accuracy"] for row in window_rows}
    table = Table(title="per recording", title_justify="left")
    for col in ("recording", "windows", "true", "predicted", "confidence", "windows right"):
        table.add_column(
            col, justify="left" if col in ("recording", "true", "predicted") else "right"
        )
    for row in recordings:
        table.add_row(
            row["recording"],
            str(row["n_windows"]),
            row["label"],
            row["predicted"],
            _fmt(row["confidence"], 3),
            _fmt(right.get(row["recording"]), 3),
        )
    out.print(table)


def render_recording_level(level: dict, split: str) -> None:
    """Recordings scored as wholes: summary, challenge score, per class, confusion counts."""
    from rich.table import Table

    s = level["summary"]
    title = (
        f"{'store' if split == 'all' else split + ' split'}: "
        f"{plural(level['n_recordings'], 'recording')}, each the mean of its "
        "windows' probabilities"
    )
    summary = Table(title=title, title_justify="left")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    for key, name in (
        ("accuracy", "accuracy"),
        ("balanced_accuracy", "balanced accuracy"),
        ("macro_f1", "macro-F1"),
        ("cohen_kappa", "Cohen's kappa"),
    ):
        summary.add_row(name, _fmt(s[key]))
    score = level.get("score")
    if score:
        summary.add_row(score["name"], _fmt(score["value"]))
    out.print(summary)
    if score and score["missing"]:
        warn(
            f"{score['name']}: no true {'' if split == 'all' else split + ' '}recording of "
            f"{', '.join(score['missing'])}; "
            "its F1 of 0 is in the mean"
        )
    report = Table(title="per class (recordings)", title_justify="left")
    for col in ("class", "precision", "recall", "F1", "support"):
        report.add_column(col, justify="left" if col == "class" else "right")
    for row in level["per_class"]:
        report.add_row(
            row["label"],
            _fmt(row["precision"]),
            _fmt(row["recall"]),
            _fmt(row["f1"]),
            str(row["support"]),
        )
    out.print(report)
    cm = level["confusion_matrix"]
    table = Table(title="recordings: confusion matrix (rows true)", title_justify="left")
    table.add_column("true \\ pred")
    for name in cm["labels"]:
        table.add_column(name, justify="right")
    for name, values in zip(cm["labels"], cm["counts"], strict=True):
        table.add_row(name, *[str(v) for v in values])
    out.print(table)


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
    device: Device = "auto",
    workdir: Workdir = None,
) -> None:
    """Metrics of a fine-tuned classifier on a store split (accuracy, kappa, confusion matrix)."""
    import json

    from rich.progress import Progress

    from cwtmae_cli.errors import CwtmaeError, UsageError
    from cwtmae_cli.evaluate.evaluation import (
        SPLIT_CHOICES,
        SPLITS,
        choose_checkpoint,
        evaluate_checkpoint,
    )
    from cwtmae_cli.runtime.device import resolve_device
    from cwtmae_cli.workdir import find_store, resolve_workdir

    if split not in SPLITS:  # usage errors before any checkpoint or store is looked at
        raise UsageError(f"unknown split `{split}`; choose {SPLIT_CHOICES}")
    resolve_device(device)
    for target in (json_path, plot):  # fail before the work, not after it
        if target is not None and str(target) != "-":
            try:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CwtmaeError(f"cannot write {target}: {exc.strerror or exc}") from None
    root = resolve_workdir(workdir)
    ckpt = choose_checkpoint(root, checkpoint)
    if checkpoint is None or ckpt != Path(checkpoint):  # a default or a run folder: name it
        note(f"using checkpoint {ckpt}")
    store = find_store(root, data)
    if data is None:
        note(f"using store {store}")
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(f"evaluating {split}", total=None)
        result = evaluate_checkpoint(
            ckpt,
            store,
            split=split,
            batch_size=batch_size,
            device=device,
            per_recording=per_recording,
            progress=lambda done, n: bar.update(task, completed=done, total=n),
        )
    doc = result.to_dict()
    if result.labels_per_recording and not per_recording:
        note("labels are per recording: --per-recording scores recordings too")
    if result.channel_mismatches:
        warn(channel_mismatch_line(result))
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
            result.metrics["confusion_matrix"]["counts"],
            result.label_names,
            plot,
            title=f"{Path(ckpt).name} on {Path(store).name} ({split})",
        )
        note(f"wrote {plot}")


def register(app: typer.Typer) -> None:
    app.command(name="evaluate")(evaluate)
