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
import zarr
from results_fixtures import save_classifier, save_mae, tiny_classifier
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.data.readers.dispatch import read_recording
from cwtmae_cli.data.store.loader import WindowDataset
from cwtmae_cli.evaluate.embedding import Embeddings
from cwtmae_cli.evaluate.embedding_store import write_zarr
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
    code = _doc_code(0)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, str(DOC), "exec"), scope)  # noqa: S102  (our own documentation)
    assert scope["probe"].predict(scope["X"][:3]).shape == (3,)
    assert set(scope["probe"].classes_) == {"f0", "f1", "f2"}


def _doc_code(k: int) -> str:
    """The ``k``-th python block of docs/embed.md."""
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)[k]


def _zarr_rows(path: Path) -> tuple[np.ndarray, list[dict], dict]:
    """The vectors of an ``OUT.zarr``, its table as the ``.tsv`` rows would read, its attrs."""
    group = zarr.open_group(str(path), mode="r")
    attrs = group.attrs.asdict()
    ids = [r["id"] for r in attrs["recordings"]]
    labels, split = group["labels"][:], group["split"][:]
    rows = [
        {"row": str(i), "recording": ids[r], "onset_s": repr(round(float(t), 6)),
         "label": attrs["label_names"][y] if y >= 0 else "",
         "split": attrs["split_names"][s] if s >= 0 else ""}
        for i, (r, t, y, s) in enumerate(zip(group["recording"][:], group["start_s"][:], labels,
                                             split, strict=True))
    ]
    return group["embeddings"][:], rows, attrs


def test_a_zarr_output_holds_the_npy_rows_and_their_provenance(store, ckpt, tmp_path) -> None:
    _embed([str(store), "--checkpoint", str(ckpt), "--out", str(tmp_path / "emb")])
    result = _embed([str(store), "--checkpoint", str(ckpt), "--out", str(tmp_path / "emb.zarr")])
    vectors, rows, attrs = _zarr_rows(tmp_path / "emb.zarr")
    np.testing.assert_array_equal(vectors, np.load(tmp_path / "emb.npy"))
    assert vectors.dtype == np.float32
    assert rows == _table(tmp_path / "emb.tsv")
    data = WindowDataset(store, splits=(0, 1, 2))
    group = zarr.open_group(str(tmp_path / "emb.zarr"), mode="r")
    np.testing.assert_array_equal(group["start_s"][:], data.start_s)  # float64, not rounded
    assert group["embeddings"].chunks[1] == 64 and group["embeddings"].chunks[0] >= 64
    assert attrs["format"] == "cwtmae-embeddings" and attrs["embed_dim"] == 64
    assert attrs["n_windows"] == len(data) == len(rows)
    assert attrs["checkpoint"] == {"path": str(ckpt.resolve()), "kind": "classifier"}
    assert attrs["label_names"] == ["f0", "f1", "f2"]  # the store's order
    assert attrs["fs_hz"] == 100.0 and attrs["window_s"] == 30.0
    assert attrs["channels"] and all(r["channels"] for r in attrs["recordings"])
    assert result.stdout.split() == [str(tmp_path / "emb.zarr"), str(len(data)), "x", "64"]
    assert not list(tmp_path.glob(".emb.zarr.tmp-*"))


def test_a_zarr_output_of_recordings_has_their_onsets(ckpt, tmp_path) -> None:
    rng = np.random.default_rng(4)
    for name, flat in (("a", False), ("b", True)):
        signal = rng.normal(0, 20, size=(1, 9500))
        if flat:
            signal[0, 3000:6000] = 0.0  # no embedding for b's second window
        write_edf(tmp_path / "in" / f"{name}.edf", signal, 100.0, ["EEG Fpz-Cz"])
    _embed([str(tmp_path / "in"), "--checkpoint", str(ckpt), "--out", str(tmp_path / "n")])
    _embed([str(tmp_path / "in"), "--checkpoint", str(ckpt), "--out", str(tmp_path / "n.zarr")])
    vectors, rows, attrs = _zarr_rows(tmp_path / "n.zarr")
    assert rows == _table(tmp_path / "n.tsv")
    assert [(r["recording"], r["onset_s"]) for r in rows] == [
        ("a", "0.0"), ("a", "30.0"), ("a", "60.0"), ("b", "0.0"), ("b", "60.0")]
    np.testing.assert_array_equal(vectors, np.load(tmp_path / "n.npy"))
    assert attrs["recordings"] == [{"id": "a", "channels": ["EEG Fpz-Cz"]},
                                   {"id": "b", "channels": ["EEG Fpz-Cz"]}]
    assert attrs["label_names"] == [] and attrs["input"] == str((tmp_path / "in").resolve())


def test_an_existing_zarr_output_is_never_replaced(store, ckpt, tmp_path) -> None:
    (tmp_path / "emb.zarr").mkdir()
    (tmp_path / "emb.zarr" / "mine").write_text("mine\n")
    result = runner.invoke(app, ["embed", str(store), "--checkpoint", str(ckpt), "--out",
                                 str(tmp_path / "emb.zarr")])
    assert result.exit_code == 2 and "emb.zarr already exists" in result.stderr
    assert [p.name for p in (tmp_path / "emb.zarr").iterdir()] == ["mine"]


def test_a_failed_zarr_write_leaves_no_group(tmp_path, monkeypatch) -> None:
    part = Embeddings(np.ones((3, 4), np.float32), ["r"] * 3, np.array([0.0, 30.0, 60.0]),
                      [""] * 3, [""] * 3)

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zarr.Group, "update_attributes", broken)
    with pytest.raises(OSError, match="disk full"):
        write_zarr([part], tmp_path / "e.zarr", {})
    assert list(tmp_path.iterdir()) == []  # neither the group nor its temporary sibling


def test_the_documented_zarr_probe_runs_on_the_output(store, ckpt, tmp_path, monkeypatch):
    _embed([str(store), "--checkpoint", str(ckpt), "--out", str(tmp_path / "emb.zarr")])
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_doc_code(1), str(DOC), "exec"), scope)  # noqa: S102  (our own documentation)
    assert set(scope["probe"].classes_) == {"f0", "f1", "f2"}
    assert list(scope["recording"][:2]) == [r["recording"] for r in _zarr_rows(
        tmp_path / "emb.zarr")[1][:2]]
    assert len(scope["onset_s"]) == len(scope["X"])
