"""Windows follow the hypnogram's epoch grid when its first annotation does not start at 0 s."""

from __future__ import annotations

import numpy as np
import pytest

from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.data.process import process_item, stream_item
from cwtmae_cli.data.readers.dispatch import read_recording
from cwtmae_cli.data.recipes.load import load_recipe
from cwtmae_cli.data.recipes.sources import SourceItem
from cwtmae_cli.data.resample import resample

# scoring starts 37 s into the recording: epochs at 37, 67, ...; the grid is offset 7 s from 0
HYPNOGRAM = [(37.0, 90.0, "Sleep stage W"), (127.0, 120.0, "Sleep stage 2"),
             (247.0, 53.0, "Sleep stage R")]


@pytest.fixture(params=[100.0, 200.0], ids=["100Hz", "200Hz-resampled"])
def offset_night(request, tmp_path) -> tuple[SourceItem, float]:
    fs_hz = request.param
    rng = np.random.default_rng(0)
    n = int(300 * fs_hz)
    eeg = 20 * np.sin(2 * np.pi * 3 * np.arange(n) / fs_hz) + rng.normal(0, 5, n)
    psg = write_edf(tmp_path / "SC4001E0-PSG.edf", eeg[None], fs_hz, ["EEG Fpz-Cz"])
    hyp = write_edf(tmp_path / "SC4001EC-Hypnogram.edf", [], [], [], annotations=HYPNOGRAM)
    return SourceItem("SC4001E0", "00", psg, hyp), fs_hz


def test_windows_start_on_the_epoch_grid_and_carry_their_epoch_label(offset_night):
    item, fs_hz = offset_night
    recipe = load_recipe("sleep-edf")
    out = process_item(item, recipe)
    # [7, 37) is before scoring (uncovered: dropped); [277, 307) is not a whole window
    np.testing.assert_array_equal(out.start_s, 37.0 + 30.0 * np.arange(8))
    w, n1, n2, n3, rem = range(5)
    assert out.labels.tolist() == [w, w, w, n2, n2, n2, n2, rem]
    assert out.info["n_windows_cut"] == 9 and sum(out.info["dropped"].values()) == 1
    raw = read_recording(item.path, ["EEG Fpz-Cz"])
    signal = resample(raw.signal, raw.fs_hz, 100.0)  # (1, 30000)
    for window, start_s in zip(out.signals, out.start_s, strict=True):
        first = int(round(start_s * 100))
        np.testing.assert_allclose(window, signal[:, first:first + 3000], rtol=1e-5, atol=1e-4)


def test_streamed_windows_follow_the_same_grid(offset_night):
    item, _ = offset_night
    recipe = load_recipe("sleep-edf")
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    stream_item(item, recipe, lambda *part: parts.append(part), block_windows=2)
    whole = process_item(item, recipe)
    signals, labels, start_s = (np.concatenate(a) for a in zip(*parts, strict=True))
    np.testing.assert_array_equal(start_s, whole.start_s)
    np.testing.assert_array_equal(labels, whole.labels)
    np.testing.assert_array_equal(signals, whole.signals)
