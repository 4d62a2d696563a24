"""Finding a recipe's recordings in a source folder, with their ids, subjects and annotations."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

from cwtmae_cli.data.readers.fif_reader import fif_stem, is_fif
from cwtmae_cli.data.recipes.recipe import Recipe
from cwtmae_cli.data.recipes.subjects import subject_of
from cwtmae_cli.errors import DataError, UsageError


@dataclass(frozen=True)
class SourceItem:
    """One recording to process. ``problem`` is set when it cannot be processed (reason);
    ``label`` is its recording-level label text (a ``reference`` recipe's CSV), if any."""

    recording_id: str
    subject: str
    path: Path
    annotations: Path | None = None
    problem: str | None = None
    label: str | None = None


def default_source(recipe: Recipe) -> Path:
    """Where a recipe's data lives without ``--source`` (MNE's data folder for sleep-edf)."""
    if not recipe.source.mne_folder:
        raise UsageError(
            f"recipe `{recipe.name}` needs --source DIR (the folder holding the recordings)"
        )
    import mne

    root = mne.get_config("MNE_DATASETS_SLEEP_PHYSIONET_PATH") or mne.get_config(
        "MNE_DATA", default=str(Path.home() / "mne_data")
    )
    return Path(root) / recipe.source.mne_folder


def _match(regex: str, text: str, fallback: str) -> str:
    if not regex:
        return fallback
    m = re.search(regex, text)
    if not m:
        return fallback
    return m.group(1) if m.groups() else m.group(0)


def find_recordings(recipe: Recipe, source: Path) -> list[SourceItem]:
    """All recordings of ``recipe`` under ``source`` (searched recursively), sorted by id."""
    source = Path(source)
    if not source.is_dir():
        raise DataError(f"source folder {source} does not exist")
    spec = recipe.source
    files = {p for pattern in spec.pattern for p in source.rglob(pattern) if p.is_file()}
    files = {p for p in files if not any(fnmatch.fnmatch(p.name, x) for x in spec.exclude)}
    if not files:
        raise DataError(
            f"no recordings matching {', '.join(spec.pattern)} in {source} "
            f"(recipe `{recipe.name}`); check --source"
        )
    reference = None
    if spec.annotations == "reference":
        reference = read_reference(source / spec.reference_file)
    items: dict[str, SourceItem] = {}
    for path in sorted(files):
        stem = fif_stem(path) if is_fif(path) else path.stem  # night_raw.fif.gz: night_raw
        rid = _match(spec.recording_id_regex, stem, stem)
        if rid in items:
            raise DataError(
                f"two recordings named {rid}: {items[rid].path} and {path}; "
                "point --source at a folder holding only one of them"
            )
        subject = subject_of(spec.subject_regex, rid)
        annotations, problem = _annotations_for(recipe, path)
        record_path = path.with_suffix("") if recipe.format == "wfdb" else path
        label = None
        if reference is not None:
            label = reference.get(rid)
            if label is None:
                problem = problem or f"{rid} has no label in {spec.reference_file}"
        items[rid] = SourceItem(rid, subject, record_path, annotations, problem, label)
    for rid in sorted(set(reference or {}) - set(items)):  # listed, but no such recording
        missing = source / f"{rid}{Path(spec.pattern[0]).suffix}"
        problem = f"listed in {spec.reference_file} but {missing.name} is missing from {source}"
        subject = _match(spec.subject_regex, rid, rid)
        items[rid] = SourceItem(rid, subject, missing, None, problem, reference[rid])
    return [items[k] for k in sorted(items)]


def read_reference(path: Path) -> dict[str, str]:
    """Recording id -> label text from a CSV of ``recording,label`` lines (the PhysioNet
    challenges' ``REFERENCE.csv``; blank lines ignored). DataError when missing or malformed."""
    if not path.is_file():
        raise DataError(f"no label file {path.name} in {path.parent} (needed by the recipe)")
    labels: dict[str, str] = {}
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 2 or not all(fields):
            raise DataError(
                f"{path.name} line {number}: expected `recording,label`, got {line.strip()!r}"
            )
        rid, label = fields
        if labels.get(rid, label) != label:
            raise DataError(
                f"{path.name} line {number}: {rid} is labelled both {labels[rid]} and {label}"
            )
        labels[rid] = label
    if not labels:
        raise DataError(f"{path} holds no `recording,label` line")
    return labels


def _annotations_for(recipe: Recipe, path: Path) -> tuple[Path | None, str | None]:
    spec = recipe.source
    if spec.annotations == "paired":
        pattern = spec.paired_pattern.format(prefix=path.name[: spec.prefix_chars])
        found = sorted(path.parent.glob(pattern))
        if not found:
            return None, f"no annotation file matching {pattern} next to {path.name}"
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            return None, f"several annotation files match {pattern}: {names}"
        return found[0], None
    if spec.annotations == "file" and recipe.format == "wfdb":
        ann = path.with_suffix(f".{spec.annotation_ext}")
        if not ann.is_file():
            return None, f"annotation file {ann.name} is missing next to {path.name}"
        return ann, None
    return None, None
