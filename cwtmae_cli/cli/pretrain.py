"""``cwtmae pretrain``: self-supervised MAE pretraining on a store's windows.

Also home of what both training commands share on the command line: the common options, the
progress bar (stderr) and the final summary table (stdout). ``cwtmae finetune`` imports them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from cwtmae_cli.cli.console import err, note, out
from cwtmae_cli.cli.options import Data, Device, Seed, Workdir

Channel = Annotated[
    str | None,
    typer.Option(
        "--channel",
        help="Store channel: name or index (default: 0, the first).",
        show_default=False,
    ),
]
Epochs = Annotated[
    int | None,
    typer.Option(
        "--epochs",
        help="Schedule length in passes over the training windows "
        "(default: 20 pretrain, 10 finetune).",
        show_default=False,
    ),
]
Steps = Annotated[
    int | None,
    typer.Option(
        "--steps",
        help="Schedule length in optimizer steps (instead of --epochs).",
        show_default=False,
    ),
]
BatchSize = Annotated[
    int | None,
    typer.Option(
        "--batch-size",
        help="Global batch, split evenly across --gpus (default: 64).",
        show_default=False,
    ),
]
Lr = Annotated[
    float | None,
    typer.Option(
        "--lr",
        help="Peak learning rate (default: 3e-4 pretrain, 5e-4 finetune).",
        show_default=False,
    ),
]
Gpus = Annotated[
    int | None,
    typer.Option(
        "--gpus",
        help="Processes to run, one per GPU (CPU processes over gloo with "
        "--device cpu); under torchrun the launch decides (default: 1).",
        show_default=False,
    ),
]
SaveEvery = Annotated[
    int | None,
    typer.Option(
        "--save-every",
        help="Steps between checkpoints, plus one at the end (default: 1000).",
        show_default=False,
    ),
]
Out = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Run folder (default: <workdir>/runs/<command>-<UTC stamp>).",
        show_default=False,
    ),
]
Resume = Annotated[
    Path | None,
    typer.Option(
        "--resume",
        help="Continue a run exactly: its folder or one of its checkpoints/step-* folders.",
        show_default=False,
    ),
]
Compile = Annotated[bool, typer.Option("--compile", help="torch.compile the model.")]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="TOML file of settings (flags win over it).", show_default=False),
]
Model = Annotated[
    str | None,
    typer.Option(
        "--model", help="Model size: tiny, small or base (default: base).", show_default=False
    ),
]


def common_flags(**values: Any) -> dict[str, Any]:
    """Options the user gave (None = not given); ``--channel 1`` means index 1."""
    flags = {k: v for k, v in values.items() if v is not None and v is not False}
    channel = flags.get("channel")
    if isinstance(channel, str) and channel.strip().isdigit():
        flags["channel"] = int(channel)
    for key in ("data", "out", "resume", "workdir", "pretrained"):
        if key in flags:
            flags[key] = str(flags[key])
    return flags


class TrainingProgress:
    """Renders the engine's events as a rich progress bar on stderr."""

    def __init__(self, title: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.title = title
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err,
            transient=False,
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
        elif kind == "eval":
            mark = "  (best)" if payload.get("best") else ""
            self.progress.console.print(
                f"step {payload['step']}: val loss {payload['loss']:.4f}  "
                f"accuracy {payload['accuracy']:.4f}  macro-F1 {payload['macro_f1']:.4f}  "
                f"kappa {_num(payload.get('cohen_kappa'))}{mark}",
                highlight=False,
            )


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
        f"({summary['epochs']} epochs) on {summary['world_size']} process(es)",
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


def run_and_report(plan: Any, run: Any, title: str) -> None:
    """Print what defaults picked, train with a progress bar, print the summary (rank 0)."""
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 reports
        for line in plan.notes:
            note(line)
        note(f"run folder {plan.run_dir}")
        with TrainingProgress(title) as progress:
            summary = run(plan, progress)
        render_summary(summary, title)
    else:
        run(plan, None)


def pretrain(
    data: Data = None,
    model: Model = None,
    channel: Channel = None,
    epochs: Epochs = None,
    steps: Steps = None,
    batch_size: BatchSize = None,
    lr: Lr = None,
    mask_ratio: Annotated[
        float | None,
        typer.Option(
            "--mask-ratio", help="Fraction of patches masked (default: 0.75).", show_default=False
        ),
    ] = None,
    mask_mode: Annotated[
        str | None,
        typer.Option(
            "--mask-mode",
            help="random patches, or whole time columns (time) (default: random).",
            show_default=False,
        ),
    ] = None,
    splits: Annotated[
        str | None,
        typer.Option(
            "--splits",
            help="Comma-separated store splits to train on "
            "(default: train); the test split only when named.",
            show_default=False,
        ),
    ] = None,
    gpus: Gpus = None,
    device: Device = None,
    seed: Seed = None,
    save_every: SaveEvery = None,
    out_dir: Out = None,
    resume: Resume = None,
    compile: Compile = False,
    config: ConfigFile = None,
    workdir: Workdir = None,
) -> None:
    """Self-supervised CWT-MAE pretraining on a store (labels ignored)."""
    from cwtmae_cli.train.pretrain import plan_pretrain, run_pretrain

    flags = common_flags(
        data=data,
        model=model,
        channel=channel,
        epochs=epochs,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        mask_ratio=mask_ratio,
        mask_mode=mask_mode,
        splits=splits,
        gpus=gpus,
        device=device,
        seed=seed,
        save_every=save_every,
        out=out_dir,
        resume=resume,
        compile=compile,
        workdir=workdir,
    )
    plan = plan_pretrain(flags, config)
    run_and_report(plan, run_pretrain, "pretrain")


def register(app: typer.Typer) -> None:
    app.command(name="pretrain")(pretrain)
