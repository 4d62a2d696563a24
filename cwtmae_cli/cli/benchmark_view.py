"""What ``cwtmae benchmark`` shows: a status line per cell and a training progress bar while a
cell trains (stderr), then the mean ± sd table per setting and fraction (stdout)."""

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
        elif kind == "start":
            self.progress = TrainingProgress(self._title(payload)).__enter__()
        elif kind == "done":
            self.close()
            test = payload["result"]["test"]
            note(
                f"{self._title(payload)}: test macro-F1 {test['macro_f1']:.4f}  "
                f"accuracy {test['accuracy']:.4f}"
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
    """The mean ± sd table per setting and fraction, and the gain of pretraining, on stdout."""
    from rich.table import Table

    from cwtmae_cli.benchmark.results import format_mean_sd, label_efficiency_gain, near_chance

    settings = doc["settings"]
    table = Table(
        title=f"{settings['n_folds']}-fold subject-wise cross-validation on the test folds "
        "(mean ± sd over folds)",
        title_justify="left",
    )
    table.add_column("setting", no_wrap=True)
    table.add_column("labels", justify="right", no_wrap=True)
    table.add_column("folds", justify="right", no_wrap=True)
    for _, name in _METRIC_NAMES:
        table.add_column(name, justify="right")
    partial = False
    for setting, by_fraction in doc["summary"].items():
        for key, stats in by_fraction.items():
            cells = []
            for metric, _ in _METRIC_NAMES:
                text = format_mean_sd(stats[metric])
                if 0 < stats[metric]["n"] < stats["n_folds"]:
                    text, partial = f"{text} (n={stats[metric]['n']})", True
                cells.append(text)
            table.add_row(setting, f"{float(key) * 100:g} %", str(stats["n_folds"]), *cells)
    out.print(table)
    if partial:
        out.print(
            "(n=...): over the folds where the metric is defined (kappa is not when truth and "
            "predictions hold one class)",
            highlight=False,
        )
    for sentence in near_chance(doc["summary"]):
        warn(sentence)
    gains = label_efficiency_gain(doc["summary"])
    gain = Table(title="macro-F1 gain of pretraining (pretrained - scratch)", title_justify="left")
    gain.add_column("labels")
    gain.add_column("gain", justify="right")
    for key, value in gains.items():
        gain.add_row(f"{float(key) * 100:g} %", "n/a" if value is None else f"{value:+.3f}")
    out.print(gain)
    out.print(f"benchmark.json and the plot: {doc['run_dir']}", highlight=False)
