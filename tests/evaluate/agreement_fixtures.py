"""Prediction tables written by hand, as ``cwtmae predict`` writes them, for ``score``'s tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

SLEEP = ["W", "N1", "N2", "N3", "REM"]
AF = ["non-AF", "AF"]
CINC = ["N", "A", "O", "~"]


def write_table(
    path: Path,
    onsets_s: Sequence[float],
    labels: Sequence[str],
    names: Sequence[str],
    window_s: float = 30.0,
    start: str | None = None,
) -> Path:
    """A ``<rec>_pred.tsv`` whose probabilities are one-hot on ``labels`` (``bad``: n/a), and
    with ``start`` (ISO clock time of the first sample) a sidecar ``<rec>_pred.json``."""
    columns = ["onset_s", "duration_s", "label", "confidence", *[f"prob_{n}" for n in names]]
    lines = ["\t".join([*columns, "quality"])]
    for onset_s, label in zip(onsets_s, labels, strict=True):
        if label == "bad":
            cells = ["n/a"] * (1 + len(names)) + ["flat"]
        else:
            cells = ["1.0", *["1.0" if n == label else "0.0" for n in names], "ok"]
        lines.append("\t".join([repr(float(onset_s)), repr(float(window_s)), label, *cells]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    if start is not None:
        rid = path.name.removesuffix("_pred.tsv")
        side = {"recording": rid, "recording_start": start, "label_names": list(names)}
        path.with_name(f"{rid}_pred.json").write_text(json.dumps(side))
    return path


def write_summary(path: Path, answers: dict[str, str], names: Sequence[str]) -> Path:
    """A ``summary.tsv`` with one row per recording (``bad``: no good window)."""
    lines = ["\t".join(["recording", "n_windows", "label", "confidence",
                        *[f"prob_{n}" for n in names], "n_bad"])]
    for rid, label in answers.items():
        if label == "bad":
            lines.append("\t".join([rid, "0", "bad", "n/a", *["n/a"] * len(names), "3"]))
        else:
            probs = ["1.0" if n == label else "0.0" for n in names]
            lines.append("\t".join([rid, "3", label, "1.0", *probs, "0"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def link_record(shared: Path, folder: Path, record: str, suffixes=("hea", "atr")) -> Path:
    """``folder/<record>.<suffix>`` links to ``mitdb/`` (the .atr with its header)."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in suffixes:
        (folder / f"{record}.{suffix}").symlink_to(shared / "mitdb" / f"{record}.{suffix}")
    return folder / f"{record}.atr"
