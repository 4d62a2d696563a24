"""``predict``: per-window class probabilities for new recordings.

For each recording: read only the checkpoint's channel (or ``channel``), resample to the
checkpoint's rate, cut windows as the checkpoint's store did (its window policy, see
:mod:`~cwtmae_cli.data.window_policy`: by default one window length apart and a trailing part
shorter than a window not classified; ``cinc2017``: 5 s apart, the end covered, a short recording
padded) or every ``stride_s`` seconds, run quality control, classify the good windows in batches
(see :mod:`inference`), and write one row per window.

Inputs and outputs are named by :mod:`~cwtmae_cli.evaluate.prediction_paths`. Inputs: an
EDF/BDF or FIF file, a WFDB record (``rec``, ``rec.hea``, ``rec.dat`` or ``rec.mat``, the PhysioNet
challenges' layout), or a folder of them (not recursive). In a folder, annotation-only files
whose name contains ``Hypnogram`` are not recordings and are skipped. Outputs:
``<out>/<recording>_pred.<tsv|csv|json|edf>`` or BIDS ``<recording>_events.tsv`` + ``.json``
(:mod:`prediction_formats`), beside them the provenance sidecar ``<out>/<recording>_pred.json``
(:mod:`provenance`; a json table holds it), and with a plot ``<recording>_hypnogram.png`` and
``_hypnodensity.png`` for a sleep-staging model, ``_labels.png`` and ``_probabilities.png`` else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from cwtmae_cli.data.window_policy import WindowPolicy, cut_policy_windows
from cwtmae_cli.errors import CheckpointError, CwtmaeError, DataError, UsageError
from cwtmae_cli.evaluate.prediction_formats import FORMATS, write_prediction_file
from cwtmae_cli.evaluate.prediction_paths import (
    density_plot_path,
    output_names,
    output_paths,
    recording_id,
    write_json,
)
from cwtmae_cli.evaluate.provenance import InputInfo, context_record, prediction_provenance
from cwtmae_cli.evaluate.reference import Reference
from cwtmae_cli.evaluate.slots import asked_slots, checkpoint_slots, slots_differ
from cwtmae_cli.evaluate.stride_checks import check_context_stride, check_stride
from cwtmae_cli.evaluate.summary import is_sleep_model
from cwtmae_cli.evaluate.table import PredictionTable

# Errors a broken file in a folder may raise from the reading libraries, besides our own.
_READ_ERRORS = (CwtmaeError, OSError, ValueError, EOFError)


class Predictor:
    """A loaded classifier checkpoint and the preprocessing it needs.

    Raises CheckpointError when ``checkpoint`` is not a fine-tuned classifier.
    """

    def __init__(
        self,
        checkpoint: Path,
        device: str = "auto",
        batch_size: int = 32,
        channel: str | None = None,
        stride_s: float | None = None,
        precision: str = "auto",
        context: int | None = None,
    ) -> None:
        from cwtmae_cli.model.context import resolve_context
        from cwtmae_cli.runtime.checkpoint import read_meta
        from cwtmae_cli.runtime.device import resolve_device
        from cwtmae_cli.runtime.loading import load_classifier
        from cwtmae_cli.runtime.precision import checkpoint_precision

        if stride_s is not None and not stride_s > 0:
            raise UsageError(f"--stride-s must be > 0, got {stride_s:g}")
        meta = read_meta(Path(checkpoint))
        if meta.get("kind") != "classifier":
            raise CheckpointError(
                f"{checkpoint} is a pretraining (MAE) checkpoint; give a fine-tuned classifier "
                "checkpoint (from `cwtmae finetune`)"
            )
        check_stride(stride_s, meta)  # before the model is loaded
        self.context = resolve_context(meta.get("model_config") or {}, context)
        check_context_stride(stride_s, self.context, meta.get("model_config") or {})
        self.device = resolve_device(device)
        self.model, self.meta = load_classifier(Path(checkpoint), device=self.device)
        self.precision = checkpoint_precision(self.meta, precision, self.device)
        self.checkpoint = Path(checkpoint)
        pre = self.meta["preprocessing"]
        self.fs_hz = float(pre["fs_hz"])
        self.window_s = float(pre["window_s"])
        self.n_samples = int(pre["n_samples"])
        self.checkpoint_slots = checkpoint_slots(self.meta)  # ["MLII", "V1|V2|V4|V5"]
        self.checkpoint_channel = ",".join(self.checkpoint_slots)
        self.channels = asked_slots(channel, self.checkpoint_slots)
        self.channel = ",".join(self.channels)
        # The store's window policy (stride, covering the end, padding short recordings).
        policy = WindowPolicy.from_dict(pre.get("window_policy"), self.window_s)
        self.stride_s = float(stride_s) if stride_s is not None else policy.stride_s
        self.policy = WindowPolicy(self.window_s, self.stride_s, policy.cover)
        self.batch_size = batch_size
        self.label_names = list(self.meta["label_names"])
        self._weights_sha256: str | None = None

    @property
    def weights_sha256(self) -> str:
        """sha256 of the checkpoint's weights file (computed once, for the sidecars)."""
        if self._weights_sha256 is None:
            from cwtmae_cli.runtime.checkpoint import weights_sha256

            self._weights_sha256 = weights_sha256(self.checkpoint)
        return self._weights_sha256

    def channel_differs(self, file_channel: str) -> bool:
        """True when ``file_channel`` (the names read from a file, comma-separated for several)
        names, in some slot, none of the names of the checkpoint's slot, so the model sees
        another lead than it was trained on."""
        return slots_differ(self.checkpoint_slots, file_channel)

    def windows(
        self, path: Path
    ) -> tuple[np.ndarray, np.ndarray, list[str | None], InputInfo]:
        """Raw windows (W, L) float32 (``(W, C, L)`` for several channels), onsets (W,) s, QC
        reasons and what was read (channel, rate, start) of one recording."""
        from cwtmae_cli.data.readers.dispatch import header_name, read_recording
        from cwtmae_cli.data.resample import resample
        from cwtmae_cli.data.windows import quality_reasons

        rec = read_recording(Path(path), channels=self.channels, read_annotations=False)
        n_channels = len(self.channels)  # the file's channels in the model's order
        info = InputInfo(
            channel=self.channel,
            channel_in_file=",".join(rec.channels[:n_channels]),
            fs_in_hz=float(rec.fs_hz),
            start=rec.start,
            start_source=header_name(Path(path)) if rec.start else None,
            slots=tuple(self.channels),
            names_in_file=tuple(rec.channels[:n_channels]),
        )
        signal = rec.signal[:n_channels]  # (C, n)
        raw_quality: list[str | None] = []
        if not math.isclose(rec.fs_hz, self.fs_hz):
            raw_quality = self._raw_quality(signal, rec.fs_hz)
            signal = resample(signal, rec.fs_hz, self.fs_hz)  # (C, m)
        windows, onset_s, n_pad = cut_policy_windows(signal, self.fs_hz, self.policy)
        info = replace(info, padded_s=round(n_pad / self.fs_hz, 6))
        if len(windows) == 0:
            raise DataError(
                f"{Path(path).name} lasts {signal.shape[1] / self.fs_hz:.1f} s, shorter than one "
                f"{self.window_s:g}-s window"
            )
        if windows.shape[2] != self.n_samples:
            raise CheckpointError(
                f"windows of {windows.shape[2]} samples but the checkpoint expects "
                f"{self.n_samples}; its meta.json preprocessing is inconsistent"
            )
        quality = quality_reasons(windows)
        # A flat stretch stops being exactly flat once resampled: the check at the file's own
        # rate decides, the one after resampling adds what it finds (NaN spread by the filter).
        quality = [raw or new for raw, new in zip(raw_quality, quality, strict=False)] + quality[
            len(raw_quality) :
        ]
        shaped = windows[:, 0, :] if n_channels == 1 else windows  # (W, L) or (W, C, L)
        return shaped, np.asarray(onset_s, dtype=np.float64), quality, info

    def _raw_quality(self, signal: np.ndarray, fs_hz: float) -> list[str | None]:
        """QC reasons of the windows cut at the file's own rate (empty if they do not fit it)."""
        from cwtmae_cli.data.windows import quality_reasons
        from cwtmae_cli.errors import ConfigError

        try:
            raw_windows, _, _ = cut_policy_windows(signal, fs_hz, self.policy)
        except ConfigError:  # window or stride not a whole number of samples at this rate
            return []
        return quality_reasons(raw_windows)

    def predict_file(
        self, path: Path, progress: Callable[[int, int], None] | None = None
    ) -> PredictionTable:
        """Per-window predictions of one recording (bad windows are not classified)."""
        from cwtmae_cli.evaluate.inference import array_batches, classify

        windows, onset_s, quality, info = self.windows(path)  # (W, L), (W,)
        good = np.flatnonzero([reason is None for reason in quality])  # (G,)
        get_batch = array_batches(windows, rows=good)  # (B, L) of the good windows

        probs = np.full((len(windows), len(self.label_names)), np.nan, dtype=np.float32)
        if len(good):
            probs[good] = classify(  # a bad window is a gap in a context model's neighbourhood
                self.model, get_batch, np.zeros(len(good)), onset_s[good], self.fs_hz,
                self.context, self.batch_size, self.device, progress, self.precision)
        return PredictionTable(
            recording_id=recording_id(path),
            source=str(path),
            label_names=self.label_names,
            window_s=self.window_s,
            stride_s=self.stride_s,
            onset_s=onset_s,
            probs=probs,
            quality=list(quality),
            input=info,
        )


