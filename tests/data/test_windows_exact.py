"""Window quality control, exactly: per channel, and the recipe's ``flat_ptp`` in ``prepare``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from cwtmae_cli.data.edf_writer import write_edf
from cwtmae_cli.data.process import process_item
from cwtmae_cli.data.recipes.load import load_recipe
from cwtmae_cli.data.recipes.recipe import with_overrides
from cwtmae_cli.data.recipes.sources import SourceItem
from cwtmae_cli.data.windows import quality_reasons


def test_one_flat_channel_makes_the_window_flat() -> None:
    t = np.arange(100) / 100.0
    live = np.sin(2 * np.pi * 5 * t)  # (L,)
    windows = np.stack([
        np.stack([live, live]),  # both channels live
        np.stack([live, np.full(100, 3.0)]),  # second lead disconnected (a constant)
        np.stack([np.zeros(100), live]),  # first lead all zeros
    ]).astype(np.float32)  # (3, 2, 100)
    assert quality_reasons(windows) == [None, "flat", "flat"]
    assert quality_reasons(windows, flat_ptp=1.5) == [None, "flat", "flat"]  # live ptp is 2
    assert quality_reasons(windows, flat_ptp=2.0) == ["flat", "flat", "flat"]  # ptp <= flat_ptp


def test_prepare_drops_windows_below_the_recipes_flat_ptp(tmp_path: Path) -> None:
    """Four 30-s windows at 100 Hz, peak-to-peak 100, 4, 100 and 100 uV: a recipe with
    ``flat_ptp = 10`` drops the second one as flat; the default (0) keeps all four."""
    t = np.arange(3000) / 100.0
    amplitude = np.repeat([50.0, 2.0, 50.0, 50.0], 3000)  # (4 * 3000,) half the ptp, in uV
    signal = amplitude * np.sin(2 * np.pi * 3 * np.tile(t, 4))
    path = write_edf(tmp_path / "rec.edf", signal[None, :], 100.0, ["EEG"], units="uV")
    item = SourceItem("rec", "rec", path)
    recipe = with_overrides(load_recipe("edf"), channels=["EEG"])
    kept_all = process_item(item, recipe)
    assert kept_all.start_s.tolist() == [0.0, 30.0, 60.0, 90.0]
    ptp = np.ptp(kept_all.signals[:, 0], axis=-1)  # (4,) in the reader's physical units
    assert ptp[1] < ptp.min(initial=np.inf, where=np.arange(4) != 1) / 10
    strict = process_item(item, replace(recipe, flat_ptp=float(ptp[1] * 2)))
    assert strict.start_s.tolist() == [0.0, 60.0, 90.0]
    assert strict.info["dropped"] == {"flat": 1}
