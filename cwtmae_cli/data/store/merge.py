"""One store from several complete stores of the same windows (``tools/train_bundled_model.py``:
CinC 2017 and MIT-BIH in one fine-tuning store).

The sources must agree on everything a model reads: sampling rate, window length and samples,
window policy, the number of channel slots, and the class names in the same order. Subjects and
recording ids are prefixed with each source's name (``cinc2017/A00001``, ``mitdb-rhythm/100``) so
they stay distinct, and every window keeps its source's split (the subjects of each source were
split there, class-aware; no subject straddles splits).

Channel slots: each source's slot names the channel its files gave (``ECG``, ``MLII``). The merged
store's slot must name them all, e.g. ``ECG|MLII``: a model trained on it records that slot, and
``predict`` then reads ``ECG`` from a file that has it, else ``MLII``.

The sources are only read; the merged store is written by :class:`StoreWriter` (its arrays
grown once per source, every recording committed at once, then ``finish``) in a temporary
sibling renamed into place, so an interrupted merge leaves no half-made store at ``out``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cwtmae_cli.data.readers.channels import normalize_slot, slot_names
from cwtmae_cli.data.store.schema import Store, open_store
from cwtmae_cli.data.store.writer import StoreWriter
from cwtmae_cli.errors import StoreError

_BLOCK = 4096  # windows read from a source at a time


def merge_stores(
    sources: Sequence[Path | str],
    out: Path | str,
    *,
    prefixes: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
) -> Path:
    """Write the store ``out`` holding every window of ``sources``, in order; returns ``out``.

    ``prefixes``: one per source (default: each store's recipe name), prepended with ``/`` to
    its subjects and recording ids. ``channels``: the merged store's slots (default: the
    sources' own, which must then be identical); every name a source's slot tries must be one
    of the merged slot's names. StoreError (one line) when the sources disagree, are
    incomplete, or ``out`` exists or is one of them; nothing is written then.
    """
    out = Path(out)
    stores, names = _open_sources([Path(p) for p in sources], out, prefixes)
    _check_agree(stores)
    attrs = _merged_attrs(stores, names, _merged_slots(stores, channels))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.merge-{uuid.uuid4().hex[:8]}")
    try:
        _write(tmp, stores, names, attrs)
        if out.exists():
            raise StoreError(f"{out} appeared while merging; nothing was written there")
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing half-made is left (gone once renamed)
        raise
    return out


def _open_sources(paths: list[Path], out: Path, prefixes) -> tuple[list[Store], list[str]]:
    """The complete source stores and one distinct prefix each; StoreError otherwise."""
    if len(paths) < 2:
        raise StoreError(f"merging needs at least 2 stores, got {len(paths)}")
    if out.exists():
        raise StoreError(f"{out} exists; give a new path for the merged store")
    stores = [open_store(p) for p in paths]
    for store in stores:
        if not store.complete:
            raise StoreError(f"store {store.path} is not complete (its prepare did not finish)")
    names = list(prefixes) if prefixes is not None else [
        str(s.attrs.get("recipe", {}).get("name") or s.path.stem) for s in stores]
    if len(names) != len(stores) or len(set(names)) != len(names) or not all(names):
        raise StoreError(f"merging needs one distinct, non-empty prefix per store, got {names}")
    return stores, names


def _merged_attrs(stores: list[Store], names: list[str], slots: list[str]) -> dict:
    """The merged store's attributes: the first source's grid and recipe, renamed."""
    first = stores[0]
    recipe = dict(first.attrs.get("recipe") or {})
    recipe["name"] = "+".join(names)
    recipe["signal"] = {**(recipe.get("signal") or {}), "channels": slots}
    return {
        "fs_hz": first.fs_hz,
        "window_s": first.window_s,
        "n_samples": first.n_samples,
        "channels": slots,
        "label_names": first.label_names,
        "window_policy": first.attrs.get("window_policy"),
        "recipe": recipe,
        "subject_splits": {},
        "merged_from": [
            {"prefix": name, "path": str(s.path), "recipe": s.attrs.get("recipe", {}).get("name"),
             "channels": s.channels, "n_windows": s.n_windows, "n_recordings": len(s.recordings)}
            for name, s in zip(names, stores, strict=True)
        ],
    }


def _write(tmp: Path, stores: list[Store], names: list[str], attrs: dict) -> None:
    """Every source's windows into a new store at ``tmp``, committed once at the end."""
    writer = StoreWriter.create(tmp, n_channels=len(attrs["channels"]),
                                n_samples=attrs["n_samples"], attrs=attrs)
    skipped: list[dict] = []
    subject_splits: dict[str, int] = {}
    recordings: list[dict] = []
    for name, store in zip(names, stores, strict=True):
        _copy(store, name, writer, recordings, subject_splits)
        skipped += [{**item, "id": f"{name}/{item.get('id')}"}
                    for item in store.attrs.get("skipped", [])]
    writer.group.update_attributes(  # the one commit of every window and recording
        {"recordings": recordings, "n_committed": writer.n_committed + writer.n_pending})
    writer.n_pending = 0
    writer.finish(skipped, subject_splits)


def _check_agree(stores: list[Store]) -> None:
    """StoreError naming the first property a source does not share with the first store."""
    first = stores[0]

    def props(s: Store) -> dict:
        return {"sampling rate (Hz)": s.fs_hz, "window length (s)": s.window_s,
                "samples per window": s.n_samples, "number of channel slots": len(s.channels),
                "class names (in order)": s.label_names,
                "window policy": s.attrs.get("window_policy")}

    want = props(first)
    for store in stores[1:]:
        for key, value in props(store).items():
            if value != want[key]:
                raise StoreError(f"cannot merge {store.path} with {first.path}: {key} differs "
                                 f"({value!r} against {want[key]!r})")


def _merged_slots(stores: list[Store], channels: Sequence[str] | None) -> list[str]:
    """The merged store's slots, each naming every name the sources' slot at its place tries."""
    if channels is None:
        for store in stores[1:]:
            if store.channels != stores[0].channels:
                raise StoreError(
                    f"stores {stores[0].path} and {store.path} have other channel slots "
                    f"({', '.join(stores[0].channels)} against {', '.join(store.channels)}); "
                    "name the merged slots, e.g. 'ECG|MLII'")
        return list(stores[0].channels)
    try:
        slots = [normalize_slot(c) for c in channels]
    except ValueError as exc:
        raise StoreError(f"merged channel slots: {exc}") from None
    if len(slots) != len(stores[0].channels):
        raise StoreError(f"{len(slots)} merged channel slots for stores of "
                         f"{len(stores[0].channels)}")
    for store in stores:
        for slot, own in zip(slots, store.channels, strict=True):
            missing = [n for n in slot_names(own) if n not in slot_names(slot)]
            if missing:
                raise StoreError(f"merged slot `{slot}` does not name `{missing[0]}`, which "
                                 f"store {store.path} reads in its slot `{own}`")
    return slots


def _copy(store: Store, prefix: str, writer: StoreWriter, recordings_out: list[dict],
          subject_splits: dict[str, int]) -> None:
    """Append every window of ``store`` to ``writer``'s arrays (splits unchanged) and its
    recordings' entries to ``recordings_out``. The arrays are grown once per source and the
    caller commits all recordings at once: one commit per recording would rewrite a recordings
    list that grows with every one (3,000 CinC records: minutes of JSON)."""
    recording = np.asarray(store.recording[:], dtype=np.int64)  # (N,)
    split = np.asarray(store.split[:], dtype=np.int8)  # (N,)
    recordings = store.recordings
    counts = np.bincount(recording, minlength=len(recordings)) if len(recording) else \
        np.zeros(len(recordings), np.int64)
    if not np.array_equal(recording, np.repeat(np.arange(len(recordings)), counts)):
        raise StoreError(f"store {store.path}: a recording's windows are not contiguous and in "
                         "order; it cannot be merged")
    offsets = np.concatenate([[0], np.cumsum(counts)])  # (R + 1,)
    for r, entry in enumerate(recordings):
        subject = f"{prefix}/{entry['subject']}"
        codes = np.unique(split[offsets[r]:offsets[r + 1]])
        code = int(codes[0]) if len(codes) else -1
        if len(codes) > 1 or (len(codes) and code < 0):
            raise StoreError(f"store {store.path}: recording {entry['id']} has windows in "
                             "several or no splits; it cannot be merged")
        if len(codes) and subject_splits.setdefault(subject, code) != code:
            raise StoreError(f"store {store.path}: subject {entry['subject']} lies in more "
                             "than one split; it cannot be merged")
        recordings_out.append({**entry, "id": f"{prefix}/{entry['id']}", "subject": subject,
                               "source": prefix, "split": code, "n_windows": int(counts[r])})
    n_old = writer.n_committed + writer.n_pending
    n = store.n_windows
    rec_base = len(recordings_out) - len(recordings)
    arrays = writer.arrays
    for array in arrays.values():
        array.resize((n_old + n, *array.shape[1:]))
    arrays["labels"][n_old:n_old + n] = np.asarray(store.labels[:], dtype=np.int16)
    arrays["start_s"][n_old:n_old + n] = np.asarray(store.start_s[:], dtype=np.float64)
    arrays["split"][n_old:n_old + n] = split
    arrays["recording"][n_old:n_old + n] = (recording + rec_base).astype(np.int32)
    for lo in range(0, n, _BLOCK):
        hi = min(n, lo + _BLOCK)
        arrays["signals"][n_old + lo:n_old + hi] = np.asarray(store.signals[lo:hi],
                                                              dtype=np.float32)
    writer.n_pending += n
