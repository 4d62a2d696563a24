"""The reference labels of a recording being predicted, when it has them: the plot overlays them.

A recording has a reference when its annotations sit where ``prepare`` would look for them: the
paired file the recipe names (Sleep-EDF: ``SC4001*-Hypnogram.edf`` beside ``SC4001E0-PSG.edf``),
the EDF+ file's own annotations, or a WFDB record's ``.atr``. Annotation texts become the
checkpoint's classes through the label map of the recipe that made its store (read from the store
when it is still there, else the built-in recipe with the same class names), window by window as
``prepare`` labels them (:func:`~cwtmae_cli.data.labels.label_windows`), so the reference of a
window is what training would have called it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cwtmae_cli.data.labels import LabelSpec, label_windows
from cwtmae_cli.errors import CwtmaeError, DataError


@dataclass(frozen=True)
class Reference:
    """Reference class of each window (None where unscored) and the file it came from."""

    labels: list[str | None]
    source: str


def recipe_of(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The recipe (as stored: a dict) behind a checkpoint: its store's, else the first built-in
    one with the checkpoint's class names (in any order: classes are matched by name) that reads
    annotation files, which is what a recording brings (``cinc2017``'s CSV of record labels is
    passed over for ``mitdb-rhythm``, whose classes are the same); else the first with those
    classes. ``meta`` needs ``label_names``; ``store`` (a store path) is used when it is there."""
    found = store_recipe(meta)
    if found is not None:
        return found
    from cwtmae_cli.data.recipes.load import load_recipe

    names = builtin_matches(list(meta.get("label_names") or []))
    matches = [load_recipe(name).to_dict() for name in names]
    files = [r for r in matches if (r.get("source") or {}).get("annotations") != "reference"]
    return (files or matches or [None])[0]


def store_recipe(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The recipe of the checkpoint's store (``meta["store"]``) when that store is still there
    and its classes are ``meta["label_names"]``; else None."""
    store = meta.get("store")
    if not store or not Path(store).is_dir():
        return None
    from cwtmae_cli.data.store.schema import open_store

    try:
        recipe = open_store(Path(store)).attrs.get("recipe")
    except CwtmaeError:
        return None
    names = sorted(meta.get("label_names") or [])
    if recipe and sorted((recipe.get("labels") or {}).get("names") or []) == names:
        return recipe
    return None


def builtin_matches(names: list[str]) -> list[str]:
    """The built-in recipes whose classes are ``names`` (any order), in ``BUILTIN`` order:
    several share a class set (``cinc2017`` and ``mitdb-rhythm``: N, A, O, ~)."""
    from cwtmae_cli.data.recipes.load import BUILTIN, load_recipe

    out = []
    for name in BUILTIN:
        recipe = load_recipe(name)
        if recipe.labels is not None and sorted(recipe.label_names) == sorted(names):
            out.append(name)
    return out


def label_spec(labels: dict[str, Any]) -> LabelSpec:
    """The LabelSpec of a stored recipe's ``labels`` table."""
    return LabelSpec(
        names=tuple(labels["names"]),
        map=dict(labels.get("map") or {}),
        drop=tuple(labels.get("drop") or ()),
        unmapped=str(labels.get("unmapped", "unlabelled")),
        uncovered=str(labels.get("uncovered", "unlabelled")),
        min_cover=float(labels.get("min_cover", 0.5)),
    )


def _annotation_file(path: Path, source: dict[str, Any]) -> Path | None:
    """The annotation file ``prepare`` would pair with ``path`` (None: the file's own)."""
    from cwtmae_cli.data.readers.dispatch import is_edf
    from cwtmae_cli.data.readers.fif_reader import is_fif

    if is_edf(path) or is_fif(path):
        if source.get("annotations") != "paired" or not source.get("paired_pattern"):
            return None
        prefix = path.name[: int(source.get("prefix_chars", 6))]
        found = sorted(path.parent.glob(source["paired_pattern"].format(prefix=prefix)))
        return found[0] if len(found) == 1 else None
    atr = path.with_name(f"{path.name.split('.')[0]}.{source.get('annotation_ext', 'atr')}")
    return atr if atr.is_file() else None


def find_reference(
    path: Path, meta: dict[str, Any], channel: str, onset_s: np.ndarray, window_s: float
) -> Reference | None:
    """The reference labels of the windows at ``onset_s`` (s) of recording ``path``, or None
    when it has none (or no recipe maps its annotations to the checkpoint's classes).

    Raises DataError when annotations are there but cannot be read or mapped.
    """
    from cwtmae_cli.data.readers.dispatch import is_edf, open_recording
    from cwtmae_cli.data.readers.fif_reader import is_fif

    path = Path(path)
    recipe = recipe_of(meta)
    if recipe is None:
        return None
    source = recipe.get("source") or {}
    ann = _annotation_file(path, source)
    if ann is None and not (is_edf(path) or is_fif(path)):
        return None  # a WFDB record without its annotation file
    epoch_s = source.get("epoch_s") or (recipe.get("signal") or {}).get("window_s") or 30.0
    stream = open_recording(path, [channel], ann, read_annotations=True, epoch_s=epoch_s)
    intervals = stream.recording.intervals
    if not intervals:
        return None
    try:
        labels, _ = window_labels(intervals, recipe, onset_s, window_s)
    except DataError as exc:
        raise DataError(f"reference of {path.name}: {exc}") from None
    if all(label is None for label in labels):
        return None
    return Reference(labels=labels, source=(ann or path).name)


def window_labels(
    intervals: list, recipe: dict[str, Any], onset_s: np.ndarray, window_s: float
) -> tuple[list[str | None], list[str | None]]:
    """Reference class name of each window at ``onset_s`` (s) from annotation ``intervals``
    through ``recipe``'s label map, as ``prepare`` labels windows; None where there is none.
    Also the reasons (None, or ``label <text>`` for a window a dropped text such as
    ``Sleep stage ?`` wins, ``no annotation`` for one no interval touches, ``no class covers 50%``
    for one intervals touch but no class covers ``min_cover`` of).

    Raises DataError for a text outside the map when the recipe's ``unmapped`` is ``error``."""
    spec = label_spec(recipe["labels"])
    classes, reasons = label_windows(np.asarray(onset_s), window_s, intervals, spec)
    labels = [
        spec.names[int(k)] if k >= 0 and reason is None else None
        for k, reason in zip(classes, reasons, strict=True)
    ]
    return labels, reasons
