"""``cwtmae predict PATH``: per-window predictions for new recordings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cwtmae_cli.cli.console import note, out, progress_bar, warn
from cwtmae_cli.cli.options import (
    BundledModelName,
    Checkpoint,
    Device,
    ForwardBatch,
    RunContext,
    RunPrecision,
    Workdir,
)
from cwtmae_cli.wording import plural

PREDICTIONS_DIR = "predictions"

InputPath = Annotated[
    Path,
    typer.Argument(
        help=(
            "An EDF/BDF file, an MNE raw .fif file, a WFDB record (rec, rec.hea, rec.dat or "
            "rec.mat) or a folder of them."
        ),
        show_default=False,
    ),
]
Channel = Annotated[
    str | None,
    typer.Option(
        "--channel",
        help="Channel to read, or alternatives tried in order ('V1|V2'); one per slot, "
        "comma-separated, for a several-channel model; default: the checkpoint's channel slots.",
        show_default=False,
    ),
]
OutDir = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Folder for the outputs (default: <workdir>/predictions/).",
        show_default=False,
    ),
]
Format = Annotated[
    str,
    typer.Option(
        "--format",
        help="Prediction file format: tsv (BIDS-events-like), csv, json, edf (EDF+ annotations "
        "for MNE and EDFbrowser), bids (<recording>_events.tsv + _events.json).",
    ),
]
StrideS = Annotated[
    float | None,
    typer.Option(
        "--stride-s",
        help="Seconds between window onsets (default: the window length).",
        show_default=False,
    ),
]
Plot = Annotated[
    bool,
    typer.Option(
        "--plot",
        help="Also plot class over time: <recording>_hypnogram.png for sleep stages, else "
        "<recording>_labels.png (the recording's own scoring, hypnogram or .atr, overlaid), and "
        "the class probabilities stacked over time: <recording>_hypnodensity.png, else "
        "<recording>_probabilities.png.",
    ),
]


def render_summary(table) -> None:
    """One recording's summary: time per class and, for sleep models, the sleep statistics."""
    from rich.table import Table

    summary = table.summary
    t = Table(
        title=f"{table.recording_id}: {plural(summary['n_windows'], 'window')} "
        f"({summary['n_bad']} bad)",
        title_justify="left",
    )
    t.add_column("class")
    t.add_column("minutes", justify="right")
    t.add_column("share", justify="right")
    total = sum(summary["minutes_per_class"].values()) or 1.0
    for name, minutes in summary["minutes_per_class"].items():
        t.add_row(name, f"{minutes:.1f}", f"{100 * minutes / total:.1f} %")
    out.print(t)
    sleep = summary["sleep"]
    if sleep is not None:
        s = Table(show_header=False, box=None, padding=(0, 2))
        for key, name, unit in (
            ("total_sleep_time_min", "total sleep time", "min"),
            ("sleep_efficiency_pct", "sleep efficiency", "%"),
            ("sleep_onset_latency_min", "sleep-onset latency", "min"),
            ("rem_latency_min", "REM latency (from sleep onset)", "min"),
            ("waso_min", "wake after sleep onset", "min"),
        ):
            value = sleep[key]
            s.add_row(name, "n/a" if value is None else f"{value:.1f} {unit}")
        out.print(s)


def predict(
    path: InputPath,
    checkpoint: Checkpoint = None,
    model: BundledModelName = None,
    channel: Channel = None,
    out_dir: OutDir = None,
    fmt: Format = "tsv",
    stride_s: StrideS = None,
    context: RunContext = None,
    plot: Plot = False,
    batch_size: ForwardBatch = 32,
    device: Device = "auto",
    precision: RunPrecision = "auto",
    workdir: Workdir = None,
) -> None:
    """Classify each window of a recording or of a folder of them: one row per window, a summary."""
    from cwtmae_cli.errors import CwtmaeError
    from cwtmae_cli.evaluate.prediction_paths import ensure_writable, find_recordings
    from cwtmae_cli.evaluate.recording_level import SUMMARY_FILE, write_summary
    from cwtmae_cli.runtime.precision import check_precision_name
    from cwtmae_cli.workdir import resolve_workdir

    _check_options(fmt, stride_s, device, context)  # before any folder or checkpoint is touched
    check_precision_name(precision)
    if model is not None:
        from cwtmae_cli.cli.models import bundled_checkpoint

        checkpoint = bundled_checkpoint(model, checkpoint)
    root = resolve_workdir(workdir)
    target = ensure_writable(out_dir if out_dir is not None else root / PREDICTIONS_DIR)
    recordings = find_recordings(path)
    predictor = _predictor(root, checkpoint, device, batch_size, channel, stride_s, precision,
                           context)
    note(f"writing predictions to {target}")
    rows, failed = _predict_all(predictor, recordings, target, fmt, plot, path.is_dir())
    if path.is_dir() and rows:
        summary = write_summary(rows, predictor.label_names, target / SUMMARY_FILE)
        note(f"wrote {summary} (one row per recording: the mean of its windows' probabilities)")
    if failed:
        raise CwtmaeError(failure_message(failed, len(recordings)))


