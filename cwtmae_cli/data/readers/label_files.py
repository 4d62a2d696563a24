"""Label files that other tools write, paired with a recording: text hypnograms and CSV tables.

- A **text hypnogram** (``.txt``, ``.hyp``): one stage per epoch, one per line, from the
  recording's first sample, as YASA (``np.savetxt`` of a hypnogram) and the DREAMS databases
  write them. The stage text (``W``, ``N2``, ``2``, ``R``) is kept as the interval's label, so the
  recipe's ``[labels.map]`` names the classes; the epoch length is the recipe's. Lines starting
  with ``#`` and a first line in brackets (DREAMS' ``[HypnogramAASM]``) are headers; empty lines
  at the end are ignored, an empty line before a stage is an error (it would shift every later
  epoch). A hypnogram must cover the recording to within one epoch: more or fewer epochs mean
  it belongs to another recording or another epoch length.
- A **label table** (``.csv``, ``.tsv``): a header naming the columns ``onset``, ``duration``
  and ``label`` (in seconds from the recording's first sample), one labelled interval a line.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from cwtmae_cli.data.readers.recording import Interval
from cwtmae_cli.errors import DataError

HYPNOGRAM_SUFFIXES = (".txt", ".hyp")
TABLE_SUFFIXES = (".csv", ".tsv")
TABLE_COLUMNS = ("onset", "duration", "label")


def is_label_file(path: Path) -> bool:
    return Path(path).suffix.lower() in HYPNOGRAM_SUFFIXES + TABLE_SUFFIXES


def read_label_file(path: Path, epoch_s: float, duration_s: float) -> list[Interval]:
    """The labelled intervals of a text hypnogram or a label table paired with a recording of
    ``duration_s`` seconds; DataError (naming the file and line) when it is malformed."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"annotation file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read annotation file {path.name}: {exc}") from None
    if path.suffix.lower() in TABLE_SUFFIXES:
        return _table_intervals(text, path, "\t" if path.suffix.lower() == ".tsv" else ",")
    stages = hypnogram_stages(text, path.name)
    check_hypnogram_length(len(stages), epoch_s, duration_s, path.name)
    return [Interval(i * epoch_s, epoch_s, stage) for i, stage in enumerate(stages)]


def hypnogram_stages(text: str, name: str) -> list[str]:
    """The stage of each epoch of a text hypnogram, in order."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    stages: list[str] = []
    for number, line in enumerate(lines, start=1):
        entry = line.strip()
        if entry.startswith("#") or (not stages and entry.startswith("[")):
            continue
        if not entry:
            raise DataError(f"{name} line {number} is empty: a text hypnogram has one stage a line")
        if len(entry.split()) > 1:
            raise DataError(
                f"{name} line {number}: expected one stage, got {entry!r} (a text hypnogram has "
                "one stage per epoch a line; a table of onset,duration,label is a .csv)"
            )
        stages.append(entry)
    if not stages:
        raise DataError(f"{name} holds no stage")
    return stages


def check_hypnogram_length(n_epochs: int, epoch_s: float, duration_s: float, name: str) -> None:
    """DataError unless ``n_epochs`` epochs cover the recording to within one epoch."""
    if abs(n_epochs * epoch_s - duration_s) < epoch_s - 1e-6:
        return
    fits = math.floor(duration_s / epoch_s + 1e-9)
    raise DataError(
        f"{name} holds {n_epochs} epochs of {epoch_s:g} s ({n_epochs * epoch_s:g} s) but the "
        f"recording lasts {duration_s:g} s ({fits} whole epochs): another recording's "
        "hypnogram, or another epoch length (source.epoch_s)"
    )


def _table_intervals(text: str, path: Path, delimiter: str) -> list[Interval]:
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    header = [c.strip().lower() for c in next(reader, [])]
    missing = [c for c in TABLE_COLUMNS if c not in header]
    if missing:
        raise DataError(
            f"{path.name}: no {', '.join(missing)} column (a label table's header names "
            f"{', '.join(TABLE_COLUMNS)})"
        )
    at = {c: header.index(c) for c in TABLE_COLUMNS}
    intervals = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(f"{path.name} line {number}: {len(row)} fields, the header has "
                            f"{len(header)}")
        onset, duration = (_seconds(row[at[c]], c, path.name, number) for c in TABLE_COLUMNS[:2])
        label = row[at["label"]].strip()
        if onset < 0 or duration < 0 or not label:
            raise DataError(f"{path.name} line {number}: expected onset >= 0, duration >= 0 "
                            f"and a label, got {delimiter.join(row)!r}")
        intervals.append(Interval(onset, duration, label))
    return intervals


def _seconds(cell: str, column: str, name: str, number: int) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise DataError(f"{name} line {number}: `{column}` {cell.strip()!r} is not a number of "
                        "seconds") from None
    if not math.isfinite(value):
        raise DataError(f"{name} line {number}: `{column}` is {cell.strip()}")
    return value
