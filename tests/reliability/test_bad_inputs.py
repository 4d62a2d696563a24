"""The bad-input matrix: damaged recordings, recipes, stores and checkpoints, each generated here.

Every case must end with exit code 1, exactly one ``error:`` line on stderr that names the file
and the problem, no traceback, and every file that existed before the command byte-identical
after it (a previous store and run included).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import (
    checkpoint_meta,
    copy_store,
    edit_text,
    edited_edf,
    recipe,
    store_attrs,
    write_good_edf,
    write_wfdb,
)
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app

runner = CliRunner()
FS = 100.0
Case = Callable[[Path, dict], tuple[list[str], list[str]]]


# -- helpers ----------------------------------------------------------------------------------
def _prepare_edf(folder: Path) -> list[str]:
    return ["prepare", "edf", "--source", str(folder / "src"), "--channels", "Fpz-Cz",
            "--out", str(folder / "out.zarr")]  # fmt: skip


def _prepare_wfdb(folder: Path, recipe_name: str = "wfdb") -> list[str]:
    extra = ["--channels", "MLII"] if recipe_name == "wfdb" else []
    return ["prepare", recipe_name, "--source", str(folder / "src"), *extra,
            "--out", str(folder / "out.zarr")]  # fmt: skip


def _bytes_edf(folder: Path, data: bytes, name: str = "bad.edf") -> Path:
    path = folder / "src" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _good_bytes(folder: Path) -> bytes:
    return write_good_edf(folder / "good-template.edf").read_bytes()


def _edf_case(name: str = "bad.edf", **fields: str) -> Case:
    def build(folder: Path, ctx: dict) -> tuple[list[str], list[str]]:
        (folder / "src").mkdir(parents=True, exist_ok=True)
        edited_edf(folder / "src", name, **fields)
        return _prepare_edf(folder), [Path(name).stem]

    return build


def _sleep_pair(folder: Path, stages: list[tuple[float, float, str]], minutes: float = 10) -> None:
    """A Sleep-EDF-named PSG + hypnogram pair (one subject) with the given stage intervals."""
    from cwtmae_cli.data.edf_writer import write_edf

    write_good_edf(folder / "src" / "SC4011E0-PSG.edf", seconds=minutes * 60)
    write_edf(folder / "src" / "SC4011EH-Hypnogram.edf", [], [], [], annotations=stages)


def _sleep_args(folder: Path) -> list[str]:
    return ["prepare", "sleep-edf", "--source", str(folder / "src"),
            "--out", str(folder / "out.zarr")]  # fmt: skip


# -- EDF / BDF recordings ---------------------------------------------------------------------
def edf_header_cut(folder: Path, ctx: dict):
    _bytes_edf(folder, _good_bytes(folder)[:100])
    return _prepare_edf(folder), ["bad.edf"]


def edf_signal_headers_cut(folder: Path, ctx: dict):
    _bytes_edf(folder, _good_bytes(folder)[: 256 + 120])
    return _prepare_edf(folder), ["bad.edf"]


def edf_data_cut(folder: Path, ctx: dict):
    data = _good_bytes(folder)
    _bytes_edf(folder, data[: len(data) // 3])
    return _prepare_edf(folder), ["bad.edf", "truncated"]


def edf_zero_length(folder: Path, ctx: dict):
    _bytes_edf(folder, b"")
    return _prepare_edf(folder), ["bad.edf"]


def edf_random_bytes(folder: Path, ctx: dict):
    _bytes_edf(folder, np.random.default_rng(0).bytes(5000))
    return _prepare_edf(folder), ["bad.edf"]


def bdf_random_bytes(folder: Path, ctx: dict):
    _bytes_edf(folder, np.random.default_rng(1).bytes(5000), name="bad.bdf")
    return _prepare_edf(folder), ["bad.bdf"]


def edf_duplicate_channels(folder: Path, ctx: dict):
    write_good_edf(folder / "src" / "dup.edf", channels=("EEG Fpz-Cz", "EEG Fpz-Cz"))
    return _prepare_edf(folder), ["dup"]


def edf_constant_signal(folder: Path, ctx: dict):
    from cwtmae_cli.data.edf_writer import write_edf

    write_edf(folder / "src" / "flat.edf", np.full((1, 12000), 7.0), FS, ["EEG Fpz-Cz"])
    return _prepare_edf(folder), ["flat", "flat"]


def edf_too_short(folder: Path, ctx: dict):
    write_good_edf(folder / "src" / "short.edf", seconds=10)
    return _prepare_edf(folder), ["short", "shorter than one 30-s window"]


def edf_missing_channel(folder: Path, ctx: dict):
    write_good_edf(folder / "src" / "other.edf", channels=("EMG submental",))
    return _prepare_edf(folder), ["other.edf", "no channel `Fpz-Cz`"]


EDF_CASES: dict[str, Case] = {
    "edf-header-cut": edf_header_cut,
    "edf-signal-headers-cut": edf_signal_headers_cut,
    "edf-data-cut": edf_data_cut,
    "edf-zero-length": edf_zero_length,
    "edf-random-bytes": edf_random_bytes,
    "bdf-random-bytes": bdf_random_bytes,
    "edf-more-records-than-data": _edf_case(n_records="500"),
    "edf-records-not-a-number": _edf_case(n_records="many"),
    "edf-negative-record-duration": _edf_case(record_s="-1"),
    "edf-zero-record-duration": _edf_case(record_s="0"),
    "edf-zero-samples-per-record": _edf_case(samples_per_record="0"),
    "edf-negative-samples-per-record": _edf_case(samples_per_record="-100"),
    "edf-non-ascii-label": _edf_case(label="EEG Fp\xe9-\xff\xfe"),
    "edf-header-bytes-wrong": _edf_case(header_bytes="99999"),
    "edf-digital-range-empty": _edf_case(digital_min="5", digital_max="5"),
    "edf-duplicate-channels": edf_duplicate_channels,
    "edf-constant-signal": edf_constant_signal,
    "edf-too-short": edf_too_short,
    "edf-missing-channel": edf_missing_channel,
}


# -- EDF+ hypnograms (sleep-edf recipe) -------------------------------------------------------
def hypnogram_past_the_end(folder: Path, ctx: dict):
    _sleep_pair(folder, [(3600.0, 30.0 * 40, "Sleep stage 2")])  # starts after 10 min of signal
    return _sleep_args(folder), ["SC4011E0", "no annotation"]


def hypnogram_unknown_stage(folder: Path, ctx: dict):
    _sleep_pair(folder, [(0.0, 300.0, "Sleep stage 2"), (300.0, 300.0, "Sleep stage X")])
    return _sleep_args(folder), ["SC4011E0", "Sleep stage X"]


def hypnogram_random_bytes(folder: Path, ctx: dict):
    write_good_edf(folder / "src" / "SC4011E0-PSG.edf", seconds=600)
    (folder / "src" / "SC4011EH-Hypnogram.edf").write_bytes(np.random.default_rng(2).bytes(900))
    return _sleep_args(folder), ["SC4011EH-Hypnogram.edf"]


HYPNOGRAM_CASES: dict[str, Case] = {
    "hypnogram-past-the-end": hypnogram_past_the_end,
    "hypnogram-unknown-stage": hypnogram_unknown_stage,
    "hypnogram-random-bytes": hypnogram_random_bytes,
}


# -- WFDB records -----------------------------------------------------------------------------
def hea_random_bytes(folder: Path, ctx: dict):
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "r1.hea").write_bytes(np.random.default_rng(3).bytes(700))
    return _prepare_wfdb(folder), ["r1"]


def hea_zero_length(folder: Path, ctx: dict):
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "r1.hea").write_bytes(b"")
    return _prepare_wfdb(folder), ["r1"]


def hea_missing_dat(folder: Path, ctx: dict):
    write_wfdb(folder / "src")
    (folder / "src" / "r1.dat").unlink()
    return _prepare_wfdb(folder), ["r1.dat", "missing"]


def hea_short_dat(folder: Path, ctx: dict):
    hea = write_wfdb(folder / "src")
    dat = hea.with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[: dat.stat().st_size // 3])
    return _prepare_wfdb(folder), ["r1", "truncated"]


def hea_unsupported_format(folder: Path, ctx: dict):
    hea = write_wfdb(folder / "src")
    edit_text(hea, "r1.dat 16 ", "r1.dat 999 ")
    return _prepare_wfdb(folder), ["r1", "format 999 is not supported"]


def hea_zero_rate(folder: Path, ctx: dict):
    hea = write_wfdb(folder / "src")
    edit_text(hea, "r1 1 360 ", "r1 1 0 ")
    return _prepare_wfdb(folder), ["r1"]


def hea_negative_rate(folder: Path, ctx: dict):
    hea = write_wfdb(folder / "src")
    edit_text(hea, "r1 1 360 ", "r1 1 -360 ")
    return _prepare_wfdb(folder), ["r1"]


def hea_all_nan(folder: Path, ctx: dict):
    write_wfdb(folder / "src", d_signal=np.full((360 * 70, 1), -32768, dtype=np.int32))
    return _prepare_wfdb(folder), ["r1", "non-finite"]


def atr_random_bytes(folder: Path, ctx: dict):
    write_wfdb(folder / "src")
    (folder / "src" / "r1.atr").write_bytes(np.random.default_rng(4).bytes(301))
    return _prepare_wfdb(folder, "mitdb-af"), ["r1.atr"]


def atr_unknown_codes(folder: Path, ctx: dict):
    write_wfdb(folder / "src")
    # MIT annotation words: (code << 10) | samples since the last one; code 55 is undefined.
    words = np.array([(55 << 10) | 100, (55 << 10) | 200, 0], dtype="<u2")
    (folder / "src" / "r1.atr").write_bytes(words.tobytes())
    return _prepare_wfdb(folder, "mitdb-af"), ["r1"]


WFDB_CASES: dict[str, Case] = {
    "hea-random-bytes": hea_random_bytes,
    "hea-zero-length": hea_zero_length,
    "hea-missing-dat": hea_missing_dat,
    "hea-short-dat": hea_short_dat,
    "hea-unsupported-format": hea_unsupported_format,
    "hea-zero-rate": hea_zero_rate,
    "hea-negative-rate": hea_negative_rate,
    "hea-all-nan-signal": hea_all_nan,
    "atr-random-bytes": atr_random_bytes,
    "atr-unknown-codes": atr_unknown_codes,
}


# -- recipes ----------------------------------------------------------------------------------
def _recipe_case(body: str, *expect: str) -> Case:
    def build(folder: Path, ctx: dict):
        path = recipe(folder, body)
        write_good_edf(folder / "src" / "ok.edf")
        args = ["prepare", str(path), "--source", str(folder / "src"),
                "--out", str(folder / "out.zarr")]  # fmt: skip
        return args, ["bad-recipe.toml", *expect]

    return build


RECIPE_CASES: dict[str, Case] = {
    "recipe-rate-is-a-string": _recipe_case('[signal]\nfs_hz = "100"\n', "signal.fs_hz"),
    "recipe-channels-a-number": _recipe_case("[signal]\nchannels = 5\n", "signal.channels"),
    "recipe-two-split-fractions": _recipe_case("[split]\nfractions = [0.5, 0.5]\n", "fractions"),
    "recipe-map-to-a-number": _recipe_case(
        '[labels]\nnames = ["A"]\n[labels.map]\n"x" = 1\n', "labels.map"
    ),
    "recipe-zero-window": _recipe_case("[signal]\nwindow_s = 0\n", "signal.window_s"),
    "recipe-not-toml": _recipe_case("[signal\nfs_hz = = 3\n", "TOML"),
    "recipe-unknown-table": _recipe_case("[sources]\npattern = '*.edf'\n", "sources"),
    "recipe-pattern-a-table": _recipe_case("[source]\npattern = {a = 1}\n", "source.pattern"),
}


# -- stores -----------------------------------------------------------------------------------
def _pretrain_on(folder: Path, store: Path) -> list[str]:
    return ["pretrain", "--data", str(store), "--model", "tiny", "--steps", "1",
            "--batch-size", "2", "--device", "cpu", "--out", str(folder / "run")]  # fmt: skip


def store_missing_array(folder: Path, ctx: dict):
    store = copy_store(ctx["store"], folder / "s.zarr")
    shutil.rmtree(store / "labels")
    return _pretrain_on(folder, store), ["s.zarr", "labels"]


def store_newer_schema(folder: Path, ctx: dict):
    store = copy_store(ctx["store"], folder / "s.zarr")
    store_attrs(store, schema_version=99)
    return ["inspect", str(store)], ["s.zarr", "schema_version"]


def store_metadata_cut(folder: Path, ctx: dict):
    store = copy_store(ctx["store"], folder / "s.zarr")
    meta = store / "zarr.json"
    meta.write_bytes(meta.read_bytes()[:40])
    return ["inspect", str(store)], ["s.zarr"]


def store_fewer_windows_than_committed(folder: Path, ctx: dict):
    store = copy_store(ctx["store"], folder / "s.zarr")
    store_attrs(store, n_committed=10_000)
    return _pretrain_on(folder, store), ["s.zarr", "damaged"]


def store_is_a_file(folder: Path, ctx: dict):
    store = folder / "s.zarr"
    store.write_bytes(b"not a store")
    return _pretrain_on(folder, store), ["s.zarr"]


def store_chunk_garbage(folder: Path, ctx: dict):
    store = copy_store(ctx["store"], folder / "s.zarr")
    for chunk in (store / "signals" / "c").rglob("*"):
        if chunk.is_file():
            chunk.write_bytes(b"\x00garbage" * 10)
    return _pretrain_on(folder, store), ["s.zarr"]


STORE_CASES: dict[str, Case] = {
    "store-missing-array": store_missing_array,
    "store-newer-schema": store_newer_schema,
    "store-metadata-cut": store_metadata_cut,
    "store-fewer-windows-than-committed": store_fewer_windows_than_committed,
    "store-is-a-file": store_is_a_file,
    "store-chunk-garbage": store_chunk_garbage,
}


# -- checkpoints ------------------------------------------------------------------------------
def _classifier_copy(folder: Path, ctx: dict) -> Path:
    return Path(shutil.copytree(ctx["classifier"], folder / "ckpt"))


def _evaluate(folder: Path, ckpt: Path, ctx: dict) -> list[str]:
    return ["evaluate", "--checkpoint", str(ckpt), "--data", str(ctx["store"]), "--device", "cpu"]


def ckpt_missing_meta(folder: Path, ctx: dict):
    ckpt = _classifier_copy(folder, ctx)
    (ckpt / "meta.json").unlink()
    return _evaluate(folder, ckpt, ctx), ["ckpt", "meta.json"]


def ckpt_newer_format(folder: Path, ctx: dict):
    ckpt = _classifier_copy(folder, ctx)
    checkpoint_meta(ckpt, format_version=2)
    return ["inspect", str(ckpt)], ["meta.json", "format"]


def ckpt_meta_not_json(folder: Path, ctx: dict):
    ckpt = _classifier_copy(folder, ctx)
    (ckpt / "meta.json").write_text('{"format_version": 1, "kind": ')
    return _evaluate(folder, ckpt, ctx), ["meta.json", "corrupted"]


def ckpt_wrong_shapes(folder: Path, ctx: dict):
    import torch
    from safetensors.torch import load_file, save_file

    ckpt = _classifier_copy(folder, ctx)
    weights = load_file(str(ckpt / "model.safetensors"))
    key = next(k for k, v in weights.items() if v.ndim == 2)
    weights[key] = torch.zeros(weights[key].shape[0] + 3, weights[key].shape[1])
    save_file(weights, str(ckpt / "model.safetensors"), metadata={"format": "pt"})
    digest = hashlib.sha256((ckpt / "model.safetensors").read_bytes()).hexdigest()
    meta = json.loads((ckpt / "meta.json").read_text())
    checkpoint_meta(ckpt, weights={**meta["weights"], "sha256": digest})
    return _evaluate(folder, ckpt, ctx), ["model.safetensors", key]


def ckpt_weights_flipped(folder: Path, ctx: dict):
    ckpt = _classifier_copy(folder, ctx)
    data = bytearray((ckpt / "model.safetensors").read_bytes())
    data[-100:] = bytes(100)
    (ckpt / "model.safetensors").write_bytes(bytes(data))
    return _evaluate(folder, ckpt, ctx), ["model.safetensors", "corrupted"]


def ckpt_weights_missing(folder: Path, ctx: dict):
    ckpt = _classifier_copy(folder, ctx)
    (ckpt / "model.safetensors").unlink()
    return _evaluate(folder, ckpt, ctx), ["ckpt", "model.safetensors"]


def ckpt_unknown_model_argument(folder: Path, ctx: dict):
    ckpt = _classifier_copy(folder, ctx)
    meta = json.loads((ckpt / "meta.json").read_text())
    checkpoint_meta(ckpt, model_config={**meta["model_config"], "warp_drive": 9})
    return _evaluate(folder, ckpt, ctx), ["meta.json", "warp_drive"]


def ckpt_unknown_kind(folder: Path, ctx: dict):
    ckpt = _classifier_copy(folder, ctx)
    checkpoint_meta(ckpt, kind="diffusion")
    return ["inspect", str(ckpt)], ["meta.json", "kind"]


def pretrained_missing_meta(folder: Path, ctx: dict):
    ckpt = Path(shutil.copytree(ctx["mae"], folder / "mae"))
    (ckpt / "meta.json").unlink()
    args = ["finetune", "--pretrained", str(ckpt), "--data", str(ctx["store"]), "--steps", "1",
            "--batch-size", "2", "--device", "cpu", "--out", str(folder / "run")]  # fmt: skip
    return args, ["mae", "meta.json"]


def train_state_garbage(folder: Path, ctx: dict):
    run = Path(shutil.copytree(ctx["mae_run"], folder / "run"))
    step = sorted((run / "checkpoints").glob("step-*"))[-1]
    (step / "train_state.pt").write_bytes(np.random.default_rng(5).bytes(999))
    return ["pretrain", "--resume", str(run), "--device", "cpu"], ["train_state.pt"]


CHECKPOINT_CASES: dict[str, Case] = {
    "ckpt-missing-meta": ckpt_missing_meta,
    "ckpt-newer-format": ckpt_newer_format,
    "ckpt-meta-not-json": ckpt_meta_not_json,
    "ckpt-wrong-shapes": ckpt_wrong_shapes,
    "ckpt-weights-corrupted": ckpt_weights_flipped,
    "ckpt-weights-missing": ckpt_weights_missing,
    "ckpt-unknown-model-argument": ckpt_unknown_model_argument,
    "ckpt-unknown-kind": ckpt_unknown_kind,
    "pretrained-missing-meta": pretrained_missing_meta,
    "train-state-garbage": train_state_garbage,
}

ALL_CASES = {
    **EDF_CASES,
    **HYPNOGRAM_CASES,
    **WFDB_CASES,
    **RECIPE_CASES,
    **STORE_CASES,
    **CHECKPOINT_CASES,
}


# -- the test ---------------------------------------------------------------------------------
def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def previous(tmp_path, sine_store) -> Path:
    """A working folder holding an earlier store: it must come out of every failure untouched."""
    shutil.copytree(sine_store, tmp_path / "stores" / "earlier.zarr")
    return tmp_path


@pytest.mark.parametrize("name", list(ALL_CASES))
def test_bad_input_is_one_clear_line_exit_1_and_changes_nothing(name, previous, trained) -> None:
    folder = previous / "case"
    folder.mkdir()
    args, expect = ALL_CASES[name](folder, trained)
    before = snapshot(previous)
    result = runner.invoke(app, args)
    after = snapshot(previous)
    output = result.stdout + result.stderr
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"{name}: uncaught {result.exception!r}"
    assert "Traceback" not in output, output[-3000:]
    assert result.exit_code == 1, f"{name}: exit {result.exit_code}\n{output[-3000:]}"
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for text in expect:
        assert text in errors[0], f"{name}: {text!r} not in {errors[0]!r}"
    changed = [p for p, digest in before.items() if after.get(p) != digest]
    assert not changed, f"{name} changed files that existed before: {changed}"
    if not name.startswith("train-state"):  # (that case resumes a run folder it copied in)
        assert not (folder / "run").exists(), f"{name} created a run folder"


def test_the_matrix_has_at_least_30_cases() -> None:
    assert len(ALL_CASES) >= 30


# -- inputs that are odd but valid: defined results, exit 0 ------------------------------------
def _sleep_store(folder: Path, stages: list[tuple[float, float, str]]):
    from cwtmae_cli.data.store.schema import open_store

    _sleep_pair(folder, stages)
    result = runner.invoke(app, [*_sleep_args(folder), "--json"])
    assert result.exit_code == 0, result.output
    return open_store(folder / "out.zarr")


def test_annotations_past_the_end_label_only_the_signal_they_cover(tmp_path) -> None:
    # 10 min of signal; N2 for 8 min, then REM running 50 min past the end
    store = _sleep_store(
        tmp_path, [(0.0, 480.0, "Sleep stage 2"), (480.0, 3120.0, "Sleep stage R")]
    )
    assert store.start_s[:].tolist() == [30.0 * i for i in range(20)]
    assert store.labels[:].tolist() == [2] * 16 + [4] * 4


def test_overlapping_annotations_vote_by_cover(tmp_path) -> None:
    # N2 0-300 s and N3 240-600 s overlap for 60 s: a window goes to the stage covering most of it
    store = _sleep_store(tmp_path, [(0.0, 300.0, "Sleep stage 2"), (240.0, 360.0, "Sleep stage 3")])
    labels = store.labels[:].tolist()
    assert labels == [2] * 10 + [3] * 10  # windows 8-9 (240-300 s) tie 30/30 -> the first class
