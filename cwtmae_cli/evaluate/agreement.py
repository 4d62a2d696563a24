"""``cwtmae score``: prediction tables scored against reference annotations (a human scorer).

Predictions are what ``predict`` writes: ``<recording>_pred.tsv`` (or ``.csv`` / ``.json``) tables
of windows, or ``summary.tsv`` with one row per recording, or a folder of them. References are
a hypnogram EDF+ (Sleep-EDF ``Sleep stage W/1/2/3/4/R``, or any EDF+ file's own annotations), a
WFDB rhythm annotation file (``.atr``: ``aux_note`` rhythm intervals, read with its ``.hea``
for the sampling rate), a folder of those, or a CSV of recording labels (``REFERENCE.csv``:
``record,label``). A CSV scores recordings (``summary.tsv``), annotation files score windows.

Annotation texts become classes through the label map of a recipe, window by window as
``prepare`` labels them (:func:`~cwtmae_cli.evaluate.reference.window_labels`, the mapper
``predict``'s overlay uses): the recipe of the checkpoint's store when it is still there (the
table's sidecar names the checkpoint), else the built-in recipe with the tables' class names,
or the one given. Rules:

- tables and references are matched by recording id (a reference file's stem; for a recipe
  with paired annotation files, such as Sleep-EDF's ``SC4001E0-PSG`` and
  ``SC4001EC-Hypnogram``, the prefix the recipe pairs them by); unmatched ones are listed;
- a window is scored when its prediction is a class (not ``bad``) and its reference maps to a
  class; the others are left out and counted by reason (``bad``, ``no reference label``: no
  annotation covers enough of it, or its text is outside the map; ``reference <text>``: a text
  the recipe drops, such as ``Sleep stage ?``);
- onsets are seconds from the recording's first sample; when the table's sidecar gives the
  recording's clock start and the EDF+ reference its own, the reference is placed by clock time
  (``offset_s``: reference start minus table start);
- the classes are the tables' (they must be the recipe's names); a class the recipe's map cannot
  produce is listed in ``classes_not_in_reference_map``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from cwtmae_cli import __version__
from cwtmae_cli.errors import CwtmaeError, DataError
from cwtmae_cli.evaluate.recording_level import SUMMARY_FILE
from cwtmae_cli.evaluate.reference import label_spec, recipe_of, window_labels
from cwtmae_cli.evaluate.summary import BAD_LABEL
from cwtmae_cli.metrics import classification_metrics, per_recording_metrics

TABLE_SUFFIXES = (".tsv", ".csv", ".json")
EDF_SUFFIXES = (".edf", ".bdf")
NO_REFERENCE = "no reference label"


@dataclass
class Predictions:
    """One recording's predictions: window onsets and labels (``bad`` where QC failed), or a
    recording-level label (``onset_s`` None)."""

    recording_id: str
    source: Path
    label_names: list[str]
    labels: list[str]
    onset_s: np.ndarray | None = None  # (W,) s from the recording's first sample
    window_s: float = 0.0
    start: datetime | None = None  # clock time of the first sample (sidecar), if known
    checkpoint: str | None = None


@dataclass
class AgreementResult:
    """What ``score`` found. ``metrics`` is :func:`classification_metrics`' dict."""

    predictions: str
    reference: str
    level: str  # "windows" or "recordings"
    recipe: str
    label_names: list[str]
    metrics: dict
    n_recordings: int
    recordings: list[dict]
    unmatched_predictions: list[str]
    unmatched_references: list[str]
    left_out: dict[str, int]
    classes_not_in_reference_map: list[str]
    per_recording: list[dict] | None = None
    recording_level: None = None  # the report's recording section belongs to evaluate
    split: str = "reference"
    y_true: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    y_pred: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def to_dict(self) -> dict:
        return {
            "tool_version": __version__,
            "predictions": self.predictions,
            "reference": self.reference,
            "level": self.level,
            "recipe": self.recipe,
            "label_names": self.label_names,
            **self.metrics,
            "n_recordings": self.n_recordings,
            "recordings": self.recordings,
            "unmatched_predictions": self.unmatched_predictions,
            "unmatched_references": self.unmatched_references,
            "left_out": self.left_out,
            "classes_not_in_reference_map": self.classes_not_in_reference_map,
            "per_recording": self.per_recording,
        }