@dataclass
class PredictionOutcome:
    """One recording's result: its table and files, or the error that stopped it."""

    source: Path
    table: PredictionTable | None = None
    output: Path | None = None
    plot: Path | None = None
    error: str | None = None
    sidecar: Path | None = None
    reference: Reference | None = None  # the recording's own labels, overlaid on the plot
    reference_error: str | None = None  # why annotations that are there were not overlaid
    name: str = ""  # the recording's output name (unique in the folder)
    density_plot: Path | None = None  # class probabilities over time (hypnodensity)
    more: list[Path] = field(default_factory=list)  # other files (a BIDS events sidecar)


def predict_paths(
    predictor: Predictor,
    recordings: list[Path],
    out_dir: Path,
    fmt: str = "tsv",
    plot: bool = False,
    keep_going: bool = True,
    progress: Callable[[Path, int, int], None] | None = None,
) -> Iterator[PredictionOutcome]:
    """Predict and write each recording in turn, yielding as each one is done.

    With ``keep_going`` a recording that cannot be read is yielded with its ``error`` and the
    others still run; without it the error propagates.
    """
    if fmt not in FORMATS:
        raise CwtmaeError(f"unknown --format `{fmt}`; choose one of {', '.join(FORMATS)}")
    names = output_names(recordings)
    for source in recordings:
        step = None if progress is None else (lambda done, n, s=source: progress(s, done, n))
        try:
            table = predictor.predict_file(source, step)
        except _READ_ERRORS as exc:
            if not keep_going:
                raise
            message = str(exc) if isinstance(exc, CwtmaeError) else f"{type(exc).__name__}: {exc}"
            yield PredictionOutcome(source, error=message)
            continue
        yield _write_outputs(predictor, source, table, out_dir, names[source], fmt, plot)


