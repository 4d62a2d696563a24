"""Reference annotations for scoring: a hypnogram EDF+ (or any EDF+ file's annotations), a WFDB
rhythm annotation file (``.atr``, read with its ``.hea``), a folder of those, or a CSV of
recording labels (``record,label``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cwtmae_cli.errors import CwtmaeError, DataError
from cwtmae_cli.evaluate.prediction_files import Predictions
from cwtmae_cli.evaluate.reference import builtin_matches, store_recipe

EDF_SUFFIXES = (".edf", ".bdf")
NO_REFERENCE = "no reference label"  # a window no annotation covers, or a text outside the map




@dataclass
class ReferenceFile:
    """An annotation file, its recording id, its intervals (onsets in s from its start) and
    the clock time of that start when the file gives one."""

    path: Path
    recording_id: str
    intervals: list = field(default_factory=list)
    start: datetime | None = None


def _is_reference_file(path: Path, annotation_ext: str) -> bool:
    suffix = path.suffix.lower()
    return suffix in EDF_SUFFIXES or suffix in (".atr", f".{annotation_ext}")


def edf_header_start(path: Path) -> datetime | None:
    """Clock time of an EDF(+) file's first record from its header (``dd.mm.yy`` at byte 168,
    ``hh.mm.ss`` at 176; years 85-99 are 19yy, others 20yy, as the EDF specification has it);
    None when unreadable."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(184)
        day, month, year = (int(v) for v in head[168:176].decode("ascii").split("."))
        hour, minute, second = (int(v) for v in head[176:184].decode("ascii").split("."))
        year += 1900 if year >= 85 else 2000
        return datetime(year, month, day, hour, minute, second)
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def read_reference_file(path: Path) -> ReferenceFile:
    """Intervals of an EDF+ annotation file or a WFDB annotation file (DataError if unreadable)."""
    path = Path(path)
    if path.suffix.lower() in EDF_SUFFIXES:
        import mne

        from cwtmae_cli.data.readers.recording import Interval

        try:
            annot = mne.read_annotations(path)
        except Exception as exc:  # MNE raises many types for damaged files
            raise DataError(f"cannot read annotations from {path.name}: {exc}") from None
        intervals = [
            Interval(float(o), float(d), str(text))
            for o, d, text in zip(annot.onset, annot.duration, annot.description, strict=True)
        ]
        start = edf_header_start(path) if annot.orig_time is None else annot.orig_time
        start = None if start is None else start.replace(tzinfo=None)
        return ReferenceFile(path, path.name.split(".")[0], intervals, start)
    import wfdb

    from cwtmae_cli.data.readers.wfdb_reader import rhythm_intervals

    hea = path.with_suffix(".hea")
    if not hea.is_file():
        raise DataError(
            f"WFDB annotations {path.name} need their header {hea.name} beside them (for the "
            "sampling rate)"
        )
    try:
        header = wfdb.rdheader(str(hea.with_suffix("")))
    except Exception as exc:
        raise DataError(f"cannot read WFDB header {hea.name}: {exc}") from None
    n_samples = int(header.sig_len or 0)
    intervals = rhythm_intervals(path, float(header.fs), n_samples)
    return ReferenceFile(path, path.name.split(".")[0], intervals)


def find_reference_files(path: Path, source: dict) -> list[Path]:
    """The annotation files at ``path``: the file itself, or those of the folder. For a recipe
    with paired annotation files only those its pattern names (the hypnograms, not the PSG
    files beside them)."""
    annotation_ext = str(source.get("annotation_ext", "atr"))
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if _is_reference_file(p, annotation_ext))
        if source.get("annotations") == "paired" and source.get("paired_pattern"):
            pattern = str(source["paired_pattern"]).format(prefix="*")
            found = [
                p for p in found if p.suffix.lower() not in EDF_SUFFIXES or p.match(pattern)
            ]
        if not found:
            raise DataError(
                f"no reference annotations (.edf hypnograms, .atr rhythm files) in {path}"
            )
        return found
    if not _is_reference_file(path, annotation_ext):
        raise DataError(
            f"cannot tell the format of reference {path}: expected an EDF+ hypnogram (.edf), a "
            "WFDB annotation file (.atr), a CSV of recording labels (.csv) or a folder of them"
        )
    return [path]