# --- predictions -----------------------------------------------------------------------------


def _table_id(path: Path) -> str:
    return path.name.removesuffix(f"_pred{path.suffix}")


def _float(value: Any, path: Path, column: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(f"{path.name}: `{column}` value {value!r} is not a number") from None


def _sidecar(path: Path, doc: dict | None) -> dict:
    if doc is not None:  # a json table carries its provenance
        return doc.get("provenance") or {}
    side = path.with_name(f"{_table_id(path)}_pred.json")
    try:
        return json.loads(side.read_text(encoding="utf-8")) if side.is_file() else {}
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}


def read_prediction_table(path: Path) -> Predictions:
    """A ``<recording>_pred.tsv|csv|json`` table. DataError when it is not one."""
    import csv

    path = Path(path)
    doc = None
    try:
        if path.suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or "windows" not in doc:
                raise DataError(f"{path} is not a prediction table (no `windows`)")
            rows, columns = doc["windows"], list(doc.get("columns") or [])
        else:
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh, delimiter="\t" if path.suffix == ".tsv" else ",")
                rows, columns = list(reader), list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read prediction table {path}: {exc}") from None
    missing = [c for c in ("onset_s", "duration_s", "label") if c not in columns]
    names = [c.removeprefix("prob_") for c in columns if c.startswith("prob_")]
    if missing or not names:
        what = f"no {', '.join(missing)} column" if missing else "no prob_<class> column"
        raise DataError(f"{path} is not a prediction table of `cwtmae predict` ({what})")
    onset_s = np.array([_float(r["onset_s"], path, "onset_s") for r in rows], dtype=np.float64)
    durations = {_float(r["duration_s"], path, "duration_s") for r in rows}
    if len(durations) > 1:
        raise DataError(f"{path.name}: windows of several lengths {sorted(durations)}")
    labels = [str(r["label"]) for r in rows]
    unknown = sorted(set(labels) - set(names) - {BAD_LABEL})
    if unknown:
        raise DataError(f"{path.name}: labels {', '.join(unknown)} are none of its classes")
    side = _sidecar(path, doc)
    start = None
    if side.get("recording_start"):
        try:
            start = datetime.fromisoformat(side["recording_start"]).replace(tzinfo=None)
        except (TypeError, ValueError):
            start = None
    return Predictions(
        recording_id=str((doc or {}).get("recording") or side.get("recording") or _table_id(path)),
        source=path,
        label_names=names,
        labels=labels,
        onset_s=onset_s,
        window_s=durations.pop() if durations else 0.0,
        start=start,
        checkpoint=(side.get("checkpoint") or {}).get("path"),
    )


def read_summary(path: Path) -> list[Predictions]:
    """The recordings of a ``summary.tsv`` (one label per recording)."""
    import csv

    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            rows, columns = list(reader), list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    names = [c.removeprefix("prob_") for c in columns if c.startswith("prob_")]
    if "recording" not in columns or "label" not in columns or not names:
        raise DataError(f"{path} is not a {SUMMARY_FILE} of `cwtmae predict`")
    unknown = sorted({str(r["label"]) for r in rows} - set(names) - {BAD_LABEL})
    if unknown:
        raise DataError(f"{path.name}: labels {', '.join(unknown)} are none of its classes")
    return [Predictions(str(r["recording"]), path, names, [str(r["label"])]) for r in rows]


def _is_table(path: Path) -> bool:
    return path.suffix in TABLE_SUFFIXES and path.name.endswith(f"_pred{path.suffix}")


