"""``cwtmae score``: prediction tables scored against reference annotations (a human scorer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cwtmae_cli.cli.console import note, out, warn
from cwtmae_cli.cli.metrics_view import render
from cwtmae_cli.cli.options import JsonOut
from cwtmae_cli.wording import plural

PredictionsArg = Annotated[
    Path,
    typer.Argument(
        help="A <recording>_pred.tsv/.csv/.json/.edf table, a BIDS <recording>_events.tsv, a "
        "summary.tsv, or the folder `cwtmae predict` wrote them in (any --format).",
        show_default=False,
    ),
]
ReferenceArg = Annotated[
    Path,
    typer.Argument(
        help="Reference annotations: a hypnogram EDF+ (.edf), a WFDB rhythm file (.atr, with "
        "its .hea), a folder of them, or a CSV of recording labels (record,label).",
        show_default=False,
    ),
]
RecipeOpt = Annotated[
    str | None,
    typer.Option(
        "--recipe",
        help="Recipe (name or TOML) whose label map reads the reference; default: the "
        "checkpoint's store's, else the built-in recipe with the predictions' classes.",
        show_default=False,
    ),
]


def _left_out_line(result) -> str | None:
    total = sum(result.left_out.values())
    if not total:
        return None
    unit = "window" if result.level == "windows" else "recording"
    reasons = ", ".join(
        f"{n} {why}" for why, n in sorted(result.left_out.items(), key=lambda kv: -kv[1])
    )
    return f"{plural(total, unit)} left out of the scores: {reasons}"


def score(
    predictions: PredictionsArg,
    reference: ReferenceArg,
    recipe: RecipeOpt = None,
    json_path: JsonOut = None,
) -> None:
    """Agreement of prediction tables with reference annotations (accuracy, kappa, confusion)."""
    from cwtmae_cli.errors import CwtmaeError
    from cwtmae_cli.evaluate.agreement import score_predictions

    if json_path is not None and str(json_path) != "-":  # fail before the work, not after it
        try:
            Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CwtmaeError(f"cannot write {json_path}: {exc.strerror or exc}") from None
    result = score_predictions(predictions, reference, recipe=recipe)
    if result.recipes_passed_over:
        warn(
            f"the classes {', '.join(result.label_names)} are those of the built-in recipes "
            f"{', '.join([result.recipe, *result.recipes_passed_over])}: references read with "
            f"{result.recipe}'s label map; pass --recipe to choose"
        )
    _say_unmatched(result, reference)
    for row in result.recordings:
        if row.get("offset_s"):
            note(
                f"{row['recording']}: the reference starts {row['offset_s']:+g} s from the "
                "table's first sample (the two files' clock times); windows placed by clock time"
            )
    line = _left_out_line(result)
    if line:
        note(line)
    for name in result.classes_not_in_reference_map:
        warn(
            f"class {name} of the predictions is none the reference's label map (recipe "
            f"{result.recipe}) can produce: no reference {name}, its recall and F1 are 0"
        )
    _report(result, json_path)


def _say_unmatched(result, reference: Path) -> None:
    """The recordings of the predictions without a reference, and the references without a
    prediction (listed for annotation files, counted for a CSV of a whole database's labels)."""
    for rid in result.unmatched_predictions:
        warn(f"{rid}: no reference for this recording in {reference}; not scored")
    if result.unmatched_predictions:
        warn(f"{plural(len(result.unmatched_predictions), 'recording')} of the predictions "
             "without a reference")
    if result.unmatched_references:
        if result.level == "windows":
            for path in result.unmatched_references:
                warn(f"{Path(path).name}: no prediction table for this reference; not scored")
            note(f"{plural(len(result.unmatched_references), 'reference')} without a prediction")
        else:  # a CSV of a whole database's labels: counted, not listed
            note(
                f"{plural(len(result.unmatched_references), 'recording')} of "
                f"{Path(reference).name} without a prediction (not listed)"
            )


def _report(result, json_path: Path | None) -> None:
    """The agreement tables on stdout (or the JSON alone with ``--json -``), then the JSON file
    when asked for."""
    import json

    doc = result.to_dict()
    unit = "window" if result.level == "windows" else "recording"
    n_scored = result.metrics["summary"]["n_windows"]
    if result.level == "windows":
        title = (
            f"agreement with the reference: {plural(n_scored, 'window')} from "
            f"{plural(result.n_recordings, 'recording')}"
        )
    else:
        title = f"agreement with the reference: {plural(n_scored, 'recording')}"
    if json_path is not None and str(json_path) == "-":
        out.print_json(json.dumps(doc))
    else:
        render(result, title=title, where="the reference", unit=unit)
    if json_path is not None and str(json_path) != "-":
        Path(json_path).write_text(json.dumps(doc, indent=1) + "\n")
        note(f"wrote {json_path}")


def register(app: typer.Typer) -> None:
    app.command(name="score")(score)
