"""Checkpoints for the results tests, written by the project's own code: the checkpoint ``meta``
comes from the training commands' builders (``classifier_meta`` / ``mae_meta`` over a real
``WindowDataset``, then ``checkpoint_meta``) and goes through ``save_checkpoint``; run folders
through ``RunDir``. So a change of the checkpoint format shows up in the evaluate and predict tests.

Imported by ``tests/evaluate`` and ``tests/cli/test_{evaluate,predict}.py`` (pyproject's pytest
``pythonpath`` puts this folder on ``sys.path``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.data.store.loader import WindowDataset
from cwtmae_cli.model import PRESETS, TF_MAE_Classifier, build_mae
from cwtmae_cli.runtime.checkpoint import checkpoint_meta, save_checkpoint
from cwtmae_cli.train.config import FinetuneConfig, PretrainConfig
from cwtmae_cli.train.finetune import classifier_meta
from cwtmae_cli.train.pretrain import mae_meta, preprocessing_meta
from cwtmae_cli.train.rundir import RunDir

SLEEP_LABELS = ["W", "N1", "N2", "N3", "REM"]


@contextmanager
def window_set(fs_hz: float, window_s: float, channel: str | list[str],
               label_names: list[str] = ()) -> Iterator[WindowDataset]:
    """A real two-window store of ``channel`` (a list: several channels, all read; written by the
    store writer, in a temporary folder), opened as the training commands open theirs."""
    n_samples = int(round(fs_hz * window_s))
    channels = [channel] if isinstance(channel, str) else list(channel)
    labels = [0, min(1, len(label_names) - 1)] if label_names else [-1, -1]
    with tempfile.TemporaryDirectory(prefix="cwtmae-fixture-") as folder:
        store = write_store_from_arrays(
            Path(folder) / "windows.zarr",
            np.random.default_rng(0).normal(size=(2, len(channels), n_samples)),
            np.array(labels),
            np.array([0, 1]),
            np.array([0.0, 0.0]),
            fs_hz=fs_hz,
            window_s=window_s,
            channels=channels,
            label_names=list(label_names),
            subjects=["a", "b"],
            split=np.zeros(2, dtype=np.int8),
        )
        yield WindowDataset(store, splits=(0,), channel=list(range(len(channels))),
                            labelled_only=bool(label_names))


def preprocessing(fs_hz: float, window_s: float, channel: str, scales: int = 32) -> dict:
    """A checkpoint's ``preprocessing`` entry, as training writes it."""
    with window_set(fs_hz, window_s, channel) as windows:
        return preprocessing_meta(windows, {"cwt_scales": scales})


def tiny_classifier(n_classes: int, n_samples: int = 3000, seed: int = 0,
                    in_channels: int = 1) -> TF_MAE_Classifier:
    """A randomly initialised ``tiny`` classifier (MLP head) for windows of ``n_samples``."""
    torch.manual_seed(seed)
    kwargs = dict(PRESETS["tiny"]) | {"signal_len": n_samples, "in_channels": in_channels}
    return TF_MAE_Classifier(None, num_classes=n_classes, use_cot=False, hidden_dim=64, **kwargs)


def save_classifier(
    path: Path,
    model: torch.nn.Module,
    label_names: list[str],
    fs_hz: float = 100.0,
    window_s: float = 30.0,
    channel: str | list[str] = "EEG Fpz-Cz",
) -> Path:
    """``model`` as a classifier checkpoint folder (step 1 of a one-step run)."""
    with window_set(fs_hz, window_s, channel, label_names) as windows:
        job_meta = classifier_meta(model, windows, "tiny", windows.store_path, None)
    config = FinetuneConfig(steps=1, model="tiny", from_scratch=True, head="mlp")
    return save_checkpoint(Path(path), model, checkpoint_meta(job_meta, 1, 1, config.to_dict()))


def save_mae(path: Path, fs_hz: float = 100.0, window_s: float = 30.0) -> Path:
    """A ``tiny`` pretraining (MAE) checkpoint folder (step 1 of a one-step run)."""
    torch.manual_seed(0)
    model = build_mae("tiny", signal_len=int(round(fs_hz * window_s)))
    with window_set(fs_hz, window_s, "EEG Fpz-Cz") as windows:
        job_meta = mae_meta(model, windows, "tiny", windows.store_path)
    config = PretrainConfig(steps=1, model="tiny")
    return save_checkpoint(Path(path), model, checkpoint_meta(job_meta, 1, 1, config.to_dict()))


def finished_finetune_run(
    workdir: Path, ckpt_model: torch.nn.Module, label_names: list[str], **pre
) -> Path:
    """``runs/finetune-<stamp>/`` with ``checkpoints/best``, ``latest`` and ``FINISHED``, written
    by ``RunDir`` as the engine does."""
    run = RunDir.create(Path(workdir) / "runs" / "finetune-20260101T000000Z", {})
    best = save_classifier(run.best_dir, ckpt_model, label_names, **pre)
    run.set_latest(best)
    run.mark_finished({"steps": 1})
    return best


def write_wfdb_record(
    folder: Path,
    name: str,
    leads: list[str],
    seconds: int,
    fs_hz: int = 100,
    seed: int = 0,
    rhythm: str | None = None,
) -> Path:
    """A WFDB record of noise (mV, format 16) with ``leads``; with ``rhythm`` one rhythm note
    (e.g. ``(N``) at its start in ``<name>.atr``. Returns the record path (no extension)."""
    import wfdb

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    wfdb.wrsamp(
        name,
        fs=fs_hz,
        units=["mV"] * len(leads),
        sig_name=leads,
        p_signal=rng.normal(0, 0.5, (seconds * fs_hz, len(leads))),
        fmt=["16"] * len(leads),
        adc_gain=[1000] * len(leads),
        baseline=[0] * len(leads),
        write_dir=str(folder),
    )
    if rhythm is not None:
        wfdb.wrann(
            name, "atr", np.array([0]), symbol=["+"], aux_note=[rhythm], write_dir=str(folder)
        )
    return folder / name


def invoke_wide(args: list[str]):
    """``cwtmae ARGS`` through Typer's runner, 200 columns wide and without a CWTMAE_HOME."""
    from typer.testing import CliRunner

    from cwtmae_cli.cli.app import app

    return CliRunner().invoke(app, args, env={"COLUMNS": "200", "CWTMAE_HOME": None})