def _write_outputs(
    predictor: Predictor, source: Path, table, out_dir: Path, name: str, fmt: str, plot: bool
) -> PredictionOutcome:
    """Write one recording's predictions, its provenance sidecar and (``plot``) its figures."""
    sleep = is_sleep_model(table.label_names)
    table_path, plot_path, sidecar = output_paths(out_dir, name, fmt, sleep)
    provenance = prediction_provenance(
        table,
        predictor.checkpoint,
        predictor.weights_sha256,
        predictor.fs_hz,
        predictor.n_samples,
        table_file=table_path.name,
        window_policy=predictor.policy.to_dict(),
        context=context_record(predictor.meta.get("model_config") or {}, predictor.context),
    )
    written = write_prediction_file(
        table, table_path, fmt, provenance=provenance if sidecar is None else None
    )
    if sidecar is not None:
        write_json(sidecar, provenance)
    outcome = PredictionOutcome(
        source, table, written[0], sidecar=sidecar, name=name, more=written[1:]
    )
    if plot:
        _write_plots(predictor, outcome, plot_path, density_plot_path(out_dir, name, sleep))
    return outcome


def _write_plots(
    predictor: Predictor, outcome: PredictionOutcome, plot_path: Path, density_path: Path
) -> None:
    """The class-over-time plot (the recording's own scoring behind it) and the hypnodensity."""
    from cwtmae_cli.evaluate.hypnodensity import plot_hypnodensity
    from cwtmae_cli.evaluate.plots import plot_hypnogram
    from cwtmae_cli.evaluate.reference import find_reference

    table = outcome.table
    try:  # the recording's own scoring, drawn behind the prediction
        outcome.reference = find_reference(
            outcome.source, predictor.meta, predictor.channel, table.onset_s, table.window_s
        )
    except _READ_ERRORS as exc:  # a damaged annotation file costs the overlay only
        outcome.reference_error = str(exc)
    outcome.plot = plot_hypnogram(table, plot_path, outcome.reference)
    outcome.density_plot = plot_hypnodensity(table, density_path)
