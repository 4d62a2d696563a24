"""What ``score``'s PREDICTIONS names: one prediction file in any format ``predict`` writes (a
``<recording>_pred.tsv|csv|json`` table, ``<recording>_pred.edf``, a BIDS
``<recording>_events.tsv``), a ``summary.tsv``, or a folder of them."""

from __future__ import annotations

from pathlib import Path

from cwtmae_cli.errors import DataError
from cwtmae_cli.evaluate import prediction_format_readers as other
from cwtmae_cli.evaluate.prediction_files import (
    Predictions,
    is_table,
    read_prediction_table,
    read_summary,
    table_id,
)
from cwtmae_cli.evaluate.prediction_paths import bids_events_stem
from cwtmae_cli.evaluate.recording_level import SUMMARY_FILE


def is_window_file(path: Path) -> bool:
    """A window table, or an EDF+ / BIDS events file of ``predict``."""
    return is_table(path) or other.is_edf_predictions(path) or other.is_bids_events(path)


def read_window_file(path: Path, recipe_classes: list[str] | None = None) -> Predictions:
    """One recording's window predictions in any format ``predict`` writes;
    ``recipe_classes``: the classes of an EDF+ file without its sidecar (``--recipe``'s)."""
    if other.is_edf_predictions(path):
        return other.read_edf_predictions(path, recipe_classes)
    if other.is_bids_events(path):
        return other.read_bids_events(path, recipe_classes)
    return read_prediction_table(path)


def folder_files(path: Path) -> list[Path]:
    """The prediction files of a folder: tables, EDF+ and events files, and the json tables
    (the other ``*_pred.json`` are sidecars: of a tsv, csv or edf file, or of an events file)."""
    found = sorted(p for p in path.iterdir() if is_window_file(p) and p.suffix != ".json")
    stems = {p.name.rsplit("_pred.", 1)[0] for p in found if "_pred." in p.name}
    events = {p.name for p in found if other.is_bids_events(p)}
    found += sorted(
        p for p in path.glob("*_pred.json")
        if table_id(p) not in stems and f"{bids_events_stem(table_id(p))}.tsv" not in events
    )
    return found


def _one_file_per_recording(found: list[Predictions], path: Path) -> None:
    seen: dict[str, Path] = {}
    for p in found:
        if p.recording_id in seen:
            raise DataError(
                f"two prediction files for recording {p.recording_id} in {path}: "
                f"{seen[p.recording_id].name} and {p.source.name}; give one of them, or keep "
                "one format in the folder"
            )
        seen[p.recording_id] = p.source


def _read_folder(path: Path, recordings: bool, recipe_classes: list[str] | None):
    if recordings:
        if not (path / SUMMARY_FILE).is_file():
            raise DataError(
                f"no {SUMMARY_FILE} in {path}: recording labels are scored against the "
                f"recording-level answers `cwtmae predict` writes there"
            )
        return read_summary(path / SUMMARY_FILE)
    files = folder_files(path)
    if not files:
        raise DataError(
            f"no prediction file (*_pred.tsv, .csv, .json, .edf or *_events.tsv) in {path}"
        )
    found = [read_window_file(p, recipe_classes) for p in files]
    _one_file_per_recording(found, path)
    return found


def _recipe_classes(recipe: str | None) -> list[str] | None:
    from cwtmae_cli.data.recipes.load import load_recipe

    return (load_recipe(recipe).label_names or None) if recipe is not None else None


def read_predictions(path: Path, recordings: bool, recipe: str | None = None) -> list[Predictions]:
    """The prediction files at ``path`` (see the module docstring); ``recordings``: one label per
    recording (``summary.tsv``) rather than windows; ``recipe`` (``--recipe``): its classes are
    those of an EDF+ file without its sidecar."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file or folder: {path}")
    classes = _recipe_classes(recipe)
    if path.is_dir():
        found = _read_folder(path, recordings, classes)
        if recordings:
            return found
    elif path.name == SUMMARY_FILE or (
        recordings and path.suffix == ".tsv" and not is_window_file(path)
    ):
        if not recordings:
            raise DataError(
                f"{path} holds one label per recording; annotation files are scored window by "
                "window: give the *_pred tables (or their folder)"
            )
        return read_summary(path)
    elif is_window_file(path):
        if recordings:
            raise DataError(
                f"a CSV of recording labels is scored against {SUMMARY_FILE} (one label per "
                f"recording), not a window table such as {path.name}"
            )
        found = [read_window_file(path, classes)]
    else:
        raise DataError(
            f"cannot tell the format of {path}: expected a <recording>_pred.tsv/.csv/.json/.edf "
            f"table, a BIDS <recording>_events.tsv, a {SUMMARY_FILE} or a folder of them"
        )
    names = {tuple(p.label_names) for p in found}
    if len(names) > 1:
        raise DataError(
            f"the tables in {path} have different classes: "
            + "; ".join(", ".join(n) for n in sorted(names))
        )
    return found
