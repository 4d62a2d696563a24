"""``evaluate``: a classifier checkpoint scored on one split of a store.

The store must have been prepared the way the checkpoint's model was trained: same sampling rate,
window length (hence samples per window), a channel of the same name, and the same class list in the
same order. Anything else is refused with the values on both sides, because metrics computed on
differently-preprocessed windows would look plausible and mean nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cwtmae_cli import __version__
from cwtmae_cli.data.split import SPLIT_CODES, TEST, TRAIN, VALIDATION
from cwtmae_cli.errors import CheckpointError, DataError, StoreError, UsageError
from cwtmae_cli.evaluate.recording_level import labels_per_recording, recording_metrics
from cwtmae_cli.evaluate.slots import checkpoint_slots
from cwtmae_cli.metrics import classification_metrics, per_recording_metrics
from cwtmae_cli.runtime.seen import keys_of, overlap_counts, overlap_lines
from cwtmae_cli.wording import plural

# Split name -> the store's split codes it scores. ``all`` is every window whatever its split
# column says: a store prepared from other recordings (external validation), whose
# train/validation/test assignment means nothing for a model trained elsewhere.
# split name -> the store split codes it scores (`all`: every window, for external validation)
SPLITS = {**{name: (code,) for name, code in SPLIT_CODES.items()}, "all": (TRAIN, VALIDATION, TEST)}
SPLIT_CHOICES = "train, val, test or all"


def default_checkpoint(workdir: Path) -> Path:
    """The best checkpoint of the latest finished fine-tuning run under ``workdir``."""
    from cwtmae_cli.runtime.checkpoint import resolve_checkpoint
    from cwtmae_cli.workdir import RUNS_DIR, latest_run

    run = latest_run(Path(workdir), "finetune")
    if run is None:
        raise CheckpointError(
            f"no finished fine-tuning run in {Path(workdir) / RUNS_DIR}; run `cwtmae finetune` "
            "first or pass --checkpoint"
        )
    return resolve_checkpoint(run, prefer="best")


def choose_checkpoint(workdir: Path, checkpoint: Path | None) -> Path:
    """The classifier checkpoint folder to use: ``checkpoint`` (a run folder means its best
    checkpoint) or, when None, the best of the latest fine-tuning run under ``workdir``."""
    from cwtmae_cli.runtime.checkpoint import resolve_checkpoint

    if checkpoint is None:
        return default_checkpoint(workdir)
    return resolve_checkpoint(checkpoint, prefer="best")


def match_store(meta: dict, store, checkpoint: Path) -> str:
    """Check that ``store`` fits the checkpoint; returns the store's names for its channels
    (comma-separated when the model reads several, in the model's order).

    Raises StoreError naming the first thing that differs (fs, window, samples, channel, labels).
    """
    pre = meta.get("preprocessing", {})
    where = f"store {store.path} does not match checkpoint {checkpoint}"
    for key, store_value in (
        ("fs_hz", store.fs_hz),
        ("window_s", store.window_s),
        ("n_samples", store.n_samples),
    ):
        ckpt_value = pre.get(key)
        if ckpt_value is None or not math.isclose(float(ckpt_value), float(store_value)):
            raise StoreError(
                f"{where}: {key} is {store_value:g} in the store but {ckpt_value} in the "
                "checkpoint; prepare the data with the checkpoint's settings"
            )
    from cwtmae_cli.data.readers.channels import match_slot

    slots = checkpoint_slots(meta)
    if len(store.channels) < len(slots):
        raise StoreError(
            f"{where}: the model reads {plural(len(slots), 'channel')} ({', '.join(slots)}) but "
            f"the store has {len(store.channels)} ({', '.join(store.channels)}); prepare it with "
            f"--channels '{','.join(slots)}'"
        )
    found = []
    for channel in slots:
        try:
            found.append(store.channels[match_slot(channel, store.channels, str(store.path))])
        except DataError as exc:
            raise StoreError(f"{where}: channel `{channel}` of the checkpoint: {exc}") from None
    ckpt_labels = list(meta.get("label_names") or [])
    if ckpt_labels != store.label_names:
        raise StoreError(
            f"{where}: label_names are {store.label_names} in the store but {ckpt_labels} in "
            "the checkpoint"
        )
    return ",".join(found)


def channel_mismatches(
    checkpoint_slot: str, store_slot: int, recordings: list[dict], used: np.ndarray
) -> list[dict]:
    """``[{"id", "channel"}]``: the recordings (indices ``used`` into ``recordings``) whose file
    channel in slot ``store_slot`` is none of the names of the checkpoint's slot (a recipe's
    first-channel fallback, or a store slot with other alternatives)."""
    from cwtmae_cli.data.readers.channels import slot_matches

    found = []
    for index in np.unique(used):
        rec = recordings[int(index)]
        names = rec.get("file_channels") or []
        if store_slot < len(names) and not slot_matches(checkpoint_slot, names[store_slot]):
            found.append({"id": str(rec.get("id", index)), "channel": names[store_slot]})
    return found


@dataclass
class EvaluationResult:
    """What ``evaluate`` found. ``metrics`` is :func:`classification_metrics`' dict."""

    checkpoint: str
    store: str
    split: str
    channel: str
    label_names: list[str]
    metrics: dict
    n_recordings: int = 0  # recordings the scored windows come from
    per_recording: list[dict] | None = None
    # recordings scored as wholes (mean window probability), when labels are per recording
    recording_level: dict | None = None
    labels_per_recording: bool = False
    weights_sha256: str | None = None  # of the checkpoint's weights file
    context: int = 1  # windows seen per scored window (the scored one in the middle)
    checkpoint_channel: str = ""
    precision: str = "fp32"  # the network's numerics (bf16 autocast or fp32)
    channel_mismatches: list[dict] = field(default_factory=list)
    # recordings scored that a training stage saw ({stage: count}, None: unknown), and what that
    # means (runtime/seen.py)
    seen_overlap: dict | None = None
    seen_warnings: list[str] = field(default_factory=list)
    y_true: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    y_pred: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def to_dict(self) -> dict:
        """Everything, JSON-ready (``--json``): what was scored (checkpoint with the sha256 of
        its weights file, store, split, channel) beside the metrics."""
        return {
            "tool_version": __version__,
            "checkpoint": self.checkpoint,
            "checkpoint_weights_sha256": self.weights_sha256,
            "store": self.store,
            "split": self.split,
            "n_recordings": self.n_recordings,
            "channel": self.channel,
            "checkpoint_channel": self.checkpoint_channel,
            "channel_mismatches": self.channel_mismatches,
            "seen_in_training": self.seen_overlap,
            "seen_warnings": self.seen_warnings,
            "precision": self.precision,
            "context": self.context,
            "label_names": self.label_names,
            **self.metrics,
            "per_recording": self.per_recording,
            "recording_level": self.recording_level,
        }


