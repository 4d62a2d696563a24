"""Short NaN gaps: bridged by linear interpolation (the same block by block as whole), counted
once, and longer ones left to drop their windows; through ``prepare`` on a WFDB record."""

from __future__ import annotations

import numpy as np
import pytest

from cwtmae_cli.data.gaps import GapFiller, fill_short_gaps, gap_samples
from cwtmae_cli.data.prepare import prepare_store
from cwtmae_cli.data.process import process_item, stream_item
from cwtmae_cli.data.recipes.load import load_recipe
from cwtmae_cli.data.recipes.recipe import with_overrides
from cwtmae_cli.data.recipes.sources import find_recordings
from cwtmae_cli.data.store.schema import open_store
from cwtmae_cli.errors import UsageError

NAN = np.nan


def test_a_short_interior_run_becomes_the_line_between_its_neighbours():
    block = np.array([[0, 1, NAN, NAN, 4, 5], [7, 7, 7, 7, 7, 7]], dtype=np.float32)
    assert fill_short_gaps(block, max_gap=2) == [(0, 2, 2)]
    np.testing.assert_array_equal(block[0], [0, 1, 2, 3, 4, 5])
    longer = np.array([[0, 1, NAN, NAN, 4, 5]], dtype=np.float32)
    assert fill_short_gaps(longer, max_gap=1) == []  # 2 samples > 1: left non-finite
    assert np.isnan(longer[0, 2:4]).all()


def test_runs_at_the_edges_have_one_neighbour_and_stay():
    block = np.array([[NAN, 1, 2, np.inf], [1, -np.inf, 3, 4]], dtype=np.float32)
    assert fill_short_gaps(block, max_gap=3) == [(1, 1, 1)]  # Inf counts as a gap too
    assert np.isnan(block[0, 0]) and np.isinf(block[0, 3]) and block[1, 1] == 2


def test_gap_length_in_samples():
    assert gap_samples(0.1, 360.0) == 36 and gap_samples(0.1, 100.0) == 10
    assert gap_samples(0.1, 300.0) == 30 and gap_samples(0.0, 360.0) == 0


def _signal_with_gaps() -> np.ndarray:
    """2 channels x 2000 samples; runs of 1, 5, 10 (short at max_gap 10) and 11, 40 (long)
    samples, some across the block edges used below, one at the very start."""
    x = np.random.default_rng(3).normal(0, 1, (2, 2000)).astype(np.float32)
    for c, start, length in [
        (0, 0, 3),
        (0, 95, 10),
        (0, 400, 1),
        (0, 698, 11),
        (1, 199, 5),
        (1, 1000, 40),
        (1, 1495, 10),
        (0, 1995, 5),
        (1, 1900, 4),  # after the last streamed read: found by count_unread
    ]:
        x[c, start : start + length] = NAN
    return x


def test_block_reads_equal_the_whole_read_bit_for_bit_and_count_each_gap_once():
    x = _signal_with_gaps()
    whole = GapFiller(lambda a, b: x[:, a:b], 2000, max_gap=10)
    expected = whole.read(0, 2000)
    assert whole.n_gaps == 5 and whole.n_samples_filled == 10 + 1 + 5 + 10 + 4
    streamed = GapFiller(lambda a, b: x[:, a:b], 2000, max_gap=10)
    edges = [50, 100, 203, 700, 1003, 1500, 1800]  # reads overlap, as resample_range's do
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        np.testing.assert_array_equal(streamed.read(a - 5, b), expected[:, a - 5 : b])
    streamed.count_unread()
    assert (streamed.n_gaps, streamed.n_samples_filled) == (whole.n_gaps, whole.n_samples_filled)
    assert np.isnan(x).sum() == 3 + 10 + 1 + 11 + 5 + 40 + 10 + 5 + 4  # the reader's data untouched
    assert np.isnan(expected).sum() == 3 + 11 + 40 + 5  # edges and long runs stay


def _wfdb_with_gaps(folder) -> None:
    """A 70-s record at 360 Hz: a 30-ms NaN run in the first window, a 0.5-s one in the second."""
    import wfdb

    folder.mkdir()
    t_s = np.arange(360 * 70) / 360
    x = (np.sin(2 * np.pi * 1.3 * t_s) + 0.1 * np.sin(2 * np.pi * 7 * t_s))[:, None]
    x[3600:3611, 0] = NAN  # 11 samples, 30.6 ms: bridged (<= 36 samples)
    x[14400:14580, 0] = NAN  # 180 samples, 0.5 s: the window stays bad
    wfdb.wrsamp(
        "g1",
        fs=360,
        units=["mV"],
        sig_name=["MLII"],
        p_signal=x,
        fmt=["16"],
        adc_gain=[1000],
        baseline=[0],
        write_dir=str(folder),
    )


def test_prepare_bridges_the_short_gap_and_drops_the_window_of_the_long_one(tmp_path):
    _wfdb_with_gaps(tmp_path / "src")
    recipe = with_overrides(load_recipe("wfdb"), channels=["MLII"])
    summary = prepare_store(recipe, tmp_path / "src", tmp_path / "s.zarr")
    store = open_store(tmp_path / "s.zarr")
    assert store.start_s[:].tolist() == [0.0]  # window 2 (30-60 s) held the long gap
    assert np.isfinite(store.signals[:]).all()
    assert summary["dropped"] == {"non-finite": 1}
    assert summary["gaps_interpolated"] == {
        "n_gaps": 1,
        "n_samples": 11,
        "recordings": ["g1"],
        "max_gap_s": 0.1,
    }
    rec = store.recordings[0]
    assert (rec["gaps_interpolated"], rec["gap_samples_interpolated"]) == (1, 11)
    off = prepare_store(with_overrides(recipe, max_gap_s=0), tmp_path / "src", tmp_path / "t.zarr")
    assert off["n_windows"] == 0 and off["dropped"] == {"non-finite": 2}
    assert off["gaps_interpolated"]["n_gaps"] == 0


def test_streamed_and_whole_processing_bridge_alike(tmp_path):
    _wfdb_with_gaps(tmp_path / "src")
    recipe = with_overrides(load_recipe("wfdb"), channels=["MLII"], max_gap_s=1.0)
    (item,) = find_recordings(recipe, tmp_path / "src")
    whole = process_item(item, recipe)
    parts = []
    info = stream_item(item, recipe, lambda *p: parts.append(p), block_windows=1)
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), whole.signals)
    assert info == whole.info and info["gaps_interpolated"] == 2
    assert len(whole.signals) == 2 and np.isfinite(whole.signals).all()


def test_max_gap_is_checked():
    with pytest.raises(UsageError, match="--max-gap-s must be in"):
        with_overrides(load_recipe("wfdb"), max_gap_s=-1)


def test_prepare_states_the_gaps_it_bridged_and_refuses_a_negative_max_gap(tmp_path):
    from typer.testing import CliRunner

    from cwtmae_cli.cli.app import app

    _wfdb_with_gaps(tmp_path / "src")
    args = ["prepare", "wfdb", "--source", str(tmp_path / "src"), "--channels", "MLII"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "s.zarr")])
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "interpolated 1 gap of NaN/Inf samples of at most 0.1 s (11 samples in all)" in text
    assert "resampled 360 Hz → 100 Hz: 1 recording (g1)" in text
    bad = CliRunner().invoke(app, [*args, "--max-gap-s", "-1", "--out", str(tmp_path / "t.zarr")])
    assert bad.exit_code == 2 and "--max-gap-s must be in [0, 60] seconds" in bad.stderr
    assert not (tmp_path / "t.zarr").exists()
