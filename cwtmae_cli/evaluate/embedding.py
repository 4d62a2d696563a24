"""``embed``: one vector per window, for linear probing and clustering outside cwtmae.

A window's embedding is the mean of its patch tokens at the encoder's output (CLS left out, no
patch masked), ``D = embed_dim`` floats: the features a classifier head reads, taken from a
fine-tuned classifier or a pretraining (MAE) checkpoint alike. Windows are read as ``predict``
reads them (the checkpoint's channel slot, rate and window policy; quality control drops bad
windows) or, from a store, as training reads them (every split, store order).

Output ``PATH.npy`` (``(N, D)`` float32) with ``PATH.tsv`` beside it, one row per embedding:
``row, recording, onset_s, label, split`` (label and split only from a store). Both are written
to temporary siblings and renamed; an existing output is never replaced. ``--out PATH.zarr``
writes the same rows as one zarr group instead (:mod:`embedding_store`).
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from cwtmae_cli.errors import UsageError
from cwtmae_cli.evaluate.prediction import Predictor
from cwtmae_cli.model import standardize_windows

BatchFn = Callable[[np.ndarray], torch.Tensor]
TABLE_COLUMNS = ("row", "recording", "onset_s", "label", "split")


def load_encoder_model(checkpoint: Path, device: torch.device) -> tuple[torch.nn.Module, dict]:
    """The model of a classifier or pretraining checkpoint (a run folder: its best, else its
    newest checkpoint), in eval mode, and its meta."""
    from cwtmae_cli.runtime.checkpoint import read_meta, resolve_checkpoint
    from cwtmae_cli.runtime.loading import load_classifier, load_mae

    ckpt = resolve_checkpoint(checkpoint, prefer="best")
    load = load_classifier if read_meta(ckpt)["kind"] == "classifier" else load_mae
    return load(ckpt, device=device)


def embed_windows(
    model: torch.nn.Module, n_windows: int, get_batch: BatchFn, batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """``(N, D)`` float32: the mean patch token of each standardised window, batch by batch.
    ``get_batch(indices (B,)) -> (B, L)`` raw windows."""
    encoder = model.encoder
    rows: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, n_windows, batch_size):
            indices = np.arange(start, min(start + batch_size, n_windows), dtype=np.int64)
            x = standardize_windows(torch.as_tensor(get_batch(indices)).float().to(device))
            tokens = encoder(encoder.tokens(x))[:, 1:]  # (B, N, D), CLS dropped
            rows.append(tokens.mean(dim=1).float().cpu().numpy())  # (B, D)
    if not rows:
        return np.zeros((0, int(encoder.embed_dim)), dtype=np.float32)
    return np.concatenate(rows).astype(np.float32, copy=False)


class RecordingWindows(Predictor):
    """``Predictor.windows`` (the predict path's reading, resampling, windowing and quality
    control) for any checkpoint kind: the preprocessing of ``meta`` without loading a model."""

    def __init__(self, checkpoint: Path, meta: dict, channel: str | None) -> None:
        from cwtmae_cli.data.window_policy import WindowPolicy
        from cwtmae_cli.evaluate.slots import asked_slots, checkpoint_slots

        pre = meta["preprocessing"]
        self.checkpoint = Path(checkpoint)
        self.fs_hz, self.window_s = float(pre["fs_hz"]), float(pre["window_s"])
        self.n_samples = int(pre["n_samples"])
        self.checkpoint_slots = checkpoint_slots(meta)
        self.checkpoint_channel = ",".join(self.checkpoint_slots)
        self.channels = asked_slots(channel, self.checkpoint_slots)
        self.channel = ",".join(self.channels)
        policy = WindowPolicy.from_dict(pre.get("window_policy"), self.window_s)
        self.stride_s = policy.stride_s
        self.policy = WindowPolicy(self.window_s, self.stride_s, policy.cover)


@dataclass
class Embeddings:
    """``vectors (N, D)`` and one table row per vector."""

    vectors: np.ndarray
    recording: list[str]
    onset_s: np.ndarray
    label: list[str]
    split: list[str]
    n_bad: int = 0  # windows quality control left out (recordings only)
    channels: list[str] = field(default_factory=list)  # the channels read, in the model's order
    label_names: list[str] = field(default_factory=list)  # a store's classes, in its order


def embed_recordings(
    model: torch.nn.Module, reader: RecordingWindows, recordings: list[Path], batch_size: int,
    device: torch.device,
) -> Iterator[tuple[Path, Embeddings]]:
    """Per recording, the embeddings of its windows that pass quality control."""
    from cwtmae_cli.evaluate.prediction_paths import recording_id

    for path in recordings:
        windows, onset_s, quality, info = reader.windows(path)  # (W, L), (W,)
        good = np.flatnonzero([reason is None for reason in quality])  # (G,)
        kept = np.ascontiguousarray(windows[good])  # (G, L): the rows the table will name
        vectors = embed_windows(model, len(good), lambda i, kept=kept: torch.from_numpy(kept[i]),
                                batch_size, device)
        name = recording_id(path)
        yield path, Embeddings(vectors, [name] * len(good), onset_s[good], [""] * len(good),
                               [""] * len(good), n_bad=len(windows) - len(good),
                               channels=list(info.names_in_file or (info.channel_in_file,)))


def check_store_fits(meta: dict, store_path: Path) -> str:
    """The store's channels for the checkpoint's slots (comma-separated, in the model's order);
    StoreError when rate, window length or samples differ (labels may: embeddings do not depend
    on them)."""
    import math

    from cwtmae_cli.data.readers.channels import match_slot
    from cwtmae_cli.data.store.schema import open_store
    from cwtmae_cli.errors import StoreError
    from cwtmae_cli.evaluate.slots import checkpoint_slots

    store, pre = open_store(store_path), meta["preprocessing"]
    for key in ("fs_hz", "window_s", "n_samples"):
        if not math.isclose(float(getattr(store, key)), float(pre[key])):
            raise StoreError(f"store {store_path} does not fit the checkpoint: {key} is "
                             f"{getattr(store, key):g} in the store but {pre[key]} in the "
                             "checkpoint; prepare the data with the checkpoint's settings")
    return ",".join(store.channels[match_slot(slot, store.channels, where=f"store {store_path}")]
                    for slot in checkpoint_slots(meta))


def embed_store(
    model: torch.nn.Module, meta: dict, store_path: Path, batch_size: int, device: torch.device
) -> Embeddings:
    """Every window of the store (all splits, store order) on the checkpoint's channel."""
    from cwtmae_cli.data.split import SPLIT_NAMES
    from cwtmae_cli.data.store.loader import WindowDataset
    from cwtmae_cli.data.store.schema import open_store

    channel = check_store_fits(meta, store_path)
    data = WindowDataset(store_path, splits=(0, 1, 2), channel=channel, in_memory=False)
    vectors = embed_windows(model, len(data), lambda i: data.get_batch(i)[0], batch_size, device)
    store = open_store(store_path)
    ids = [str(r.get("id", i)) for i, r in enumerate(store.recordings)]
    split = np.asarray(store.split[:])[data.indices]
    names = data.label_names
    return Embeddings(
        vectors,
        [ids[r] if r < len(ids) else str(r) for r in data.recording],
        data.start_s,
        [names[y] if y >= 0 else "" for y in data.labels],
        [SPLIT_NAMES[s] for s in split],
        channels=channel.split(","),
        label_names=list(names),
    )


def check_output(out: Path) -> None:
    """UsageError when the output ``--out`` names (``OUT.zarr``, else ``OUT.npy`` and
    ``OUT.tsv``) exists: before any work, nothing is replaced."""
    from cwtmae_cli.evaluate.embedding_store import check_free, is_zarr_output

    if is_zarr_output(out):
        check_free(out)
    else:
        output_paths(out)


def provenance(checkpoint: Path, meta: dict, source: Path) -> dict:
    """What the zarr output says it came from: the checkpoint (path, kind), its channel slots,
    rate and window length, and the path embedded."""
    from cwtmae_cli.evaluate.slots import checkpoint_slots
    from cwtmae_cli.runtime.checkpoint import resolve_checkpoint

    pre = meta["preprocessing"]
    ckpt = resolve_checkpoint(checkpoint, prefer="best")  # the one load_encoder_model loaded
    return {
        "checkpoint": {"path": str(Path(ckpt).resolve()), "kind": str(meta["kind"])},
        "channels": list(checkpoint_slots(meta)),
        "fs_hz": float(pre["fs_hz"]),
        "window_s": float(pre["window_s"]),
        "input": str(Path(source).resolve()),
    }


def output_paths(out: Path) -> tuple[Path, Path]:
    """``(PATH.npy, PATH.tsv)`` for ``--out PATH`` (with or without ``.npy``); UsageError when
    either exists (nothing is replaced)."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix == ".npy" else out
    vectors, table = stem.with_name(stem.name + ".npy"), stem.with_name(stem.name + ".tsv")
    for path in (vectors, table):
        if path.exists():
            raise UsageError(f"{path} already exists; choose another --out")
    return vectors, table


def write_embeddings(parts: list[Embeddings], out: Path) -> tuple[Path, Path, int]:
    """``PATH.npy`` and ``PATH.tsv`` of all ``parts`` in order; returns them and N."""
    vectors_path, table_path = output_paths(out)
    vectors = np.concatenate([p.vectors for p in parts]).astype(np.float32)  # (N, D)
    tag = uuid.uuid4().hex[:8]
    tmp_vectors = vectors_path.with_name(f".{vectors_path.name}.tmp-{tag}")
    tmp_table = table_path.with_name(f".{table_path.name}.tmp-{tag}")
    try:
        with open(tmp_vectors, "wb") as fh:
            np.save(fh, vectors)
        with open(tmp_table, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
            writer.writerow(TABLE_COLUMNS)
            row = 0
            for part in parts:
                for i in range(len(part.vectors)):
                    onset_s = repr(round(float(part.onset_s[i]), 6))
                    writer.writerow([row, part.recording[i], onset_s, part.label[i],
                                     part.split[i]])
                    row += 1
        os.replace(tmp_vectors, vectors_path)
        os.replace(tmp_table, table_path)
    finally:
        tmp_vectors.unlink(missing_ok=True)
        tmp_table.unlink(missing_ok=True)
    return vectors_path, table_path, len(vectors)