def evaluate_checkpoint(
    checkpoint: Path,
    store_path: Path,
    split: str = "test",
    batch_size: int = 32,
    device: str = "auto",
    per_recording: bool = False,
    progress: Callable[[int, int], None] | None = None,
    precision: str = "auto",
    context: int | None = None,
) -> EvaluationResult:
    """Score the classifier in ``checkpoint`` (a checkpoint folder) on the labelled windows of
    ``split`` of a store (``all``: every window, whatever its split column says). CheckpointError
    for an MAE or broken checkpoint, StoreError for a store that does not fit, DataError for an
    empty split. ``precision`` ``auto`` is the checkpoint's training precision. ``context``: run
    a context model on fewer windows than it was trained with (default: its own); UsageError for
    an even, non-positive or wider one."""
    from cwtmae_cli.evaluate.inference import classify
    from cwtmae_cli.runtime.checkpoint import weights_sha256
    from cwtmae_cli.runtime.device import resolve_device
    from cwtmae_cli.runtime.loading import load_classifier
    from cwtmae_cli.runtime.precision import checkpoint_precision

    checkpoint, store_path = Path(checkpoint), Path(store_path)
    store, dataset, channel, context = _scored_windows(checkpoint, store_path, split, context)
    torch_device = resolve_device(device)
    model, meta = load_classifier(checkpoint, device=torch_device)

    windows = lambda indices: dataset.get_batch(indices)[0]  # noqa: E731  x (B, L)
    precision = checkpoint_precision(meta, precision, torch_device)
    probs = classify(model, windows, dataset.recording, dataset.start_s, dataset.fs_hz, context,
                     batch_size, torch_device, progress, precision)  # (N, K)
    where = {
        "checkpoint": str(checkpoint.resolve()),
        "store": str(store_path.resolve()),
        "split": split,
        "channel": channel,
        "weights_sha256": weights_sha256(checkpoint),
        "precision": precision,
        "context": context,
    }
    return _result(probs, dataset, store, meta, per_recording, where)


