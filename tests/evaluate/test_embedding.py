"""``cwtmae embed``: the right windows (store order; predict's windowing and quality control for
recordings), the encoder's mean patch token of each, a table that names them, and the
documented scikit-learn probe running on the output."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from results_fixtures import save_classifier, save_mae, tiny_classifier
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.data.readers.dispatch import read_recording
from cwtmae_cli.data.store.loader import WindowDataset
from cwtmae_cli.model import standardize_windows
from cwtmae_cli.runtime.loading import load_classifier, load_mae

runner = CliRunner()
DOC = Path(__file__).resolve().parents[2] / "docs" / "embed.md"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return write_sine_store(tmp_path_factory.mktemp("s") / "sine.zarr", n_per_class=6)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return save_classifier(tmp_path_factory.mktemp("c") / "ck", tiny_classifier(3, seed=3),
                           ["f0", "f1", "f2"])


def _mean_patch_token(model, windows: np.ndarray) -> np.ndarray:
    """The reference: the classifier's own features of each window, averaged over patches."""
    with torch.no_grad():
        x = standardize_windows(torch.from_numpy(np.asarray(windows, dtype=np.float32)))
        if hasattr(model, "forward_features"):
            return model.forward_features(x).mean(dim=1).numpy()
        enc = model.encoder
        return enc(enc.embed(enc.images(x)))[:, 1:].mean(dim=1).numpy()


def _table(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _embed(args: list[str]):
    result = runner.invoke(app, ["embed", *args, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    return result


def test_a_store_gives_every_window_in_store_order(store, ckpt, tmp_path) -> None:
    _embed([str(store), "--checkpoint", str(ckpt), "--out", str(tmp_path / "emb")])
    vectors, table = np.load(tmp_path / "emb.npy"), _table(tmp_path / "emb.tsv")
    data = WindowDataset(store, splits=(0, 1, 2))
    assert vectors.shape == (len(data), 64) and vectors.dtype == np.float32  # tiny: embed_dim 64
    assert [int(r["row"]) for r in table] == list(range(len(data)))
    model, _ = load_classifier(ckpt)
    rows = np.array([0, 5, len(data) - 1])
    expected = _mean_patch_token(model, data.get_batch(rows)[0].numpy())
    np.testing.assert_allclose(vectors[rows], expected, rtol=1e-4, atol=1e-5)
    assert [r["label"] for r in table] == [f"f{y}" for y in data.labels]
    assert [float(r["onset_s"]) for r in table] == data.start_s.tolist()
    assert {r["split"] for r in table} == {"train", "validation", "test"}
    assert not np.allclose(vectors[0], vectors[1])


def test_a_recording_is_windowed_as_predict_does_and_bad_windows_left_out(ckpt, tmp_path):
    rng = np.random.default_rng(4)
    signal = rng.normal(0, 20, size=(1, 9500))  # 95 s at 100 Hz: windows at 0, 30, 60 s
    signal[0, 3000:6000] = 0.0  # the second window is flat: no embedding
    edf = write_edf(tmp_path / "night.edf", signal, 100.0, ["EEG Fpz-Cz"])
    result = _embed([str(edf), "--checkpoint", str(ckpt), "--out", str(tmp_path / "n.npy")])
    assert "night.edf: 1 window failed quality control" in result.stderr
    table = _table(tmp_path / "n.tsv")
    assert [(r["recording"], float(r["onset_s"])) for r in table] == [("night", 0.0),
                                                                       ("night", 60.0)]
    read = read_recording(edf, channels=["EEG Fpz-Cz"]).signal[0]  # as the EDF stores it
    model, _ = load_classifier(ckpt)
    expected = _mean_patch_token(model, np.stack([read[0:3000], read[6000:9000]]))
    np.testing.assert_allclose(np.load(tmp_path / "n.npy"), expected, rtol=1e-4, atol=1e-5)


def test_a_pretraining_checkpoint_embeds_too(store, tmp_path) -> None:
    mae_ckpt = save_mae(tmp_path / "mae")
    _embed([str(store), "--checkpoint", str(mae_ckpt), "--out", str(tmp_path / "m")])
    model, _ = load_mae(mae_ckpt)
    data = WindowDataset(store, splits=(0, 1, 2))
    np.testing.assert_allclose(np.load(tmp_path / "m.npy")[:4],
                               _mean_patch_token(model, data.get_batch(np.arange(4))[0].numpy()),
                               rtol=1e-4, atol=1e-5)


def test_an_existing_output_is_never_replaced(store, ckpt, tmp_path) -> None:
    (tmp_path / "emb.tsv").write_text("mine\n")
    result = runner.invoke(app, ["embed", str(store), "--checkpoint", str(ckpt), "--out",
                                 str(tmp_path / "emb")])
    assert result.exit_code == 2 and "emb.tsv already exists" in result.stderr
    assert (tmp_path / "emb.tsv").read_text() == "mine\n" and not (tmp_path / "emb.npy").exists()


def test_the_documented_probe_runs_on_the_output(store, ckpt, tmp_path, monkeypatch) -> None:
    pytest.importorskip("pandas")
    _embed([str(store), "--checkpoint", str(ckpt), "--out", str(tmp_path / "emb")])
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, str(DOC), "exec"), scope)  # noqa: S102  (our own documentation)
    assert scope["probe"].predict(scope["X"][:3]).shape == (3,)
    assert set(scope["probe"].classes_) == {"f0", "f1", "f2"}