def _predict_all(
    predictor: Any, recordings: list[Path], target: Path, fmt: str, plot: bool, keep_going: bool
) -> tuple[list[list], list[str]]:
    """Each recording predicted under a progress bar and reported; the summary.tsv rows of
    those that worked (one per recording) and the names of those that failed."""
    from cwtmae_cli.evaluate.prediction import predict_paths

    failed: list[str] = []
    rows: list[list] = []
    position = {source: i for i, source in enumerate(recordings)}
    with progress_bar(
        "predicting", "recording {task.fields[name]}", unit="recordings", transient=True
    ) as bar:
        task = bar.add_task("predicting", total=len(recordings), name="")

        def progress(source: Path, done: int, n: int) -> None:
            # Recordings done, plus the share of this one's windows: the bar moves within a
            # long recording; plain lines count whole recordings.
            bar.update(task, completed=position[source] + done / max(n, 1), name=source.name)

        for outcome in predict_paths(
            predictor, recordings, target, fmt, plot, keep_going=keep_going, progress=progress
        ):
            bar.update(task, completed=position[outcome.source] + 1, name=outcome.source.name)
            if outcome.error is not None:
                warn(f"{outcome.source}: {outcome.error}")
                failed.append(outcome.source.name)
            else:
                rows.append(_report_recording(outcome, predictor))
    return rows, failed


def _check_options(fmt: str, stride_s: float | None, device: str, context: int | None) -> None:
    """The usage errors of the options."""
    from cwtmae_cli.errors import UsageError
    from cwtmae_cli.evaluate.inference import check_context_size
    from cwtmae_cli.evaluate.prediction_formats import FORMATS

    if context is not None:
        check_context_size(context)
    from cwtmae_cli.runtime.device import resolve_device

    if fmt not in FORMATS:
        raise UsageError(f"unknown --format `{fmt}`; choose one of {', '.join(FORMATS)}")
    if stride_s is not None and not stride_s > 0:
        raise UsageError(f"--stride-s must be > 0, got {stride_s:g}")
    resolve_device(device)


def _predictor(
    root: Path,
    checkpoint: Path | None,
    device: str,
    batch_size: int,
    channel: str | None,
    stride_s: float | None,
    precision: str = "auto",
    context: int | None = None,
) -> Any:
    """The predictor of the chosen checkpoint; the checkpoint named on stderr when it was chosen
    for the user (a default or a run folder), and the channel when it comes from the checkpoint."""
    from cwtmae_cli.evaluate.evaluation import choose_checkpoint
    from cwtmae_cli.evaluate.prediction import Predictor

    ckpt = choose_checkpoint(root, checkpoint)
    if checkpoint is None or ckpt != Path(checkpoint):
        note(f"using checkpoint {ckpt}")
    predictor = Predictor(
        ckpt, device=device, batch_size=batch_size, channel=channel, stride_s=stride_s,
        precision=precision,
        context=context,
    )
    if channel is None:
        tried = "; the first of these names a file has" if "|" in predictor.channel else ""
        note(f"using channel {predictor.channel} (from the checkpoint{tried})")
    return predictor


def _report_recording(outcome: Any, predictor: Any) -> list:
    """What one predicted recording says (its reading, summary, files written, reference
    overlaid or not); its row of summary.tsv."""
    from cwtmae_cli.evaluate.provenance import describe_reading
    from cwtmae_cli.evaluate.recording_level import summary_row

    table = outcome.table
    read = table.input.channel_in_file if table.input else ""
    if read and predictor.channel_differs(read):
        warn(
            f"{outcome.source.name}: read channel {read}, but the checkpoint's model was "
            f"trained on {predictor.checkpoint_channel}"
        )
    note(f"{table.recording_id}: {describe_reading(table.input, predictor.fs_hz)}")
    render_summary(table)
    files = (outcome.output, *outcome.more, outcome.sidecar, outcome.plot, outcome.density_plot)
    written = [p for p in files if p]
    note("wrote " + ", ".join(str(p) for p in written))
    if outcome.reference is not None:
        note(f"{table.recording_id}: the plot overlays the reference from "
             f"{outcome.reference.source}")
    if outcome.reference_error is not None:
        warn(f"{table.recording_id}: reference not overlaid: {outcome.reference_error}")
    return summary_row(outcome.name, table.probs, table.label_names)


def failure_message(failed: list[str], n_recordings: int) -> str:
    """What a folder run amounts to when some recordings failed: which, and what was written."""
    names = ", ".join(failed)
    if len(failed) == n_recordings:
        every = {1: "the recording", 2: "both recordings"}.get(
            n_recordings, f"all {n_recordings} recordings"
        )
        return f"{every} failed ({names}); no prediction was written"
    written = n_recordings - len(failed)
    others = "the other one was" if written == 1 else f"the other {written} were"
    failed_part = f"{len(failed)} of {plural(n_recordings, 'recording')} failed ({names})"
    return f"{failed_part}; {others} written"


def register(app: typer.Typer) -> None:
    app.command(name="predict")(predict)