def read_predictions(path: Path, recordings: bool) -> list[Predictions]:
    """The prediction tables at ``path`` (a table, ``summary.tsv`` or a folder of them);
    ``recordings``: one label per recording (``summary.tsv``) rather than windows."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file or folder: {path}")
    if path.is_dir():
        if recordings:
            if not (path / SUMMARY_FILE).is_file():
                raise DataError(
                    f"no {SUMMARY_FILE} in {path}: recording labels are scored against the "
                    f"recording-level answers `cwtmae predict` writes there"
                )
            return read_summary(path / SUMMARY_FILE)
        tables = sorted(p for p in path.iterdir() if _is_table(p) and p.suffix != ".json")
        stems = {_table_id(p) for p in tables}
        tables += sorted(  # json tables; the other *_pred.json are sidecars of tsv/csv tables
            p for p in path.glob("*_pred.json") if _table_id(p) not in stems
        )
        if not tables:
            raise DataError(f"no prediction table (*_pred.tsv, .csv or .json) in {path}")
        found = [read_prediction_table(p) for p in tables]
    elif path.name == SUMMARY_FILE or (
        recordings and path.suffix == ".tsv" and not _is_table(path)
    ):
        if not recordings:
            raise DataError(
                f"{path} holds one label per recording; annotation files are scored window by "
                "window: give the *_pred tables (or their folder)"
            )
        return read_summary(path)
    elif _is_table(path):
        if recordings:
            raise DataError(
                f"a CSV of recording labels is scored against {SUMMARY_FILE} (one label per "
                f"recording), not a window table such as {path.name}"
            )
        found = [read_prediction_table(path)]
    else:
        raise DataError(
            f"cannot tell the format of {path}: expected a <recording>_pred.tsv/.csv/.json "
            f"table, a {SUMMARY_FILE} or a folder of them"
        )
    names = {tuple(p.label_names) for p in found}
    if len(names) > 1:
        raise DataError(
            f"the tables in {path} have different classes: "
            + "; ".join(", ".join(n) for n in sorted(names))
        )
    return found


# --- references ------------------------------------------------------------------------------


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


def _edf_start(path: Path) -> datetime | None:
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
        start = _edf_start(path) if annot.orig_time is None else annot.orig_time
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


def _reference_files(path: Path, source: dict) -> list[Path]:
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


# --- matching and scoring --------------------------------------------------------------------


def _choose_recipe(names: list[str], predictions: list[Predictions], recipe: str | None) -> dict:
    from cwtmae_cli.data.recipes.load import load_recipe

    if recipe is not None:
        chosen = load_recipe(recipe).to_dict()
        theirs = list((chosen.get("labels") or {}).get("names") or [])
        if sorted(theirs) != sorted(names):
            raise DataError(
                f"the predictions' classes {', '.join(names)} are not recipe "
                f"{chosen.get('name')}'s {', '.join(theirs) or '(none)'}"
            )
        return chosen
    meta: dict[str, Any] = {"label_names": names}
    ckpt = next((p.checkpoint for p in predictions if p.checkpoint), None)
    if ckpt:
        from cwtmae_cli.runtime.checkpoint import read_meta

        try:
            meta["store"] = read_meta(Path(ckpt)).get("store")
        except CwtmaeError:
            pass  # the checkpoint is gone: a built-in recipe with the same classes
    found = recipe_of(meta)
    if found is None:
        raise DataError(
            f"no recipe maps reference annotations to the classes {', '.join(names)} of the "
            "predictions; pass --recipe"
        )
    return found


def _key(recording_id: str, recipe: dict) -> str:
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


def _lenient(recipe: dict) -> dict:
    """The recipe with texts outside its map unlabelled instead of an error (they are counted
    as `no reference label`, not fatal, when scoring)."""
    labels = dict(recipe["labels"])
    if labels.get("unmapped") == "error":
        labels["unmapped"] = "unlabelled"
    return {**recipe, "labels": labels}


def _reason(label: str | None, reason: str | None) -> str | None:
    if label is not None:
        return None
    if reason and reason.startswith("label "):
        return f"reference {reason.removeprefix('label ')}"
    return NO_REFERENCE


def score_predictions(
    predictions: Path, reference: Path, recipe: str | None = None
) -> AgreementResult:
    """Score the prediction tables at ``predictions`` against the annotations at ``reference``
    (see the module docstring). DataError for missing files, unknown formats, classes that do not
    agree, or no recording (or window) in common."""
    predictions, reference = Path(predictions), Path(reference)
    if not reference.exists():
        raise DataError(f"no such file or folder: {reference}")
    by_recording = reference.is_file() and reference.suffix.lower() == ".csv"
    tables = read_predictions(predictions, recordings=by_recording)
    if not tables:
        raise DataError(f"{predictions} holds no recording")
    names = list(tables[0].label_names)
    chosen = _choose_recipe(names, tables, recipe)
    if by_recording:
        return _score_recordings(predictions, reference, tables, names, chosen)
    return _score_windows(predictions, reference, tables, names, chosen)


def _match(tables: list[Predictions], refs: dict[str, Any], recipe: dict):
    pairs, unmatched = [], []
    for table in tables:
        key = _key(table.recording_id, recipe)
        if key in refs:
            pairs.append((table, refs[key]))
        else:
            unmatched.append(table.recording_id)
    used = {_key(t.recording_id, recipe) for t, _ in pairs}
    return pairs, unmatched, used


def _no_overlap(predictions: Path, reference: Path, tables, refs: list[str]) -> DataError:
    ids = ", ".join(t.recording_id for t in tables[:5]) + (" ..." if len(tables) > 5 else "")
    theirs = ", ".join(refs[:5]) + (" ..." if len(refs) > 5 else "")
    return DataError(
        f"no recording of {predictions} has a reference in {reference} (predictions: {ids}; "
        f"references: {theirs or 'none'})"
    )


def _score_windows(predictions, reference, tables, names, recipe) -> AgreementResult:
    files = _reference_files(reference, recipe.get("source") or {})
    refs: dict[str, Path] = {}
    for path in files:
        key = _key(path.name.split(".")[0], recipe)
        if key in refs:
            raise DataError(
                f"two references for recording {key} in {reference}: {refs[key].name} and "
                f"{path.name}; keep one of them there"
            )
        refs[key] = path
    if predictions.is_file() and reference.is_file():
        refs = {_key(tables[0].recording_id, recipe): files[0]}  # a file against a file
    pairs, unmatched, used = _match(tables, refs, recipe)
    if not pairs:
        raise _no_overlap(predictions, reference, tables, [p.name for p in files])
    mapper = _lenient(recipe)
    index = {name: k for k, name in enumerate(names)}
    y_true, y_pred, rec_of = [], [], []
    left_out: Counter[str] = Counter()
    rows = []
    for r, (table, path) in enumerate(pairs):
        ref = read_reference_file(path)
        offset_s = 0.0
        if table.start is not None and ref.start is not None:
            offset_s = (ref.start - table.start).total_seconds()
        shifted = [type(iv)(iv.onset_s + offset_s, iv.duration_s, iv.label) for iv in ref.intervals]
        truth, reasons = window_labels(shifted, mapper, table.onset_s, table.window_s)
        here: Counter[str] = Counter()
        n_scored = 0
        for predicted, label, reason in zip(table.labels, truth, reasons, strict=True):
            why = BAD_LABEL if predicted == BAD_LABEL else _reason(label, reason)
            if why is not None:
                here[why] += 1
                continue
            y_true.append(index[label])
            y_pred.append(index[predicted])
            rec_of.append(r)
            n_scored += 1
        left_out.update(here)
        rows.append(
            {
                "recording": table.recording_id,
                "table": str(table.source),
                "reference": str(path),
                "n_windows": len(table.labels),
                "n_scored": n_scored,
                "left_out": dict(here),
                "offset_s": offset_s,
            }
        )
    if not y_true:
        raise DataError(
            f"no window of {predictions} has both a class and a reference label in {reference} "
            f"({', '.join(f'{n} {why}' for why, n in left_out.most_common())})"
        )
    unmatched_refs = [str(p) for k, p in refs.items() if k not in used]
    return _result(
        predictions,
        reference,
        "windows",
        recipe,
        names,
        y_true,
        y_pred,
        rows,
        unmatched,
        unmatched_refs,
        left_out,
        rec_of,
    )


def _score_recordings(predictions, reference, tables, names, recipe) -> AgreementResult:
    from cwtmae_cli.data.recipes.sources import read_reference

    labels = read_reference(reference)  # recording id -> label text
    refs = {_key(rid, recipe): rid for rid in labels}
    pairs, unmatched, used = _match(tables, refs, recipe)
    if not pairs:
        raise _no_overlap(predictions, reference, tables, sorted(labels))
    spec = label_spec(_lenient(recipe)["labels"])
    index = {name: k for k, name in enumerate(names)}
    y_true, y_pred = [], []
    left_out: Counter[str] = Counter()
    rows = []
    for table, rid in pairs:
        predicted = table.labels[0]
        cls = spec.class_of(labels[rid])
        truth = spec.names[cls] if isinstance(cls, int) else None
        why = BAD_LABEL if predicted == BAD_LABEL else None
        if why is None and truth is None:
            why = f"reference {labels[rid]}" if cls == "drop" else NO_REFERENCE
        if why is None:
            y_true.append(index[truth])
            y_pred.append(index[predicted])
        else:
            left_out[why] += 1
        rows.append(
            {
                "recording": table.recording_id,
                "label": labels[rid],
                "predicted": predicted,
                "scored": why is None,
            }
        )
    if not y_true:
        raise DataError(
            f"no recording of {predictions} has both a class and a reference label in "
            f"{reference} ({', '.join(f'{n} {why}' for why, n in left_out.most_common())})"
        )
    unmatched_refs = [rid for k, rid in refs.items() if k not in used]
    return _result(
        predictions,
        reference,
        "recordings",
        recipe,
        names,
        y_true,
        y_pred,
        rows,
        unmatched,
        unmatched_refs,
        left_out,
        None,
    )


def _result(
    predictions,
    reference,
    level,
    recipe,
    names,
    y_true,
    y_pred,
    rows,
    unmatched,
    unmatched_refs,
    left_out,
    rec_of,
) -> AgreementResult:
    y_true_a = np.asarray(y_true, dtype=np.int64)  # (N,)
    y_pred_a = np.asarray(y_pred, dtype=np.int64)  # (N,)
    per_recording = None
    if rec_of is not None and len(rows) > 1:
        ids = [row["recording"] for row in rows]
        per_recording = per_recording_metrics(
            y_true_a, y_pred_a, np.asarray(rec_of), ids, len(names)
        )
    n_recordings = len(rows) if rec_of is None else len(set(rec_of))
    return AgreementResult(
        predictions=str(predictions.resolve()),
        reference=str(reference.resolve()),
        level=level,
        recipe=str(recipe.get("name") or ""),
        label_names=names,
        metrics=classification_metrics(y_true_a, y_pred_a, names),
        n_recordings=n_recordings,
        recordings=rows,
        unmatched_predictions=unmatched,
        unmatched_references=unmatched_refs,
        left_out=dict(left_out),
        classes_not_in_reference_map=[n for n in names if n not in producible(recipe)],
        per_recording=per_recording,
        y_true=y_true_a,
        y_pred=y_pred_a,
    )
