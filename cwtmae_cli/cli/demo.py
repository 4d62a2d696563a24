"""``cwtmae demo``: generate a small synthetic Sleep-EDF-format data set and run the whole pipeline.

Each step is shown as it starts (with the command it stands for) and ends (with its wall time);
training shows the same progress bar as ``pretrain`` / ``finetune``. At the end: the test split's
classification report, the held-back night's summary, and the path of every artefact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cwtmae_cli.cli.console import err, note, out
from cwtmae_cli.cli.options import Device, Seed
from cwtmae_cli.wording import plural

OutDir = Annotated[
    Path, typer.Option("--out", help="Folder the demo works in (data, stores/, runs/, results).")
]
Subjects = Annotated[
    int, typer.Option("--subjects", min=3, help="Synthetic subjects in the store (one night each).")
]
Minutes = Annotated[
    float, typer.Option("--minutes", min=10, help="Length of each synthetic night, minutes.")
]
PretrainSteps = Annotated[
    int, typer.Option("--pretrain-steps", min=1, help="Pretraining steps (tiny model).")
]
FinetuneSteps = Annotated[int, typer.Option("--finetune-steps", min=1, help="Fine-tuning steps.")]

TRAINING = {"pretrain": "pretraining (tiny MAE)", "finetune": "fine-tuning (CoT head)"}


class _Display:
    """Turns the demo's step and training events into rich output on stderr."""

    def __init__(self, n_steps: int) -> None:
        self.n_steps, self.index, self.bar = n_steps, 0, None

    def step(self, name: str, command: str, record: Any) -> None:
        from cwtmae_cli.cli.training_view import TrainingProgress

        if record is None:
            self.index += 1
            err.rule(f"[bold]step {self.index}/{self.n_steps}: {name}", align="left")
            err.print(f"[dim]$[/dim] {command}", highlight=False)
            if name in TRAINING:
                self.bar = TrainingProgress(TRAINING[name]).__enter__()
            return
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
        err.print(f"[green]done[/green] {name} in {record.wall_s:.1f} s  {_detail(record)}",
                  highlight=False)

    def train(self, kind: str, payload: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar(kind, payload)


def _detail(record: Any) -> str:
    o = record.outputs
    if record.name == "generate":
        n = len(list(Path(o["data"]).glob("*-PSG.edf")))
        return f"({n} synthetic nights in {o['data']}, 1 held back: {o['heldout_psg'].name})"
    if record.name == "prepare":
        s = o["prepare_summary"]
        windows = plural(s["n_windows"], "window")
        return f"({windows} from {plural(s['n_recordings'], 'recording')} in {o['store']})"
    if record.name in TRAINING:
        s = o[f"{record.name}_summary"]
        return f"({s['steps']} steps, run {Path(s['run_dir']).name})"
    if record.name == "evaluate":
        return f"(accuracy {o['evaluation'].metrics['summary']['accuracy']:.3f} on the test split)"
    return f"({o['heldout_accuracy']:.1%} of the held-back night's windows right)"


def _shown(path: Path) -> str:
    """A path relative to the current folder when it lies below it, else absolute."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(Path(path).resolve())


def demo(
    out_dir: OutDir = Path("cwtmae-demo"),
    subjects: Subjects = 6,
    minutes: Minutes = 60.0,
    seed: Seed = 0,
    device: Device = "auto",
    pretrain_steps: PretrainSteps = 40,
    finetune_steps: FinetuneSteps = 120,
) -> None:
    """Run the whole pipeline on a small generated (synthetic, not real) sleep data set:
    prepare, pretrain, finetune, evaluate, predict. A few minutes on a laptop CPU."""
    from rich.table import Table

    from cwtmae_cli.cli.metrics_view import render
    from cwtmae_cli.cli.predict import render_summary
    from cwtmae_cli.demo import DemoConfig, run_demo
    from cwtmae_cli.demo.steps import STEPS

    config = DemoConfig(out_dir=out_dir, n_subjects=subjects, minutes=minutes, seed=seed,
                        device=device, pretrain_steps=pretrain_steps,
                        finetune_steps=finetune_steps)
    note(f"cwtmae demo in {out_dir}: {subjects} + 1 synthetic nights of {minutes:g} min "
         "(generated data, not real recordings)")
    display = _Display(len(STEPS))
    result = run_demo(config, on_step=display.step, on_train=display.train)

    out.rule("[bold]classification report (test split, synthetic subjects never seen in training)")
    render(result.evaluation)
    out.print(
        f"test accuracy {result.accuracy:.3f} (always answering the commonest stage: "
        f"{result.test_majority_rate:.3f}); balanced accuracy {result.balanced_accuracy:.3f} "
        f"(chance: 0.200); held-back night: {result.heldout_accuracy:.3f}", highlight=False)
    out.rule("[bold]held-back night (predict)")
    render_summary(result.steps[-1].outputs["prediction_table"])

    times = Table(title="wall time per step", title_justify="left")
    times.add_column("step")
    times.add_column("command")
    times.add_column("seconds", justify="right")
    for record in result.steps:
        times.add_row(record.name, record.command, f"{record.wall_s:.1f}")
    times.add_row("total", "", f"{sum(r.wall_s for r in result.steps):.1f}")
    out.print(times)

    paths = Table(title="artefacts", title_justify="left")
    paths.add_column("what")
    paths.add_column("path", overflow="fold")
    for name, path in {**result.artefacts, "demo_record": out_dir / "demo.json"}.items():
        paths.add_row(name.replace("_", " "), _shown(path))
    out.print(paths)


def register(app: typer.Typer) -> None:
    app.command(name="demo")(demo)
