"""The ``cinc2017`` recipe: real CinC 2017 records (9.3 s, 30 s, 60.4 s), one label per record,
the covering window policy in the store and the checkpoint, and bad challenge folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from challenge_files import write_challenge_record, write_reference
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.cli.inspect import window_policy_line
from cwtmae_cli.data.prepare import prepare_store
from cwtmae_cli.data.readers.dispatch import read_recording
from cwtmae_cli.data.recipes.load import load_recipe
from cwtmae_cli.data.store.loader import WindowDataset
from cwtmae_cli.data.store.schema import describe_store, open_store
from cwtmae_cli.train.pretrain import preprocessing_meta

runner = CliRunner()
# record: (samples at 300 Hz, label in REFERENCE.csv, windows of 10 s every 5 s covering it)
RECORDS = {"A00001": (9000, "N", 5), "A01364": (2796, "N", 1), "A02826": (18128, "O", 12)}


@pytest.fixture
def cinc_links(shared_data, tmp_path) -> Path:
    """Symlinks to three real records (read in place) and a REFERENCE.csv naming them."""
    folder = tmp_path / "cinc"
    folder.mkdir()
    for name in RECORDS:
        for suffix in (".hea", ".mat"):
            (folder / f"{name}{suffix}").symlink_to(shared_data / "cinc2017" / f"{name}{suffix}")
    real = dict(
        line.split(",") for line in (shared_data / "cinc2017" / "REFERENCE.csv").read_text().split()
    )
    assert {name: real[name] for name in RECORDS} == {k: v[1] for k, v in RECORDS.items()}
    write_reference(folder, {name: real[name] for name in RECORDS})
    return folder


def test_every_record_yields_windows_with_its_label(cinc_links, tmp_path):
    store_path = tmp_path / "cinc.zarr"
    summary = prepare_store(load_recipe("cinc2017"), cinc_links, store_path)
    assert summary["skipped"] == [] and summary["n_windows"] == 18
    store = open_store(store_path)
    assert store.fs_hz == 300.0 and store.n_samples == 3000 and store.label_names == list("NAO~")
    assert store.attrs["window_policy"] == {
        "window_s": 10.0,
        "stride_s": 5.0,
        "cover": True,
        "short_recordings": "padded (end, recording median)",
    }
    recording = np.asarray(store.recording[:])
    labels, start_s = np.asarray(store.labels[:]), np.asarray(store.start_s[:])
    for index, info in enumerate(store.recordings):
        n_samples, label, n_windows = RECORDS[info["id"]]
        mine = recording == index
        assert info["n_windows"] == n_windows == mine.sum(), info["id"]
        assert info["label"] == label and set(labels[mine]) == {"NAO~".index(label)}
        assert info["padded_s"] == pytest.approx(max(0, 3000 - n_samples) / 300, abs=1e-3)
        assert start_s[mine][-1] == pytest.approx(max(0, n_samples - 3000) / 300)
    # The 9.3-s record's one window: the record, then its median for the last 204 samples.
    short = read_recording(cinc_links / "A01364").signal[0]  # (2796,) mV
    index = [r["id"] for r in store.recordings].index("A01364")
    window = np.asarray(store.signals[int(np.flatnonzero(recording == index)[0])])[0]  # (3000,)
    np.testing.assert_allclose(window[:2796], short, atol=1e-6)
    np.testing.assert_allclose(window[2796:], np.median(short), atol=1e-6)
    described = describe_store(store_path)  # what prepare and inspect print
    assert described["padded"] == {"recordings": ["A01364"], "max_padded_s": 0.68}
    assert window_policy_line(described) == (
        "windows every 5 s, each recording covered to its last sample; 1 recording shorter "
        "than one window padded with its median (at most 0.68 s): A01364"
    )


def test_checkpoint_preprocessing_carries_the_policy(cinc_links, tmp_path):
    store_path = tmp_path / "cinc.zarr"
    prepare_store(load_recipe("cinc2017"), cinc_links, store_path)
    dataset = WindowDataset(store_path, splits=(0, 1, 2), channel="ECG")
    pre = preprocessing_meta(dataset, {"cwt_scales": 64})
    assert pre["window_policy"] == open_store(store_path).attrs["window_policy"]
    assert pre["n_samples"] == 3000 and pre["fs_hz"] == 300.0


def _bad_folder(root: Path) -> Path:
    """A challenge folder with two good records and one of each bad input."""
    folder = root / "bad"
    ecg = (200 * np.sin(np.arange(3600) / 20)).astype(np.int16)  # 12 s at 300 Hz
    write_challenge_record(folder, "g1", ecg)
    write_challenge_record(folder, "g2", ecg[:2000])  # 6.7 s: padded
    write_challenge_record(folder, "h1", ecg)
    hea = folder / "h1.hea"
    hea.write_text(hea.read_text().replace("h1 1 300", "h1 x 300"))  # wfdb cannot parse it
    write_challenge_record(folder, "u1", ecg)  # not in REFERENCE.csv
    write_challenge_record(folder, "v1", ecg, variable="signal")  # no `val`
    write_challenge_record(folder, "x1", ecg)
    labels = {"g1": "N", "g2": "A", "h1": "N", "m1": "O", "v1": "N", "x1": "X"}
    write_reference(folder, labels)  # m1: no such record; x1: label outside the map
    return folder


REASONS = {
    "h1": "cannot read the WFDB header of h1",
    "m1": "listed in REFERENCE.csv but m1.hea is missing",
    "u1": "u1 has no label in REFERENCE.csv",
    "v1": "v1.mat holds no variable `val`",
    "x1": "label `X` in REFERENCE.csv is not in the recipe's label map",
}


def _prepare(source: Path, store: Path, *extra: str):
    return runner.invoke(
        app, ["prepare", "cinc2017", "--source", str(source), "--out", str(store), *extra]
    )


def test_bad_inputs_are_counted_skips_and_strict_stops(tmp_path):
    source, store = _bad_folder(tmp_path), tmp_path / "bad.zarr"
    result = _prepare(source, store, "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    reasons = {entry["id"]: entry["reason"] for entry in summary["skipped"]}
    assert sorted(reasons) == sorted(REASONS)
    for rid, reason in REASONS.items():
        assert reason in reasons[rid] and "\n" not in reasons[rid]
    assert summary["n_windows"] == 2 + 1  # g1 (12 s): at 0 s and the end window at 2 s; g2: one
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and reasons["h1"] in error[0] and " 5 " in error[0]
    # --strict on the same store: it stops at the first bad record, the two written stay.
    result = _prepare(source, store, "--strict")
    assert result.exit_code == 1
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and REASONS["h1"] in error[0] and "--strict" in error[0]
    kept = open_store(store)
    assert [r["id"] for r in kept.recordings] == ["g1", "g2"] and len(kept) == 3


def test_malformed_reference_is_one_line(tmp_path):
    folder = tmp_path / "m"
    write_challenge_record(folder, "g1", np.zeros(3000))
    (folder / "REFERENCE.csv").write_text("g1,N\ng2 A\n")
    result = _prepare(folder, tmp_path / "m.zarr")
    assert result.exit_code == 1
    assert "REFERENCE.csv line 2: expected `recording,label`, got 'g2 A'" in result.stderr
    assert not (tmp_path / "m.zarr").exists()


def test_resuming_a_store_of_an_older_recipe_names_the_new_key(tmp_path):
    import zarr

    from cwtmae_cli.data.recipes.recipe import with_overrides
    from cwtmae_cli.errors import StoreError

    folder = tmp_path / "one"
    write_challenge_record(folder, "g1", np.arange(12000) % 100)  # 40 s: one 30-s window
    recipe = with_overrides(load_recipe("wfdb"), channels=["ECG"])  # no [score]: None
    store = tmp_path / "one.zarr"
    prepare_store(recipe, folder, store)
    group = zarr.open_group(str(store), mode="r+")
    old = dict(group.attrs["recipe"])
    del old["score"]  # as written before recipes had a [score] table
    group.attrs["recipe"] = old
    with pytest.raises(StoreError, match=r"other settings \(differs in: score\)"):
        prepare_store(recipe, folder, store)