def choose_recipe(
    names: list[str], predictions: list[Predictions], recipe: str | None, by_recording: bool
) -> tuple[dict, list[str]]:
    """The recipe whose label map turns references into the predictions' classes: ``recipe``
    when given (its classes must be theirs), else the checkpoint's store's, else a built-in one
    with those classes (:func:`_builtin_choice`); and the built-in recipes with the same classes
    passed over that way (empty when the choice was not by class names)."""
    from cwtmae_cli.data.recipes.load import load_recipe

    if recipe is not None:
        chosen = load_recipe(recipe).to_dict()
        theirs = list((chosen.get("labels") or {}).get("names") or [])
        if sorted(theirs) != sorted(names):
            raise DataError(
                f"the predictions' classes {', '.join(names)} are not recipe "
                f"{chosen.get('name')}'s {', '.join(theirs) or '(none)'}"
            )
        return chosen, []
    meta: dict[str, Any] = {"label_names": names}
    ckpt = next((p.checkpoint for p in predictions if p.checkpoint), None)
    if ckpt:
        from cwtmae_cli.runtime.checkpoint import read_meta

        try:
            meta["store"] = read_meta(Path(ckpt)).get("store")
        except CwtmaeError:
            pass  # the checkpoint is gone: a built-in recipe with the same classes
    found = store_recipe(meta)
    if found is not None:
        return found, []
    return _builtin_choice(names, by_recording)


def _builtin_choice(names: list[str], by_recording: bool) -> tuple[dict, list[str]]:
    """The first built-in recipe with the classes ``names`` that reads references of the kind
    scored (a CSV of recording labels: ``annotations = "reference"``; annotation files: the
    others), else the first with those classes; and the other candidates of that kind.
    ``cinc2017`` and ``mitdb-rhythm`` share N, A, O, ~: a ``REFERENCE.csv`` takes the first, a
    folder of ``.atr`` files the second."""
    from cwtmae_cli.data.recipes.load import load_recipe

    matches = [load_recipe(name).to_dict() for name in builtin_matches(names)]
    if not matches:
        raise DataError(
            f"no recipe maps reference annotations to the classes {', '.join(names)} of the "
            "predictions; pass --recipe"
        )
    kind = [
        r for r in matches
        if ((r.get("source") or {}).get("annotations") == "reference") == by_recording
    ]
    candidates = kind or matches
    return candidates[0], [str(r["name"]) for r in candidates[1:]]


def match_key(recording_id: str, recipe: dict) -> str:
    """The id tables and references are matched by: the recipe's pairing prefix for paired
    annotation files (Sleep-EDF), else the id itself."""
    source = recipe.get("source") or {}
    if source.get("annotations") == "paired":
        return recording_id[: int(source.get("prefix_chars", 6))]
    return recording_id


def producible(recipe: dict) -> set[str]:
    """The classes the recipe's label map can give a reference annotation."""
    labels = recipe["labels"]
    out = set((labels.get("map") or {}).values())
    if labels.get("unmapped") in (labels.get("names") or []):
        out.add(labels["unmapped"])
    return out


def lenient(recipe: dict) -> dict:
    """The recipe with texts outside its map unlabelled instead of an error (they are counted
    as `no reference label`, not fatal, when scoring)."""
    labels = dict(recipe["labels"])
    if labels.get("unmapped") == "error":
        labels["unmapped"] = "unlabelled"
    return {**recipe, "labels": labels}


def left_out_reason(label: str | None, reason: str | None) -> str | None:
    """Why a window with reference class ``label`` (None: none) is not scored, or None."""
    if label is not None:
        return None
    if reason and reason.startswith("label "):
        return f"reference {reason.removeprefix('label ')}"
    return NO_REFERENCE
