"""WFDB records as PhysioNet challenges ship them: headers ``wfdb`` may reject, ``.mat`` signals.

- **Headers.** ``wfdb`` parses the record line's base time and date strictly (``%H:%M:%S``,
  ``%d/%m/%Y``); a header whose only fault is that optional clock field (a date like
  ``2000-05-01`` or ``1/13/2000``) is read without it (:func:`read_header`), so the record still
  loads and its start time is simply unknown.
- **MATLAB signal files.** The challenges store each record's digital samples as the MATLAB
  variable ``val`` (``(n_signals, n_samples)``, int16 in CinC 2017) in ``<record>.mat``. These are
  read with SciPy (:func:`read_mat_signals`), MATLAB v4 or v5 alike, and scaled with the header's
  gain and baseline; a file without ``val``, or whose ``val`` does not fit the header, is a
  DataError that says so (``wfdb`` would read any bytes past a fixed offset as samples).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from cwtmae_cli.errors import DataError
from cwtmae_cli.wording import plural

MAT_VARIABLE = "val"
_DEFAULT_GAIN = 200.0  # WFDB: an ADC gain of 0 means "uncalibrated, 200 units per unit"


def _record_line_without_clock(text: str) -> str | None:
    """``text`` with the record line's base time and date removed (None if it has neither)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) <= 4:  # name, signals, frequency, length: no clock field
            return None
        lines[i] = " ".join(fields[:4])
        return "\n".join(lines) + "\n"
    return None


@contextmanager
def readable_record(record: Path) -> Iterator[tuple[Path, object]]:
    """``(record path wfdb can read, its header)`` for the WFDB record ``record``.

    When ``wfdb`` rejects the header but accepts it without the record line's base time/date,
    the path is in a temporary folder holding that header and links to the signal files
    (removed on exit), and the header has no base time/date. DataError when the header is
    unreadable even so.
    """
    import wfdb

    name = record.name
    try:
        header = wfdb.rdheader(str(record))
    except Exception as exc:
        first = exc
    else:
        yield record, header
        return
    hea = record.with_suffix(".hea")
    stripped = _record_line_without_clock(hea.read_text(encoding="latin-1"))
    if stripped is None:
        raise DataError(f"cannot read the WFDB header of {name}: {first}") from first
    with tempfile.TemporaryDirectory(prefix="cwtmae-wfdb-") as tmp:
        copy = Path(tmp) / name
        copy.with_suffix(".hea").write_text(stripped, encoding="latin-1")
        try:
            header = wfdb.rdheader(str(copy))
        except Exception as second:  # re-raised as DataError: nothing falls back to a default
            raise DataError(f"cannot read the WFDB header of {name}: {first} (without its "
                            f"time field: {second})") from second
        for file in {f for f in (header.file_name or []) if f}:
            source = record.parent / file
            if source.is_file() and Path(file).name == file:
                (Path(tmp) / file).symlink_to(source.resolve())
        yield copy, header


def is_mat_record(header) -> bool:
    """Whether every signal file of the record is a ``.mat`` file."""
    files = [f for f in (header.file_name or []) if f]
    return bool(files) and all(f.lower().endswith(".mat") for f in files)


def read_mat_signals(record: Path, header, picks: list[int]) -> np.ndarray:
    """The signals ``picks`` of a record stored as ``.mat`` ``val``: ``(len(picks), n)`` float32
    in physical units, ``(val - baseline) / gain``; the format's invalid value becomes NaN."""
    name = record.name
    out = []
    by_file: dict[str, list[int]] = {}
    for i, file in enumerate(header.file_name):
        by_file.setdefault(file, []).append(i)
    cache: dict[str, np.ndarray] = {}
    for i in picks:
        file = header.file_name[i]
        if file not in cache:
            cache[file] = _load_val(record.parent / file, name, len(by_file[file]), header.sig_len)
        digital = cache[file][by_file[file].index(i)].astype(np.float64)  # (n,)
        fmt = str(header.fmt[i] or "16")
        if fmt in ("8", "16", "24", "32"):
            digital[digital == -(2 ** (int(fmt) - 1))] = np.nan  # WFDB's "no sample" value
        gain = float(header.adc_gain[i] or _DEFAULT_GAIN)
        baseline = float(header.baseline[i] or 0)
        out.append((digital - baseline) / gain)
    return np.asarray(out, dtype=np.float32)  # (C, n)


def _load_val(path: Path, name: str, n_signals: int, sig_len: int | None) -> np.ndarray:
    """``val`` of one ``.mat`` file as ``(n_signals, n)``; DataError when absent or misshapen."""
    import scipy.io

    try:
        content = scipy.io.loadmat(str(path), variable_names=[MAT_VARIABLE])
    except NotImplementedError:  # MATLAB v7.3 (HDF5)
        raise DataError(
            f"WFDB record {name}: {path.name} is a MATLAB v7.3 file; save it with -v4 or -v7"
        ) from None
    except Exception as exc:  # SciPy raises several types for files that are not MATLAB
        raise DataError(f"WFDB record {name}: cannot read {path.name}: {exc}") from None
    if MAT_VARIABLE not in content:
        raise DataError(
            f"WFDB record {name}: {path.name} holds no variable `{MAT_VARIABLE}` "
            "(the challenge layout stores the samples as `val`)"
        )
    val = np.asarray(content[MAT_VARIABLE])
    if val.ndim == 1:
        val = val[None, :]
    if val.ndim == 2 and val.shape[0] != n_signals and val.shape[1] == n_signals:
        val = val.T  # stored as columns
    if val.ndim != 2 or val.shape[0] != n_signals or not np.issubdtype(val.dtype, np.number):
        raise DataError(
            f"WFDB record {name}: `{MAT_VARIABLE}` in {path.name} has shape {val.shape}; "
            f"the header describes {plural(n_signals, 'signal')}"
        )
    if sig_len and val.shape[1] != sig_len:
        raise DataError(
            f"WFDB record {name}: {path.name} holds {val.shape[1]} samples per signal but "
            f"{name}.hea says {sig_len}"
        )
    return val
