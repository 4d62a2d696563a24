"""A several-channel classifier reads its slots, in its order, from stores and new files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from results_fixtures import SLEEP_LABELS, save_classifier, tiny_classifier
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.data.store.arrays import write_store_from_arrays
from cwtmae_cli.data.store.loader import WindowDataset
from cwtmae_cli.data.store.schema import open_store
from cwtmae_cli.errors import DataError, StoreError, UsageError
from cwtmae_cli.evaluate.evaluation import match_store
from cwtmae_cli.evaluate.inference import predict_proba
from cwtmae_cli.evaluate.prediction import Predictor
from cwtmae_cli.evaluate.slots import checkpoint_slots

SLOTS = ["EEG Fpz-Cz", "EOG horizontal"]
FS, SECONDS = 100.0, 90


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    model = tiny_classifier(5, seed=3, in_channels=2)
    return save_classifier(tmp_path_factory.mktemp("ckpt") / "c", model, SLEEP_LABELS,
                           channel=list(SLOTS))


def _signals() -> dict[str, np.ndarray]:
    t_s = np.arange(int(FS * SECONDS)) / FS
    rng = np.random.default_rng(0)
    return {"EEG Fpz-Cz": 20 * np.sin(2 * np.pi * 7 * t_s) + rng.normal(0, 3, t_s.size),
            "EOG horizontal": 150 * np.sign(np.sin(2 * np.pi * 0.3 * t_s)),
            "EMG submental": rng.normal(0, 5, t_s.size)}


def _edf(path, names: list[str]):
    signals = _signals()
    return write_edf(path, np.stack([signals[n] for n in names]), FS, names)


def test_the_checkpoint_records_its_slots(ckpt):
    from cwtmae_cli.runtime.checkpoint import read_meta

    meta = read_meta(ckpt)
    assert checkpoint_slots(meta) == SLOTS and meta["model_config"]["in_channels"] == 2
    assert meta["preprocessing"]["channel_alternatives"] == [["EEG Fpz-Cz"], ["EOG horizontal"]]


def test_a_file_with_its_leads_in_another_order_is_read_in_the_models_order(ckpt, tmp_path):
    edf = _edf(tmp_path / "night.edf", ["EMG submental", "EOG horizontal", "EEG Fpz-Cz"])
    predictor = Predictor(ckpt, device="cpu")
    windows, onset_s, quality, info = predictor.windows(edf)
    assert windows.shape == (3, 2, 3000) and quality == [None] * 3
    assert info.channel_in_file == "EEG Fpz-Cz,EOG horizontal"
    assert not predictor.channel_differs(info.channel_in_file)
    signals = _signals()
    for k, name in enumerate(SLOTS):  # EDF stores 16-bit samples: equal to its resolution
        np.testing.assert_allclose(windows[:, k].reshape(-1), signals[name], atol=0.05)
    table = predictor.predict_file(edf)
    expected = predict_proba(predictor.model, 3, lambda i: torch.from_numpy(windows[i]))
    np.testing.assert_allclose(table.probs, expected, rtol=1e-5, atol=1e-6)


def test_a_file_lacking_a_slot_is_refused_in_one_line(ckpt, tmp_path):
    edf = _edf(tmp_path / "eeg-only.edf", ["EEG Fpz-Cz", "EMG submental"])
    with pytest.raises(DataError, match="no channel `EOG horizontal` in eeg-only.edf"):
        Predictor(ckpt, device="cpu").windows(edf)
    result = CliRunner().invoke(app, ["predict", str(edf), "--checkpoint", str(ckpt),
                                      "--out", str(tmp_path / "out")],
                                env={"COLUMNS": "200", "CWTMAE_HOME": None})
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if "error" in line.lower()]
    assert len(lines) == 1 and "EOG horizontal" in lines[0]


def test_channel_names_one_per_slot(ckpt):
    assert Predictor(ckpt, device="cpu", channel="Fpz-Cz, EOG").channels == ["Fpz-Cz", "EOG"]
    with pytest.raises(UsageError, match="names 1 channel but the model reads 2"):
        Predictor(ckpt, device="cpu", channel="Fpz-Cz")


def _store(path, channels: list[str]):
    n = len(channels)
    signals = np.arange(4 * n * 3000, dtype=np.float32).reshape(4, n, 3000)
    write_store_from_arrays(path, signals, np.arange(4) % 5, np.zeros(4, np.int32),
                            np.arange(4) * 30.0, fs_hz=FS, window_s=30.0, channels=channels,
                            label_names=SLEEP_LABELS, subjects=["00"])
    return open_store(path)


def test_a_store_is_read_in_the_models_channel_order(ckpt, tmp_path):
    from cwtmae_cli.runtime.checkpoint import read_meta

    store = _store(tmp_path / "s.zarr", ["EOG horizontal", "EMG", "EEG Fpz-Cz"])
    found = match_store(read_meta(ckpt), store, ckpt)
    assert found == "EEG Fpz-Cz,EOG horizontal"
    assert WindowDataset(store.path, channel=found).channels == [2, 0]


def test_a_store_with_fewer_channels_than_the_model_is_refused(ckpt, tmp_path):
    from cwtmae_cli.runtime.checkpoint import read_meta

    store = _store(tmp_path / "one.zarr", ["EEG Fpz-Cz"])
    with pytest.raises(StoreError, match=r"the model reads 2 channels \(EEG Fpz-Cz, EOG "
                                         r"horizontal\) but the store has 1 \(EEG Fpz-Cz\)"):
        match_store(read_meta(ckpt), store, ckpt)


def test_embed_reads_the_slots_in_the_models_order_too(ckpt, tmp_path):
    from cwtmae_cli.evaluate.embedding import RecordingWindows, check_store_fits
    from cwtmae_cli.runtime.checkpoint import read_meta

    meta = read_meta(ckpt)
    edf = _edf(tmp_path / "night.edf", ["EOG horizontal", "EEG Fpz-Cz"])
    windows, _, _, info = RecordingWindows(ckpt, meta, None).windows(edf)
    assert windows.shape == (3, 2, 3000) and info.channel_in_file == "EEG Fpz-Cz,EOG horizontal"
    store = _store(tmp_path / "e.zarr", ["EOG horizontal", "EEG Fpz-Cz"])
    assert check_store_fits(meta, store.path) == "EEG Fpz-Cz,EOG horizontal"


def test_the_sidecar_names_each_channel_read_in_the_models_order(ckpt, tmp_path):
    edf = _edf(tmp_path / "night.edf", ["EMG submental", "EOG horizontal", "EEG Fpz-Cz"])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["predict", str(edf), "--checkpoint", str(ckpt), "--out",
                                      str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "night_pred.json").read_text())
    assert doc["channels"] == [{"requested": slot, "name_in_file": slot} for slot in SLOTS]
    assert doc["context"] == {"windows": 1, "trained": 1, "stride_s": None}
