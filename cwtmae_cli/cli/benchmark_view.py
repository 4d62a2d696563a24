"""What ``cwtmae benchmark`` shows: a status line per cell and a training progress bar while a
cell trains (stderr), then the mean ± sd table per setting and fraction over test windows, and
over test recordings when the store's labels are per recording (stdout)."""

from __future__ import annotations

from typing import Any

from cwtmae_cli.cli.console import note, out, warn

_METRIC_NAMES = (
    ("accuracy", "accuracy"),
    ("balanced_accuracy", "balanced acc."),
    ("macro_f1", "macro-F1"),
    ("cohen_kappa", "kappa"),
)


class BenchmarkView:
    """Status lines per cell and a training progress bar while a cell trains (stderr)."""

    def __init__(self, n_cells: int) -> None:
        self.n_cells, self.seen = n_cells, 0
        self.progress: Any = None

    def _title(self, payload: dict[str, Any]) -> str:
        return (
            f"fold {payload['fold']} {payload['setting']} "
            f"{payload['label_fraction'] * 100:g} % ({self.seen}/{self.n_cells})"
        )

    def report(self, kind: str, payload: dict[str, Any]) -> None:
        from cwtmae_cli.cli.training_view import TrainingProgress

        self.seen += 1 if kind in ("skip", "start") else 0
        if kind == "skip":
            note(f"{self._title(payload)}: finished before, skipped")
        elif kind == "rescored":
            note(f"{self._title(payload)}: {payload['why']}")
        elif kind == "lacking":
            warn(f"{self._title(payload)}: no recording-level figures: {payload['why']}")
        elif kind == "start":
            self.progress = TrainingProgress(self._title(payload)).__enter__()
        elif kind == "done":
            self.close()
            test = payload["result"]["test"]
            level = payload["result"].get("test_recording_level")
            note(
                f"{self._title(payload)}: test macro-F1 {test['macro_f1']:.4f}  "
                f"accuracy {test['accuracy']:.4f}"
                + (f"  recordings: macro-F1 {level['macro_f1']:.4f}" if level else "")
                + (f" score {level['recipe_score']:.4f}" if level and "recipe_score" in level
                   else "")
            )
            if test.get("single_class_answer") is not None:
                warn(
                    f"{self._title(payload)}: every test window was predicted "
                    f"{test['single_class_answer']}: this cell's model tells no class apart"
                )

    def events(self, kind: str, payload: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress(kind, payload)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)
            self.progress = None


def render(doc: dict[str, Any]) -> None:
    """The mean ± sd table per setting and fraction over test windows, the same over test
    recordings when the store's labels are per recording, and the gain of pretraining, on
    stdout."""
    from cwtmae_cli.benchmark.results import near_chance, recording_level_view

    settings, summary = doc["settings"], doc["summary"]
    score = doc.get("score")
    columns = [*_METRIC_NAMES, *([("recipe_score", _score_header(score))] if score else [])]
    title = (
        f"{settings['n_folds']}-fold subject-wise cross-validation on the test folds "
        "(mean ± sd over folds)"
    )
    by_recording = recording_level_view(summary)
    if by_recording:
        title += ": test windows"
    partial = _table(title, summary, columns, summary)
    for sentence in near_chance(summary):
        warn(sentence)
    if by_recording:
        title = (
            "recording level: each test recording answered by the mean of its windows' "
            "probabilities (mean ± sd over folds)"
        )
        partial |= _table(title, by_recording, columns, summary)
        for sentence in near_chance(by_recording):
            warn(f"recording level: {sentence}")
    if partial:
        out.print(
            "(n=...): over the folds where the metric is defined (kappa is not when truth and "
            "predictions hold one class)",
            highlight=False,
        )
    if score:
        out.print(f"{_score_header(score)}: {score['name']}", highlight=False)
    _render_gain(summary, by_recording)
    out.print(f"benchmark.json and the plot: {doc['run_dir']}", highlight=False)


def _score_header(score: dict) -> str:
    return f"mean F1 {'/'.join(score['classes'])}"


def _table(title: str, by_setting: dict, columns: list, summary: dict) -> bool:
    """One mean ± sd table of ``by_setting[setting][fraction]``; its ``folds`` column gives
    ``n of N`` when it covers fewer folds than ``summary`` has cells. True when a metric is
    defined in fewer of its folds (``(n=...)`` added)."""
    from rich.table import Table

    from cwtmae_cli.benchmark.results import format_mean_sd

    table = Table(title=title, title_justify="left")
    table.add_column("setting", no_wrap=True)
    table.add_column("labels", justify="right", no_wrap=True)
    table.add_column("folds", justify="right", no_wrap=True)
    for _, name in columns:
        table.add_column(name, justify="right")
    partial = False
    for setting, by_fraction in by_setting.items():
        for key, stats in by_fraction.items():
            cells = []
            for metric, _ in columns:
                text = format_mean_sd(stats[metric])
                if 0 < stats[metric]["n"] < stats["n_folds"]:
                    text, partial = f"{text} (n={stats[metric]['n']})", True
                cells.append(text)
            n_cells = summary[setting][key]["n_folds"]
            folds = str(stats["n_folds"])
            if stats["n_folds"] < n_cells:
                folds = f"{folds} of {n_cells}"
            table.add_row(setting, f"{float(key) * 100:g} %", folds, *cells)
    out.print(table)
    return partial


def say_lacking(doc: dict[str, Any]) -> None:
    """One warning (stderr, with ``--json`` too) when cells lack their recording-level figures
    (an older version scored them and their checkpoints are gone): those means cover fewer
    folds."""
    from cwtmae_cli.benchmark.results import recording_level_view

    lacking = sum(
        stats["n_folds_lacking"]
        for by in recording_level_view(doc["summary"]).values()
        for stats in by.values()
    )
    if lacking:
        warn(
            f"recording level: {lacking} finished {'cell lacks' if lacking == 1 else 'cells lack'}"
            " recording-level figures (scored by an older version, checkpoints removed); those "
            "means are over fewer folds (the folds column says how many)"
        )


def _render_gain(summary: dict, by_recording: dict) -> None:
    """The macro-F1 gain of pretraining per fraction, over windows (and recordings)."""
    from rich.table import Table

    from cwtmae_cli.benchmark.results import label_efficiency_gain

    gain = Table(title="macro-F1 gain of pretraining (pretrained - scratch)", title_justify="left")
    gain.add_column("labels")
    gain.add_column("windows" if by_recording else "gain", justify="right")
    columns = [label_efficiency_gain(summary)]
    if by_recording:
        gain.add_column("recordings", justify="right")
        columns.append(label_efficiency_gain(by_recording))
    for key in columns[0]:
        texts = ["n/a" if c.get(key) is None else f"{c[key]:+.3f}" for c in columns]
        if by_recording and columns[1].get(key) is not None:
            n_pre, n_scratch = (by_recording[s][key]["n_folds"] for s in ("pretrained", "scratch"))
            if n_pre != n_scratch:  # lacking folds: the two means are not over the same folds
                texts[1] += f" ({n_pre} vs {n_scratch} folds)"
        gain.add_row(f"{float(key) * 100:g} %", *texts)
    out.print(gain)
