"""`cwtmae prepare` with MNE .fif recordings and the label files other tools write: a text
hypnogram (its stages through the recipe's label map, epochs of the recipe's length) or a CSV
table beside each recording; bad ones are counted skips, or stop the run under --strict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.data.store.schema import open_store

mne = pytest.importorskip("mne")
runner = CliRunner()

RECIPE = """
extends = "edf"
name = "txt-hypnograms"

[source]
pattern = ["*_raw.fif", "*_raw.fif.gz"]
annotations = "paired"
paired_pattern = "{prefix}*.%s"
prefix_chars = 4

[signal]
channels = ["Fpz-Cz"]

[labels]
names = ["W", "N2", "REM"]
unmapped = "error"

[labels.map]
W = "W"
2 = "N2"
R = "REM"
N2 = "N2"
"""


def _fif(path: Path, seconds: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    info = mne.create_info(["EEG Fpz-Cz"], 100.0, ["eeg"])
    raw = mne.io.RawArray(rng.normal(0, 20e-6, (1, int(seconds * 100))), info, verbose="error")
    raw.set_annotations(mne.Annotations([0.0], [seconds], ["R"]))  # the file's own: not used
    raw.save(path, overwrite=True, verbose="error")


def _source(tmp_path: Path, labels: dict[str, str], suffix: str = "txt") -> tuple[Path, Path]:
    source = tmp_path / "src"
    source.mkdir()
    for i, (name, text) in enumerate(labels.items()):
        _fif(source / f"{name}_raw.fif", 120.0, seed=i)  # 4 windows of 30 s
        (source / f"{name}.{suffix}").write_text(text)
    recipe = tmp_path / "r.toml"
    recipe.write_text(RECIPE % suffix)
    return source, recipe


def _windows_of_15_s_epochs_of_30_s(recipe: Path) -> None:
    text = recipe.read_text()
    text = text.replace('channels = ["Fpz-Cz"]', 'channels = ["Fpz-Cz"]\nwindow_s = 15')
    recipe.write_text(text.replace("prefix_chars = 4", "prefix_chars = 4\nepoch_s = 30"))


def _prepare(source: Path, recipe: Path, out: Path, *extra: str):
    args = ["prepare", str(recipe), "--source", str(source), "--out", str(out), *extra]
    return runner.invoke(app, args)


def test_text_hypnograms_label_the_windows_through_the_map(tmp_path):
    source, recipe = _source(tmp_path, {"s001": "W\n2\n2\nR\n", "s002": "2\nW\nR\nR\n"})
    out = tmp_path / "s.zarr"
    result = _prepare(source, recipe, out)
    assert result.exit_code == 0, result.output
    store = open_store(out)
    assert [r["id"] for r in store.recordings] == ["s001_raw", "s002_raw"]
    assert store.labels[:].tolist() == [0, 1, 1, 2, 1, 0, 2, 2]
    np.testing.assert_allclose(store.start_s[:], [0, 30, 60, 90] * 2)


def test_the_epoch_length_of_the_recipe(tmp_path):
    source, recipe = _source(tmp_path, {"s001": "W\n2\n2\nR\n"})
    _windows_of_15_s_epochs_of_30_s(recipe)
    out = tmp_path / "s.zarr"
    result = _prepare(source, recipe, out)
    assert result.exit_code == 0, result.output
    assert open_store(out).labels[:].tolist() == [0, 0, 1, 1, 1, 1, 2, 2]  # 15-s windows


def test_predict_overlays_the_text_hypnogram_prepare_used(tmp_path):
    from cwtmae_cli.evaluate.reference import find_reference

    # 15-s windows and no source.epoch_s: the hypnogram's epochs are the windows' 15 s
    source, recipe = _source(tmp_path, {"s001": "W\nW\n2\n2\n2\nR\nR\nR\n"})
    text = recipe.read_text()
    recipe.write_text(text.replace('channels = ["Fpz-Cz"]', 'channels = ["Fpz-Cz"]\nwindow_s = 15'))
    out = tmp_path / "s.zarr"
    assert _prepare(source, recipe, out).exit_code == 0
    store = open_store(out)
    meta = {"label_names": ["W", "N2", "REM"], "store": str(out)}
    start_s = np.asarray(store.start_s[:], dtype=np.float64)
    ref = find_reference(source / "s001_raw.fif", meta, "Fpz-Cz", start_s, 15.0)
    assert ref is not None and ref.source == "s001.txt"
    assert ref.labels == [store.label_names[int(k)] for k in store.labels[:]]


def test_a_compressed_fif_keeps_its_id(tmp_path):
    source, recipe = _source(tmp_path, {"s001": "W\n2\n2\nR\n"})
    raw = mne.io.read_raw_fif(source / "s001_raw.fif", verbose="error")
    raw.save(source / "s002_raw.fif.gz", verbose="error")
    (source / "s002.txt").write_text("R\nR\n2\nW\n")
    out = tmp_path / "s.zarr"
    assert _prepare(source, recipe, out).exit_code == 0
    store = open_store(out)
    assert [r["id"] for r in store.recordings] == ["s001_raw", "s002_raw"]
    assert store.labels[4:].tolist() == [2, 2, 1, 0]


def test_csv_label_tables(tmp_path):
    table = "onset,duration,label\n0,60,W\n60,60,N2\n"
    source, recipe = _source(tmp_path, {"s001": table}, suffix="csv")
    out = tmp_path / "s.zarr"
    assert _prepare(source, recipe, out).exit_code == 0
    assert open_store(out).labels[:].tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("W\n2\nX\nR\n", "annotation `X` is not in the recipe's label map (in s002.txt)"),
        ("W\n2\n2\nR\nR\nR\n", "s002.txt holds 6 epochs of 30 s (180 s) but the recording lasts"),
    ],
)
def test_a_bad_hypnogram_is_a_counted_skip_or_stops_a_strict_run(tmp_path, text, says):
    source, recipe = _source(tmp_path, {"s001": "W\n2\n2\nR\n", "s002": text})
    result = _prepare(source, recipe, tmp_path / "s.zarr")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: 1 recording skipped"), result.stderr
    assert says in result.stderr
    assert len(open_store(tmp_path / "s.zarr")) == 4  # the good recording was written
    strict = _prepare(source, recipe, tmp_path / "t.zarr", "--strict")
    assert strict.exit_code == 1
    errors = [line for line in strict.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--strict" in errors[0] and says in errors[0]
