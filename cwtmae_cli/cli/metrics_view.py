"""The metric tables of ``cwtmae evaluate`` and ``cwtmae score`` (the demo's too), on stdout:
summary, per class, confusion matrices, per recording, and recordings scored as wholes."""

from __future__ import annotations

from typing import Any

from cwtmae_cli.cli.console import out, warn
from cwtmae_cli.wording import plural

_SUMMARY_METRICS = (
    ("accuracy", "accuracy"),
    ("balanced_accuracy", "balanced accuracy"),
    ("macro_f1", "macro-F1"),
    ("cohen_kappa", "Cohen's kappa"),
)


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
    if title is None or where is None:
        title, where = scope(result)
    _render_summary(result.metrics, title, where, unit)
    out.print(_per_class_table(result.metrics["per_class"], "per class"))
    _render_confusion(result.metrics["confusion_matrix"])
    if getattr(result, "recording_level", None):  # labels per recording: one answer each
        render_recording_rows(result.recording_level["recordings"], result.per_recording or [])
    elif getattr(result, "per_recording", None):
        _render_per_recording(result.per_recording)
    if getattr(result, "recording_level", None):
        render_recording_level(result.recording_level, result.split)


def _summary_table(summary: dict[str, Any], title: str) -> Any:
    """The four headline metrics of a ``summary`` as a two-column table."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, name in _SUMMARY_METRICS:
        table.add_row(name, _fmt(summary[key]))
    return table


def _render_summary(metrics: dict[str, Any], title: str, where: str, unit: str) -> None:
    """The summary table; with classes absent from the truth, macro-F1 over the classes present
    too, said under the table and warned on stderr."""
    s = metrics["summary"]
    summary = _summary_table(s, title)
    absent = metrics.get("classes_without_support") or []
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
    only = s.get("single_class_answer")
    if only is not None:
        warn(
            f"every {unit} of {where} was predicted {only}: the model tells no class apart, "
            f"its accuracy ({_fmt(s['accuracy'])}) is the share of {only} and kappa is 0 or n/a"
        )


def _per_class_table(rows: list[dict], title: str) -> Any:
    """Precision, recall, F1 and support of each class."""
    from rich.table import Table

    report = Table(title=title, title_justify="left")
    for col in ("class", "precision", "recall", "F1", "support"):
        report.add_column(col, justify="left" if col == "class" else "right")
    for row in rows:
        report.add_row(
            row["label"],
            _fmt(row["precision"]),
            _fmt(row["recall"]),
            _fmt(row["f1"]),
            str(row["support"]),
        )
    return report


def _render_confusion(cm: dict[str, Any]) -> None:
    """The confusion matrix as counts, then row-normalised."""
    from rich.table import Table

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


def _render_per_recording(rows: list[dict]) -> None:
    """One row per recording of window labels: its windows and their metrics."""
    from rich.table import Table

    per_rec = Table(title="per recording", title_justify="left")
    for col in ("recording", "windows", "accuracy", "balanced acc.", "macro-F1", "kappa"):
        per_rec.add_column(col, justify="left" if col == "recording" else "right")
    for row in rows:
        per_rec.add_row(
            row["recording"],
            str(row["n_windows"]),
            _fmt(row["accuracy"]),
            _fmt(row["balanced_accuracy"]),
            _fmt(row["macro_f1"]),
            _fmt(row["cohen_kappa"]),
        )
    out.print(per_rec)


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

    title = (
        f"{'store' if split == 'all' else split + ' split'}: "
        f"{plural(level['n_recordings'], 'recording')}, each the mean of its "
        "windows' probabilities"
    )
    summary = _summary_table(level["summary"], title)
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
    out.print(_per_class_table(level["per_class"], "per class (recordings)"))
    cm = level["confusion_matrix"]
    table = Table(title="recordings: confusion matrix (rows true)", title_justify="left")
    table.add_column("true \\ pred")
    for name in cm["labels"]:
        table.add_column(name, justify="right")
    for name, values in zip(cm["labels"], cm["counts"], strict=True):
        table.add_row(name, *[str(v) for v in values])
    out.print(table)
