"""What the two training commands (pretrain, finetune) show: the progress bar on stderr while the
engine runs (plain lines when stderr is not a terminal), and the final summary table on stdout.
The demo reuses the progress bar."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from rich.text import Text

from cwtmae_cli.cli.console import note, out, progress_bar, warn
from cwtmae_cli.wording import plural


class TrainingProgress:
    """Renders the engine's events as a rich progress bar on stderr."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.progress = progress_bar(
            "[bold]{task.description}", "{task.fields[stats]}", counter="step {done}/{total}"
        )
        self.task: Any = None

    def __enter__(self) -> TrainingProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "start":
            self.task = self.progress.add_task(
                self.title,
                total=payload["total_steps"],
                completed=payload["start_step"],
                stats=f"batch {payload['global_batch']} on {payload['world_size']}x "
                f"{payload['device']}",
            )
        elif kind == "step" and self.task is not None:
            stats = (
                f"epoch {payload['epoch']:.2f}  loss {payload['loss']:.4f}  "
                f"lr {payload['lr']:.2e}  {payload['samples_per_s']:.1f} samples/s"
            )
            self.progress.update(self.task, completed=payload["step"], stats=stats)
        elif kind in ("compile", "compile_fallback"):
            self.progress.console.print(compile_line(kind, payload), highlight=False)
        elif kind == "eval":
            mark = "  (best)" if payload.get("best") else ""
            self.progress.console.print(
                f"step {payload['step']}: val loss {payload['loss']:.4f}  "
                f"accuracy {payload['accuracy']:.4f}  macro-F1 {payload['macro_f1']:.4f}  "
                f"kappa {_num(payload.get('cohen_kappa'))}{mark}",
                highlight=False,
            )


def compile_line(kind: str, payload: dict[str, Any]) -> Text:
    """The one stderr line of a ``compile`` (timing) or ``compile_fallback`` event."""
    if kind == "compile_fallback":
        return Text(f"warning: --compile: torch.compile cannot run here ({payload['reason']}); "
                    "the run continues eager", style="yellow")
    first, after = payload["first_step_s"], payload.get("next_step_s")
    spent = payload.get("compile_s")
    steps = (f"the first step took {first:.1f} s" if after is None
             else f"the first two steps took {first:.1f} s and {after:.1f} s")
    compiling = ("compilation included" if spent is None
                 else f"{spent:.1f} s of {'it' if after is None else 'that'} compiling")
    text = f"torch.compile: {steps}, {compiling}"
    return Text(text, style="cyan")


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def render_summary(summary: dict[str, Any], title: str) -> None:
    """The final table on stdout."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("value", overflow="fold")
    table.add_row("run folder", summary["run_dir"])
    table.add_row(
        "steps",
        f"{summary['steps']} / {summary['total_steps']} "
        f"({summary['epochs']} epochs) on "
        f"{plural(summary['world_size'], 'process', 'processes')}",
    )
    for key, value in summary.get("train", {}).items():
        table.add_row(f"train {key} (last log)", _num(value))
    for key in ("loss", "accuracy", "balanced_accuracy", "macro_f1", "cohen_kappa"):
        if key in summary.get("val", {}):
            table.add_row(f"val {key} (last)", _num(summary["val"][key]))
    best = summary.get("best", {})
    if best.get("value") is not None:
        table.add_row(f"best val {best['metric']}", f"{best['value']:.4f} at step {best['step']}")
    table.add_row("samples/s", _num(summary.get("samples_per_s"), 1))
    table.add_row("time", f"{summary['elapsed_s']:.1f} s")
    for key in ("checkpoint", "best_checkpoint", "figure"):
        if summary.get(key):
            table.add_row(key.replace("_", " "), summary[key])
    out.print(table)


def duration_text(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.4 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def warn_cpu_cost(plan: Any) -> None:
    """Warn before a run of the base model on a CPU, with an estimate of the time per step."""
    from cwtmae_cli.data.store.schema import open_store
    from cwtmae_cli.train.cost import cpu_step_estimate

    config = plan.config
    estimate = cpu_step_estimate(config, plan.resume_ckpt, open_store(plan.store).n_samples)
    if estimate is None:
        return
    per_step = estimate.seconds_per_step
    total = f", {duration_text(per_step * config.steps)} for --steps {config.steps}"
    warn(
        f"the {estimate.preset} model on a CPU: about {duration_text(per_step)} per step of "
        f"{estimate.batch_size} windows{total if config.steps else ''} (FLOP-based estimate: "
        f"{estimate.gflop_per_window:.0f} GFLOP per window forward and backward at "
        f"{estimate.cpu_gflops:.0f} GFLOP/s, this CPU's measured matrix-product rate); use "
        "--device cuda, or --model small or tiny to try the pipeline"
    )


def run_and_report(plan: Any, run: Callable[..., dict[str, Any]], title: str) -> None:
    """Print what defaults picked, train with a progress bar, print the summary (rank 0)."""
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 reports
        for line in plan.notes:
            note(line)
        for line in plan.warnings:
            warn(line)
        warn_cpu_cost(plan)
        note(f"run folder {plan.run_dir}")
        with TrainingProgress(title) as progress:
            summary = run(plan, progress)
        render_summary(summary, title)
    else:
        run(plan, None)
