"""`cwtmae prepare`: exit codes and messages for bad inputs, JSON output, SIGKILL and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app

runner = CliRunner()


def _edf(path: Path, seconds: float, fs_hz: float = 256.0, seed: int = 0) -> Path:
    import mne

    rng = np.random.default_rng(seed)
    n = int(seconds * fs_hz)
    info = mne.create_info(["EEG C3-A2", "EOG"], fs_hz, ["eeg", "eog"])
    raw = mne.io.RawArray(rng.normal(0, 20e-6, (2, n)), info, verbose="error")
    path.parent.mkdir(parents=True, exist_ok=True)
    mne.export.export_raw(path, raw, overwrite=True, verbose="error")
    return path


@pytest.fixture
def edf_folder(tmp_path) -> Path:
    for i in range(3):
        _edf(tmp_path / "edf" / f"sub{i}.edf", 95.0, seed=i)  # 3 windows each
    return tmp_path / "edf"


def _invoke(*args: str):
    return runner.invoke(app, ["prepare", *args])


def _error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_default_store_path_summary_table_and_json(edf_folder, tmp_path):
    result = _invoke(
        "edf", "--source", str(edf_folder), "--channels", "C3-A2", "--workdir", str(tmp_path / "wd")
    )
    assert result.exit_code == 0, result.stderr
    store = tmp_path / "wd" / "stores" / "edf.zarr"
    assert (store / "zarr.json").is_file()
    assert f"writing store {store}" in result.stderr
    assert "unlabelled" in result.stdout and "9" in result.stdout
    result = _invoke(
        "edf",
        "--source",
        str(edf_folder),
        "--channels",
        "C3-A2",
        "--out",
        str(tmp_path / "j.zarr"),
        "--json",
        "--seed",
        "3",
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["n_windows"] == 9 and summary["channels"] == ["C3-A2"]
    assert sum(s["n_windows"] for s in summary["splits"].values()) == 9
    assert summary["recordings_written"] == 3 and summary["skipped"] == []


def test_missing_and_empty_source(tmp_path):
    result = _invoke("edf", "--source", str(tmp_path / "nowhere"), "--channels", "C3")
    assert result.exit_code == 1 and "nowhere does not exist" in _error(result)
    (tmp_path / "empty").mkdir()
    result = _invoke(
        "edf",
        "--source",
        str(tmp_path / "empty"),
        "--channels",
        "C3",
        "--out",
        str(tmp_path / "s.zarr"),
    )
    assert result.exit_code == 1 and "no recordings matching *.edf" in _error(result)


def test_recipe_without_channels_is_a_usage_error(edf_folder, tmp_path):
    result = _invoke("edf", "--source", str(edf_folder), "--out", str(tmp_path / "s.zarr"))
    assert result.exit_code == 2 and "pass --channels" in _error(result)


def test_bad_recipe(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('format = "edf"\n[signal]\nsample_rate = 100\n')
    result = _invoke(str(bad), "--source", str(tmp_path))
    assert result.exit_code == 1 and "unknown key `signal.sample_rate`" in _error(result)
    result = _invoke("sleep-cassette", "--source", str(tmp_path))  # a name that is no recipe
    assert result.exit_code == 2 and "no recipe `sleep-cassette`" in _error(result)


def test_missing_channel_lists_the_file_channels(edf_folder, tmp_path):
    result = _invoke(
        "edf", "--source", str(edf_folder), "--channels", "Fp1", "--out", str(tmp_path / "s.zarr")
    )
    assert result.exit_code == 1
    assert "no channel `Fp1` in sub0.edf; it has: EEG C3-A2, EOG" in _error(result)
    assert "recordings skipped" in result.stdout


@pytest.mark.parametrize("case", ["truncated", "corrupt", "short"])
def test_bad_edf_is_skipped_listed_and_exits_1(edf_folder, tmp_path, case):
    if case == "truncated":
        whole = (edf_folder / "sub0.edf").read_bytes()
        (edf_folder / "bad.edf").write_bytes(whole[: len(whole) - 5000])
        expected = "bad.edf is truncated"
    elif case == "corrupt":
        (edf_folder / "bad.edf").write_bytes(b"\x00garbage" * 100)
        expected = "cannot read bad.edf"
    else:
        _edf(edf_folder / "bad.edf", 25.0)
        expected = "bad: recording is 25.0 s long, shorter than one 30-s window"
    out = tmp_path / "s.zarr"
    result = _invoke("edf", "--source", str(edf_folder), "--channels", "C3-A2", "--out", str(out))
    assert result.exit_code == 1
    assert _error(result).startswith("error: 1 recording skipped") and expected in result.stderr
    assert "bad" in result.stdout  # the skipped table
    from cwtmae_cli.data.store.schema import open_store

    assert len(open_store(out)) == 9  # the good recordings were written
    strict = _invoke(
        "edf",
        "--source",
        str(edf_folder),
        "--channels",
        "C3-A2",
        "--out",
        str(tmp_path / "t.zarr"),
        "--strict",
    )
    assert strict.exit_code == 1 and "--strict" in _error(strict)


def test_wfdb_record_without_its_dat(tmp_path):
    import wfdb

    folder = tmp_path / "wfdb"
    folder.mkdir()
    p_signal = np.random.default_rng(0).normal(0, 0.3, (360 * 40, 2))
    wfdb.wrsamp(
        "r1",
        fs=360,
        units=["mV", "mV"],
        sig_name=["MLII", "V1"],
        p_signal=p_signal,
        fmt=["16", "16"],
        write_dir=str(folder),
    )
    wfdb.wrann("r1", "atr", np.array([5]), symbol=["+"], aux_note=["(N"], write_dir=str(folder))
    (folder / "r1.dat").unlink()
    result = _invoke("mitdb-af", "--source", str(folder), "--out", str(tmp_path / "s.zarr"))
    assert result.exit_code == 1
    assert "WFDB record r1: signal file r1.dat is missing" in result.stderr


def test_everything_dropped_says_why(shared_data, tmp_path):
    result = _invoke(
        "sleep-edf", "--source", str(shared_data / "sleep-edf"), "--out", str(tmp_path / "s.zarr")
    )
    assert result.exit_code == 1
    message = _error(result)
    assert "no windows kept from 1 recording (dropped: wake-trimmed: 10)" in message
    assert "`[trim_wake] enabled = false`" in message
    assert not (tmp_path / "s.zarr").exists()  # no empty store for the next command to trip on


def test_an_overwrite_that_keeps_nothing_leaves_the_old_store_as_it_was(
    shared_data, edf_folder, tmp_path
):
    out = tmp_path / "s.zarr"
    made = _invoke("edf", "--source", str(edf_folder), "--channels", "C3-A2", "--out", str(out))
    assert made.exit_code == 0, made.stderr
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = _invoke(
        "sleep-edf", "--source", str(shared_data / "sleep-edf"), "--out", str(out), "--overwrite"
    )
    assert result.exit_code == 1 and "no windows kept" in _error(result)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edf", "s.zarr"]  # nothing aside


def test_an_overwrite_that_keeps_windows_replaces_the_store(edf_folder, tmp_path):
    out = tmp_path / "s.zarr"
    args = ["edf", "--source", str(edf_folder), "--out", str(out), "--json"]
    assert _invoke(*args, "--channels", "C3-A2").exit_code == 0
    result = _invoke(*args, "--channels", "EOG", "--overwrite")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["channels"] == ["EOG"]
    assert json.loads(result.stdout)["path"] == str(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edf", "s.zarr"]


@pytest.mark.parametrize(
    ("regex", "says"),
    [("(a)(b)", "exactly one capture group"), ("sub\\d", "it has 0"), ("(sub", "not a valid")],
)
def test_a_bad_subject_regex_is_a_usage_error_before_anything_is_read(tmp_path, regex, says):
    nowhere = str(tmp_path / "nowhere")
    result = _invoke("edf", "--source", nowhere, "--channels", "C3-A2", "--subject-regex", regex)
    assert result.exit_code == 2
    assert f"--subject-regex `{regex}`" in _error(result) and says in _error(result)
    assert not (tmp_path / "stores").exists()


def test_a_recipe_subject_regex_is_checked_too(edf_folder, tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('extends = "edf"\n[source]\nsubject_regex = "sub"\n')
    result = _invoke(str(recipe), "--source", str(edf_folder), "--channels", "C3-A2")
    assert result.exit_code == 1
    assert "`source.subject_regex` must have exactly one capture group" in _error(result)


def test_summary_lists_subjects_per_split_and_states_resampling(edf_folder, tmp_path):
    result = _invoke(
        "edf",
        "--source",
        str(edf_folder),
        "--channels",
        "C3-A2",
        "--out",
        str(tmp_path / "s.zarr"),
        "--subject-regex",
        "^(sub)",
    )
    assert result.exit_code == 0, result.stderr
    assert "train subjects: sub\n" in result.stdout
    assert "resampled 256 Hz → 100 Hz: 3 recordings (sub0, sub1, sub2)" in result.stdout
    assert "the validation split is empty: only 1 subject with windows" in result.stderr


def test_a_second_prepare_refuses_while_the_first_holds_the_lock(edf_folder, tmp_path):
    out = tmp_path / "s.zarr"
    script = (
        "import time; from cwtmae_cli.data.store.lock import StoreLock; "
        f"StoreLock({str(out)!r}).acquire(); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = _invoke("edf", "--source", str(edf_folder), "--channels", "C3", "--out", str(out))
        assert result.exit_code == 1
        busy = f"is being written by another `cwtmae prepare` (pid {holder.pid} on"
        assert busy in _error(result)
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()


def _committed(store: Path) -> tuple[int, bool]:
    try:
        attrs = json.loads((store / "zarr.json").read_text())["attributes"]
    except (OSError, ValueError, KeyError):
        return 0, False
    return len(attrs.get("recordings", [])), bool(attrs.get("complete"))


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_equals_an_uninterrupted_run(tmp_path):
    folder = tmp_path / "src"
    for i in range(10):
        _edf(folder / f"rec{i:02d}.edf", 1800.0, seed=i)  # 30 min at 256 Hz each
    args = ["edf", "--source", str(folder), "--channels", "C3-A2,EOG"]
    killed = tmp_path / "killed.zarr"
    cmd = [sys.executable, "-m", "cwtmae_cli", "prepare", *args, "--out", str(killed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _committed(killed)[0] < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_done, complete = _committed(killed)
    assert proc.returncode == -signal.SIGKILL and not complete, "prepare ended before the kill"
    assert (killed.parent / "killed.zarr.lock").exists()  # left behind by the dead writer
    assert 2 <= _committed(killed)[0] < 10
    rerun = _invoke(*args, "--out", str(killed), "--json")  # takes over the stale lock
    assert rerun.exit_code == 0, rerun.stderr
    assert json.loads(rerun.stdout)["recordings_resumed"] >= 2
    whole = tmp_path / "whole.zarr"
    assert _invoke(*args, "--out", str(whole)).exit_code == 0
    from cwtmae_cli.data.store.schema import open_store

    a, b = open_store(killed), open_store(whole)
    assert [(r["id"], r["n_windows"]) for r in a.recordings] == [
        (r["id"], r["n_windows"]) for r in b.recordings
    ]
    for name in ("signals", "labels", "recording", "start_s", "split"):
        np.testing.assert_array_equal(getattr(a, name)[:], getattr(b, name)[:], err_msg=name)
    stamps = {"created_utc", "updated_utc"}
    assert {k: v for k, v in a.attrs.items() if k not in stamps} == {
        k: v for k, v in b.attrs.items() if k not in stamps
    }
    assert len(a) == 10 * 60


def test_sleep_edf_without_source_looks_in_mne_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MNE_DATASETS_SLEEP_PHYSIONET_PATH", str(tmp_path / "mne"))
    result = _invoke("sleep-edf", "--out", str(tmp_path / "s.zarr"))
    assert result.exit_code == 1
    message = _error(result)
    assert f"no sleep-edf data in {tmp_path / 'mne' / 'physionet-sleep-data'}" in message
    assert "--source DIR or --download" in message
    result = _invoke("edf", "--channels", "C3", "--out", str(tmp_path / "t.zarr"))
    assert result.exit_code == 2 and "recipe `edf` needs --source DIR" in _error(result)


def _link_mitdb(shared_data: Path, folder: Path, records: tuple[str, ...]) -> Path:
    folder.mkdir(parents=True)
    for record in records:
        for ext in ("hea", "dat", "atr"):
            (folder / f"{record}.{ext}").symlink_to(shared_data / "mitdb-full" / f"{record}.{ext}")
    return folder


def test_fallback_lead_is_announced_in_the_summary(shared_data, tmp_path):
    source = _link_mitdb(shared_data, tmp_path / "src", ("102", "114"))
    args = ["mitdb-af", "--source", str(source), "--out", str(tmp_path / "s.zarr")]
    result = runner.invoke(app, ["prepare", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert "channel MLII: MLII in 1 recording, V5 in 1" in result.stdout
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert [line for line in warning if "channel" in line] == [
        "warning: 1 recording has no channel MLII; its first channel was read instead: 102 (V5)"
    ]  # (the others say that 2 subjects leave the validation and test splits empty)
    result = runner.invoke(app, ["prepare", *args, "--json"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["channels_read"][0]["fallback"] == [
        {"id": "102", "channel": "V5"}
    ]
    assert "102 (V5)" in result.stderr


@pytest.mark.parametrize("channels", ["C3,,EOG", "C3|", "C3,"])
def test_an_empty_channel_slot_is_a_usage_error(edf_folder, tmp_path, channels):
    result = _invoke("edf", "--source", str(edf_folder), "--channels", channels)
    assert result.exit_code == 2 and "--channels" in _error(result)
    assert not (tmp_path / "stores").exists()


def test_a_slot_with_alternatives_reads_the_first_present_one(edf_folder, tmp_path):
    out = tmp_path / "alt.zarr"
    result = _invoke(
        "edf", "--source", str(edf_folder), "--channels", "Fp1|C3-A2, EOG", "--out", str(out)
    )
    assert result.exit_code == 0, result.stderr
    from cwtmae_cli.data.store.schema import open_store

    store = open_store(out)
    assert store.channels == ["Fp1|C3-A2", "EOG"]
    assert {tuple(r["file_channels"]) for r in store.recordings} == {("EEG C3-A2", "EOG")}
    result = _invoke("edf", "--source", str(edf_folder), "--channels", "Fp1|Fp2", "--strict")
    assert result.exit_code == 1
    assert "no channel `Fp1|Fp2` in sub0.edf; it has: EEG C3-A2, EOG" in _error(result)