def _result(probs, dataset, store, meta: dict, per_recording: bool, where: dict):
    """The metrics of ``probs`` (N, K) on ``dataset``'s windows; ``where`` names what was
    scored (checkpoint, store, split, channel, weights hash)."""
    y_true = np.asarray(dataset.labels, dtype=np.int64)  # (N,)
    y_pred = probs.argmax(axis=1).astype(np.int64)  # (N,)
    label_names = list(meta["label_names"])
    ids = [str(r.get("id", i)) for i, r in enumerate(store.recordings)]
    by_recording = labels_per_recording(store.recordings, dataset.recording)
    scored = keys_of(store.recordings, dataset.recording)
    return EvaluationResult(
        **where,
        label_names=label_names,
        metrics=classification_metrics(y_true, y_pred, label_names),
        n_recordings=int(len(np.unique(dataset.recording))),
        per_recording=(
            per_recording_metrics(y_true, y_pred, dataset.recording, ids, len(label_names))
            if per_recording else None
        ),
        recording_level=(
            _recording_level(store, probs, y_true, dataset.recording, label_names, ids)
            if per_recording and by_recording else None
        ),
        labels_per_recording=by_recording,
        checkpoint_channel=",".join(checkpoint_slots(meta)),
        channel_mismatches=[
            found
            for slot, store_slot in zip(checkpoint_slots(meta), dataset.channels, strict=True)
            for found in channel_mismatches(slot, store_slot, store.recordings, dataset.recording)
        ],
        seen_overlap=overlap_counts(meta, scored),
        seen_warnings=overlap_lines(meta, scored, "scored here"),
        y_true=y_true,
        y_pred=y_pred,
    )


def _scored_windows(checkpoint: Path, store_path: Path, split: str, context: int | None):
    """The store, the labelled windows of ``split`` that fit the classifier in ``checkpoint``,
    the store channel it reads and the context it runs with; the checks come before any model
    is loaded."""
    from cwtmae_cli.data.store.loader import WindowDataset
    from cwtmae_cli.data.store.schema import open_store
    from cwtmae_cli.model.context import resolve_context
    from cwtmae_cli.runtime.checkpoint import read_meta

    if split not in SPLITS:
        raise UsageError(f"unknown split `{split}`; choose {SPLIT_CHOICES}")
    meta = read_meta(checkpoint)
    if meta.get("kind") != "classifier":
        raise CheckpointError(
            f"{checkpoint} is a pretraining (MAE) checkpoint; give a fine-tuned classifier "
            "checkpoint (from `cwtmae finetune`)"
        )
    context = resolve_context(meta.get("model_config") or {}, context)
    store = open_store(store_path)
    channel = match_store(meta, store, checkpoint)
    dataset = WindowDataset(
        store_path, splits=SPLITS[split], channel=channel, labelled_only=True, in_memory=False
    )
    if len(dataset) == 0:
        where = f"the {split} split of {store_path}" if split != "all" else str(store_path)
        raise DataError(f"{where} has no labelled windows")
    return store, dataset, channel, context


def _recording_level(store, probs, y_true, recording, label_names, ids) -> dict:
    """Scores per recording when its windows all carry the recording's label (with the recipe's
    headline score, e.g. CinC 2017's)."""
    score = (store.attrs.get("recipe") or {}).get("score")
    return recording_metrics(probs, y_true, recording, label_names, score, recording_ids=ids)
