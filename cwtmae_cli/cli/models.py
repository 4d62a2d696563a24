"""``cwtmae models``: the models shipped inside the package, for ``predict --model NAME``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from cwtmae_cli.cli.console import note, out, warn
from cwtmae_cli.cli.options import JsonFlag


def _score_text(score: dict[str, Any] | None) -> str:
    if not score:
        return "not run"
    return f"{score['mean']:.3f} ± {score['sd']:.3f}"


def render_models(models: list[dict[str, Any]]) -> None:
    """One row per bundled model: what it classifies, from what input, and how well."""
    from rich.table import Table

    table = Table(title="bundled models (cwtmae predict FILE|FOLDER --model NAME)",
                  title_justify="left")
    for column in ("name", "task", "classes", "input", "size", "CV challenge score",
                   "test-split score"):
        table.add_column(column, justify="right" if column == "size" else "left",
                         no_wrap=column == "name")
    for m in models:
        folds = f" ({m['cv_folds']}-fold, records)" if m["cv_folds"] else ""
        test = m["test_challenge_score"]
        table.add_row(
            m["name"], m["task"] or "", ", ".join(m["classes"]),
            f"{m['lead']}, {m['window_s']:g} s at {m['fs_hz']:g} Hz",
            f"{m['size_bytes'] / 1e6:.1f} MB",
            _score_text(m["cv_challenge_score"]) + folds,
            "n/a" if test is None else f"{test:.3f}",
        )
    out.print(table)


def bundled_checkpoint(name: str, checkpoint: Path | None) -> Path:
    """The verified folder of bundled model ``name``, its measured figures said on stderr (and a
    warning when they fall short of what a bundled model should reach)."""
    from cwtmae_cli.errors import UsageError
    from cwtmae_cli.runtime.bundled import SCORE_TARGET, load_bundled

    if checkpoint is not None:
        raise UsageError("give --model NAME or --checkpoint PATH, not both")
    bundle = load_bundled(name)
    note(f"using bundled model {name} ({bundle.folder})")
    figure = f"{name}: challenge score {bundle.headline[1]}"
    if bundle.below_target:
        warn(f"{figure}, below {SCORE_TARGET:.2f}: a demonstration model whose answers are often "
             "wrong; not a medical device")
    else:
        note(f"{figure}; not a medical device")
    return bundle.folder


def models(json_out: JsonFlag = False) -> None:
    """List the bundled models: task, classes, input, size and cross-validated figures."""
    from cwtmae_cli.runtime.bundled import MODELS_DIR, list_bundled

    found = [m.describe() for m in list_bundled()]
    if json_out:
        out.print_json(json.dumps(found))
        return
    if not found:
        note(f"no bundled model in {MODELS_DIR}")
        return
    render_models(found)
    for m in found:
        if m["below_target"]:
            warn(f"{m['name']}: challenge score {m['challenge_score_source']}, below 0.80: a "
                 "demonstration model whose answers are often wrong; read its card (README.md "
                 f"in {m['folder']})")
    note("these are research models, not medical devices")


def register(app: typer.Typer) -> None:
    app.command(name="models")(models)
