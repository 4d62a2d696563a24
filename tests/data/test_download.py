"""`--download` for sleep-edf through MNE's fetcher (needs the internet: skipped by default)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app


@pytest.mark.network
def test_download_one_night_and_prepare_it(tmp_path):
    from cwtmae_cli.data.download import download_sleep_edf
    from cwtmae_cli.data.prepare import prepare_store
    from cwtmae_cli.data.recipes.load import load_recipe

    source = download_sleep_edf(tmp_path / "mne", subjects=[0], recordings=[1])
    assert sorted(p.name for p in source.glob("SC4001*")) == [
        "SC4001E0-PSG.edf",
        "SC4001EC-Hypnogram.edf",
    ]
    summary = prepare_store(load_recipe("sleep-edf"), source, tmp_path / "s.zarr")
    # SC4001E0: 841 scored epochs; wake trimmed to 30 min either side of sleep.
    assert summary["n_windows"] > 800 and summary["splits"]["train"]["per_class"]["N2"] > 200


def test_download_is_for_sleep_edf_only(tmp_path):
    result = CliRunner().invoke(
        app, ["prepare", "mitdb-af", "--download", "--out", str(tmp_path / "s.zarr")]
    )
    assert result.exit_code == 2 and "--download works for sleep-edf only" in result.stderr
