"""The prepare pipeline: real recordings, resume, workers, lock, settings and bad recordings."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from cwtmae_cli.data.prepare import prepare_store, summary_problem
from cwtmae_cli.data.readers.dispatch import read_recording
from cwtmae_cli.data.recipes.load import load_recipe
from cwtmae_cli.data.recipes.recipe import with_overrides
from cwtmae_cli.data.store.lock import StoreLock, lock_path_for
from cwtmae_cli.data.store.schema import open_store
from cwtmae_cli.errors import DataError, StoreError

from .conftest import write_mne_edf


@pytest.fixture(scope="module")
def mitdb_store(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("mitdb") / "mitdb-af.zarr"
    summary = prepare_store(load_recipe("mitdb-af"), shared_data / "mitdb", out)
    return out, summary


@pytest.mark.slow
def test_mitdb_af_windows_labels_and_subject_split(mitdb_store, shared_data):
    out, summary = mitdb_store
    assert summary_problem(summary) is None and summary["recordings_written"] == 6
    store = open_store(out)
    assert store.signals.shape == (360, 1, 3000) and store.channels == ["MLII"]
    assert store.label_names == ["non-AF", "AF"] and store.fs_hz == 100.0
    recording, labels = store.recording[:], store.labels[:]
    start_s, split = store.start_s[:], store.split[:]
    for index, rec in enumerate(store.recordings):
        mine = recording == index
        assert mine.sum() == 60 and rec["n_windows"] == 60 and rec["subject"] == rec["id"]
        assert len(set(split[mine])) == 1  # one subject, one split
        raw = read_recording(shared_data / "mitdb" / rec["id"], ["MLII"])
        for s, label in zip(start_s[mine], labels[mine], strict=True):
            cover = {}
            for iv in raw.intervals:
                overlap = min(s + 30, iv.end_s) - max(s, iv.onset_s)
                if overlap > 0:
                    cover[iv.label] = cover.get(iv.label, 0) + overlap
            rhythm = max(cover, key=cover.get)
            assert label == (1 if rhythm in ("(AFIB", "(AFL") else 0), (rec["id"], s, cover)
    af_windows = {
        r["id"]: int(labels[recording == i].sum()) for i, r in enumerate(store.recordings)
    }
    assert af_windows["100"] == af_windows["101"] == 0
    assert af_windows["203"] == 60 and 18 <= af_windows["201"] <= 22  # 10.1 min of AFIB
    assert set(np.unique(split)) == {0, 1, 2}
    # The MLII signal is in mV at 100 Hz: QRS peaks of about 1 mV.
    assert 0.5 < float(np.abs(store.signals[0:60, 0, :]).max()) < 5


def test_sleep_edf_real_recording_with_and_without_wake_trimming(shared_data, tmp_path):
    source = shared_data / "sleep-edf"
    summary = prepare_store(load_recipe("sleep-edf"), source, tmp_path / "a.zarr")
    assert summary["n_windows"] == 0 and summary["dropped"] == {"wake-trimmed": 10}
    assert not (tmp_path / "a.zarr").exists() and summary["path"] is None  # no empty store
    problem = summary_problem(summary)
    assert "no windows kept" in problem and "wake-trimmed: 10" in problem
    assert "enabled = false" in problem and problem.endswith("; no store was written")
    recipe_path = tmp_path / "no-trim.toml"
    recipe_path.write_text('extends = "sleep-edf"\n[trim_wake]\nenabled = false\n')
    summary = prepare_store(load_recipe(recipe_path), source, tmp_path / "b.zarr")
    store = open_store(tmp_path / "b.zarr")
    assert store.signals.shape == (10, 1, 3000) and store.channels == ["EEG Fpz-Cz"]
    assert store.labels[:].tolist() == [0] * 10  # all W
    np.testing.assert_array_equal(store.start_s[:], np.arange(10) * 30.0)
    assert summary["splits"]["train"]["per_class"]["W"] == 10
    assert store.recordings[0]["subject"] == "00"
    assert store.recordings[0]["source_files"] == ["SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf"]
    raw = read_recording(source / "SC4001E0-PSG.edf", ["EEG Fpz-Cz"])
    np.testing.assert_allclose(store.signals[3, 0], raw.signal[0, 9000:12000])


def _stop_after(n_committed: int):
    def progress(n_done, n_total, n_windows, rec_id):
        if n_done >= n_committed:
            raise KeyboardInterrupt

    return progress


def _assert_same_store(a, b):
    sa, sb = open_store(a), open_store(b)
    for name in ("signals", "labels", "recording", "start_s", "split"):
        np.testing.assert_array_equal(getattr(sa, name)[:], getattr(sb, name)[:], err_msg=name)
    skip = {"created_utc", "updated_utc"}
    assert {k: v for k, v in sa.attrs.items() if k not in skip} == {
        k: v for k, v in sb.attrs.items() if k not in skip
    }


def test_interrupted_prepare_resumes_to_the_same_store(edf_folder, tmp_path):
    recipe = with_overrides(load_recipe("edf"), channels=["C3-A2"])
    whole = tmp_path / "whole.zarr"
    prepare_store(recipe, edf_folder, whole)
    part = tmp_path / "part.zarr"
    with pytest.raises(KeyboardInterrupt):
        prepare_store(recipe, edf_folder, part, progress=_stop_after(2))
    assert not lock_path_for(part).exists()
    interrupted = open_store(part)
    assert [r["id"] for r in interrupted.recordings] == ["sub0", "sub1"]
    assert not interrupted.complete and len(interrupted) == 8
    summary = prepare_store(recipe, edf_folder, part)
    assert summary["recordings_resumed"] == 2 and summary["recordings_written"] == 2
    _assert_same_store(whole, part)
    again = prepare_store(recipe, edf_folder, part)  # nothing left to do
    assert again["recordings_written"] == 0 and again["n_windows"] == 16


@pytest.mark.slow
def test_workers_write_the_same_store_as_one_process(edf_folder, tmp_path):
    recipe = with_overrides(load_recipe("edf"), channels=["C3-A2", "EOG"])
    prepare_store(recipe, edf_folder, tmp_path / "one.zarr", workers=1)
    prepare_store(recipe, edf_folder, tmp_path / "two.zarr", workers=2)
    _assert_same_store(tmp_path / "one.zarr", tmp_path / "two.zarr")
    assert open_store(tmp_path / "two.zarr").signals.shape == (16, 2, 3000)


def test_lock_refuses_a_second_writer_and_takes_over_a_stale_one(edf_folder, tmp_path):
    recipe = with_overrides(load_recipe("edf"), channels=["C3-A2"])
    out = tmp_path / "s.zarr"
    lock = lock_path_for(out)
    holder = StoreLock(out)
    holder.acquire()  # a live writer (flock is per open file, so this process can contend too)
    try:
        busy = rf"being written by another `cwtmae prepare` \(pid {os.getpid()} on"
        with pytest.raises(StoreError, match=busy):
            prepare_store(recipe, edf_folder, out)
    finally:
        holder.release()
    # A writer killed with SIGKILL leaves its file behind but the kernel drops its flock: free.
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock.write_text(f'{{"pid": {dead.pid}, "host": "{os.uname().nodename}"}}')
    assert prepare_store(recipe, edf_folder, out)["n_windows"] == 16
    assert not lock.exists()


def test_lock_of_a_killed_process_is_released_by_the_kernel(tmp_path):
    out = tmp_path / "s.zarr"
    script = (
        "import os, sys, time; from cwtmae_cli.data.store.lock import StoreLock; "
        f"StoreLock({str(out)!r}).acquire(); print('held', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(StoreError, match=rf"pid {child.pid} on {os.uname().nodename}"):
            StoreLock(out).acquire()
    finally:
        child.kill()
        child.wait()
    with StoreLock(out):  # the SIGKILLed holder's lock is gone with it
        assert lock_path_for(out).exists()
    assert not lock_path_for(out).exists()


def test_other_settings_refuse_to_resume_until_overwrite(edf_folder, tmp_path):
    out = tmp_path / "s.zarr"
    prepare_store(with_overrides(load_recipe("edf"), channels=["C3-A2"]), edf_folder, out)
    other = with_overrides(load_recipe("edf"), channels=["EOG"])
    with pytest.raises(StoreError, match=r"other settings \(differs in: signal\).*--overwrite"):
        prepare_store(other, edf_folder, out)
    prepare_store(other, edf_folder, out, overwrite=True)
    assert open_store(out).channels == ["EOG"]


def test_bad_recordings_are_skipped_and_listed_or_stop_strict_runs(edf_folder, tmp_path):
    write_mne_edf(edf_folder / "short.edf", 20.0)
    whole = (edf_folder / "sub1.edf").read_bytes()
    (edf_folder / "cut.edf").write_bytes(whole[: len(whole) // 2])
    recipe = with_overrides(load_recipe("edf"), channels=["C3-A2"])
    summary = prepare_store(recipe, edf_folder, tmp_path / "s.zarr")
    reasons = {s["id"]: s["reason"] for s in summary["skipped"]}
    assert set(reasons) == {"cut", "short"}
    assert "cut.edf is truncated" in reasons["cut"]
    assert "shorter than one 30-s window" in reasons["short"]
    assert summary["n_windows"] == 16 and summary["recordings_written"] == 4
    assert summary_problem(summary).startswith("2 recordings skipped")
    assert open_store(tmp_path / "s.zarr").attrs["skipped"] == summary["skipped"]
    with pytest.raises(DataError, match="cut.edf is truncated.*--strict"):
        prepare_store(recipe, edf_folder, tmp_path / "t.zarr", strict=True)
    assert not (tmp_path / "t.zarr").exists()  # stopped at the first recording: nothing made


def test_missing_and_empty_sources(tmp_path):
    recipe = with_overrides(load_recipe("edf"), channels=["C3-A2"])
    with pytest.raises(DataError, match="source folder .*nowhere does not exist"):
        prepare_store(recipe, tmp_path / "nowhere", tmp_path / "s.zarr")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no recordings matching \*.edf.*check --source"):
        prepare_store(recipe, tmp_path / "empty", tmp_path / "s.zarr")
    assert not (tmp_path / "s.zarr").exists()


@pytest.mark.slow
def test_mitdb_split_is_class_aware_and_says_what_it_could_not_do(mitdb_store):
    """AF is in 201 and 203 only: they go to train and validation (two holders, three splits),
    never both to train, and the summary names the split left without AF."""
    out, summary = mitdb_store
    split_of = {r["id"]: r["split"] for r in open_store(out).recordings}
    assert {split_of["201"], split_of["203"]} == {0, 1}
    assert summary["splits"]["validation"]["per_class"]["AF"] > 0
    assert summary["splits"]["test"]["missing_classes"] == ["AF"]
    assert summary["splits"]["train"]["missing_classes"] == []
    assert summary["subjects_per_class"]["AF"] == ["201", "203"]
    subjects = {name: summary["splits"][name]["subjects"] for name in summary["splits"]}
    assert sorted(sum(subjects.values(), [])) == ["100", "101", "106", "119", "201", "203"]
    assert summary["resampled"] == [
        {"fs_hz_in": 360.0, "n_recordings": 6, "recordings": sorted(split_of)}
    ]


@pytest.mark.slow
def test_interrupted_mitdb_prepare_resumes_to_the_same_class_aware_split(
    mitdb_store, shared_data, tmp_path
):
    """The split needs every recording's label counts: killed after the 4 records without AF,
    the store is unusable until the rerun, which assigns what the uninterrupted run did."""
    from cwtmae_cli.data.store.loader import WindowDataset

    whole, _ = mitdb_store
    part = tmp_path / "part.zarr"
    with pytest.raises(KeyboardInterrupt):
        prepare_store(load_recipe("mitdb-af"), shared_data / "mitdb", part, progress=_stop_after(4))
    assert (open_store(part).split[:] == -1).all()
    with pytest.raises(StoreError, match="unfinished.*rerun the same prepare command"):
        WindowDataset(part)
    summary = prepare_store(load_recipe("mitdb-af"), shared_data / "mitdb", part)
    assert summary["recordings_resumed"] == 4 and summary["subjects_moved"] == []
    _assert_same_store(whole, part)


def test_subject_regex_groups_recordings_and_refuses_ids_it_does_not_match(edf_folder, tmp_path):
    """sub0..sub3 under the regex ^(sub)\\d are one subject; ^sub([01]) cannot name sub2."""
    recipe = with_overrides(load_recipe("edf"), channels=["C3-A2"], subject_regex=r"^(sub)\d")
    summary = prepare_store(recipe, edf_folder, tmp_path / "one.zarr")
    assert summary["n_subjects"] == 1 and summary["splits"]["train"]["subjects"] == ["sub"]
    assert {r["subject"] for r in open_store(tmp_path / "one.zarr").recordings} == {"sub"}
    bad = with_overrides(load_recipe("edf"), channels=["C3-A2"], subject_regex=r"^sub([01])")
    with pytest.raises(DataError) as caught:
        prepare_store(bad, edf_folder, tmp_path / "bad.zarr")
    assert "recording id `sub2` does not match the subject regex `^sub([01])`" in str(caught.value)
    assert not (tmp_path / "bad.zarr").exists()


def test_a_finished_store_whose_source_grew_reassigns_and_names_the_moved_subjects(
    edf_folder, tmp_path
):
    recipe = with_overrides(load_recipe("edf"), channels=["C3-A2"])
    out = tmp_path / "s.zarr"
    first = prepare_store(recipe, edf_folder, out)
    assert first["subjects_moved"] == []
    old = open_store(out).attrs["subject_splits"]
    for i in range(4, 10):
        write_mne_edf(edf_folder / f"sub{i}.edf", 120.0, seed=i)
    grown = prepare_store(recipe, edf_folder, out)
    new = open_store(out).attrs["subject_splits"]
    moved = sorted(s for s in old if old[s] != new[s])
    assert moved and grown["subjects_moved"] == moved  # the seeded deal of 10 differs from 4's
    assert grown["recordings_resumed"] == 4 and grown["n_subjects"] == 10
    from cwtmae_cli.cli.inspect import split_warnings
    from cwtmae_cli.wording import plural

    said = [line for line in split_warnings(grown) if "changed split" in line]
    assert said == [
        f"the source changed since the store was finished: {plural(len(moved), 'subject')} "
        f"changed split ({', '.join(moved)}); runs trained on the old split are not comparable"
    ]
