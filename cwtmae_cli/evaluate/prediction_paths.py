"""Where ``predict`` reads and writes: the recordings a path names (a file, a WFDB record by any
of its names, a folder), their ids, and the output files of each (table, plot, sidecar)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from cwtmae_cli.errors import CwtmaeError, DataError

SIGNAL_SUFFIXES = (".edf", ".bdf", ".fif", ".fif.gz")
# MNE's FIF files that hold no raw recording (events, epochs, evoked data, ICA, ...)
_NOT_RAW_FIF = re.compile(
    r"[-_](eve|epo|ave|annot|ica|cov|fwd|inv|trans|proj|sol)\.fif(\.gz)?$", re.I
)
WFDB_SUFFIXES = (".hea", ".dat", ".mat")
_BIDS_DATATYPE = re.compile(r"_(eeg|ieeg|meg|nirs|emg|ecg|physio|beh)$")


def _wfdb_record(path: Path) -> Path | None:
    """The record path (no extension) when ``path`` names a WFDB record, else None."""
    if path.suffix.lower() in WFDB_SUFFIXES:
        path = path.with_suffix("")
    return path if path.with_name(path.name + ".hea").is_file() else None


def find_recordings(path: Path) -> list[Path]:
    """The recordings ``path`` names: itself, its WFDB record, or the ones in a folder (sorted)."""
    path = Path(path)
    if path.is_dir():
        found: set[Path] = set()
        for child in path.iterdir():
            suffix = _suffix(child)
            if (
                suffix in SIGNAL_SUFFIXES
                and "hypnogram" not in child.name.lower()
                and not _NOT_RAW_FIF.search(child.name)
            ):
                found.add(child)
            elif suffix == ".hea":
                found.add(child.with_suffix(""))
        if not found:
            raise DataError(f"no EDF/BDF/FIF file or WFDB record (.hea) in folder {path}")
        return sorted(found)
    if path.is_file() and _suffix(path) in SIGNAL_SUFFIXES:
        return [path]
    record = _wfdb_record(path)
    if record is not None:
        return [record]
    if path.exists():
        raise DataError(f"{path} is not an EDF/BDF/FIF file or a WFDB record (.hea)")
    raise DataError(f"no recording at {path}")


def recording_id(path: Path) -> str:
    """``SC4001E0-PSG`` for ``.../SC4001E0-PSG.edf``, ``201`` for the WFDB record ``.../201``."""
    path = Path(path)
    suffix = _suffix(path)
    return path.name[: -len(suffix)] if suffix in SIGNAL_SUFFIXES + WFDB_SUFFIXES else path.name


def _suffix(path: Path) -> str:
    """The lower-case suffix, ``.fif.gz`` for a compressed FIF file."""
    return ".fif.gz" if path.name.lower().endswith(".fif.gz") else path.suffix.lower()


def output_names(recordings: list[Path]) -> dict[Path, str]:
    """A distinct output name per recording: its id, or ``<id>_<suffix>`` when two share an id
    (``rec.edf`` and ``rec.bdf`` in one folder), so that no output overwrites another."""
    ids = [recording_id(p) for p in recordings]
    return {
        p: rec_id
        if ids.count(rec_id) == 1
        else f"{rec_id}_{p.suffix.lstrip('.').lower() or 'wfdb'}"
        for p, rec_id in zip(recordings, ids, strict=True)
    }


def output_paths(
    out_dir: Path, rec_id: str, fmt: str, sleep: bool = True
) -> tuple[Path, Path, Path | None]:
    """(prediction file, plot PNG, provenance sidecar or None for a json table) of one
    recording. The plot is a ``_hypnogram`` only for sleep stages, else ``_labels``; the
    prediction file is ``<id>_pred.<fmt>``, for ``bids`` the events file ``<id>_events.tsv``
    (see :func:`bids_events_stem`)."""
    out_dir = Path(out_dir)
    plot = out_dir / f"{rec_id}_{'hypnogram' if sleep else 'labels'}.png"
    sidecar = None if fmt == "json" else out_dir / f"{rec_id}_pred.json"
    if fmt == "bids":
        return out_dir / f"{bids_events_stem(rec_id)}.tsv", plot, sidecar
    return out_dir / f"{rec_id}_pred.{fmt}", plot, sidecar


def bids_events_stem(rec_id: str) -> str:
    """``sub-01_task-sleep_events`` for ``sub-01_task-sleep_eeg`` (BIDS names an events file
    after its recording without the data-type suffix); ``<id>_events`` otherwise."""
    return _BIDS_DATATYPE.sub("", rec_id) + "_events"


def density_plot_path(out_dir: Path, rec_id: str, sleep: bool = True) -> Path:
    """The class-probability plot of one recording: ``_hypnodensity`` for sleep stages, else
    ``_probabilities``."""
    return Path(out_dir) / f"{rec_id}_{'hypnodensity' if sleep else 'probabilities'}.png"


def ensure_writable(out_dir: Path) -> Path:
    """Create ``out_dir`` if needed and prove a file can be written there; CwtmaeError if not."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".cwtmae-write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CwtmaeError(
            f"cannot write predictions to {out_dir} ({reason}); choose another folder with --out"
        ) from None
    return out_dir


def write_json(path: Path, doc: dict) -> Path:
    """``doc`` as indented JSON at ``path``, through a ``.part`` file renamed into place."""
    import json

    tmp = Path(path).with_name(Path(path).name + ".part")
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return Path(path)
