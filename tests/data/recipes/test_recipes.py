"""Recipes: built-ins, validation naming the key, `extends`, and shipping inside the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cwtmae_cli.data.recipes.load import BUILTIN, builtin_dir, load_recipe
from cwtmae_cli.data.recipes.recipe import with_overrides
from cwtmae_cli.errors import RecipeError, UsageError

ROOT = Path(__file__).resolve().parents[3]


def test_builtin_recipes_load_with_their_label_maps():
    sleep = load_recipe("sleep-edf")
    assert sleep.format == "edf" and sleep.signal.channels == ("EEG Fpz-Cz",)
    assert (sleep.signal.fs_hz, sleep.signal.window_s) == (100.0, 30.0)
    assert sleep.label_names == ["W", "N1", "N2", "N3", "REM"]
    assert sleep.labels.map["Sleep stage 3"] == sleep.labels.map["Sleep stage 4"] == "N3"
    assert set(sleep.labels.drop) == {"Sleep stage ?", "Movement time"}
    assert sleep.trim_wake.minutes == 30 and sleep.trim_wake.enabled
    af = load_recipe("mitdb-af")
    assert af.label_names == ["non-AF", "AF"] and af.labels.unmapped == "non-AF"
    assert af.labels.map == {"(AFIB": "AF", "(AFL": "AF"}
    assert af.signal.channels == ("MLII",) and af.signal.first_channel_fallback
    for name in ("edf", "wfdb"):
        assert load_recipe(name).labels is None
    assert sorted(p.stem for p in builtin_dir().glob("*.toml")) == sorted(BUILTIN)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('format = "edf"\n[signal]\nchanels = ["a"]\n', "unknown key `signal.chanels`"),
        ('format = "edf"\ncolour = 1\n', "unknown key `colour`"),
        ('format = "edf"\n[signal]\nfs_hz = -5\n', "`signal.fs_hz` must be > 0"),
        ('format = "edf"\n[signal]\nfs_hz = "fast"\n', "`signal.fs_hz` must be a number"),
        ('format = "csv"\n', "`format` must be"),
        ('format = "edf"\n[labels]\nnames = ["a"]\n[labels.map]\nX = "b"\n', "`labels.map.X`"),
        ('format = "edf"\n[split]\nfractions = [0.5, 0.5]\n', "`split.fractions` must be"),
        ('format = "edf"\n[signal]\nwindow_s = 0.015\n', "`signal.window_s`"),
        ('format = "edf"\n[trim_wake]\nwake = "W"\n', "`trim_wake.wake`"),
        ('format = "edf"\n[source]\nannotations = "maybe"\n', "`source.annotations`"),
        ('format = "edf"\n[source]\nepoch_s = 0\n', "`source.epoch_s` must be > 0"),
        ("format = \n", "not valid TOML"),
        ('format = "wfdb"\n[signal]\nchannels = ["V1||V2"]\n', "`signal.channels` has a bad"),
    ],
)
def test_bad_recipes_name_the_key(tmp_path, text, message):
    with pytest.raises(RecipeError, match=message.replace("[", r"\[")):
        load_recipe(_write(tmp_path, text))


def test_unknown_recipe_name_and_missing_file():
    with pytest.raises(RecipeError, match="no recipe `sleepedf`: built-in recipes are sleep-edf"):
        load_recipe("sleepedf")
    with pytest.raises(RecipeError, match="does not exist") as missing:
        load_recipe("nowhere/mine.toml")
    assert missing.value.exit_code == 2  # naming nothing is a usage error


def test_a_bad_extends_is_the_recipe_files_error_not_a_usage_error(tmp_path):
    with pytest.raises(RecipeError, match="no recipe `nosuch`") as bad:
        load_recipe(_write(tmp_path, 'extends = "nosuch"\n'))
    assert bad.value.exit_code == 1


def test_extends_overrides_some_keys(tmp_path):
    path = _write(
        tmp_path,
        'extends = "sleep-edf"\n[trim_wake]\nenabled = false\n[signal]\nchannels = ["EEG Pz-Oz"]\n',
    )
    recipe = load_recipe(path)
    assert recipe.name == "mine" and not recipe.trim_wake.enabled
    assert recipe.signal.channels == ("EEG Pz-Oz",) and recipe.signal.fs_hz == 100.0
    assert recipe.labels == load_recipe("sleep-edf").labels


def test_channel_slots_with_alternatives_in_a_recipe(tmp_path):
    path = _write(tmp_path, 'extends = "mitdb-af"\n[signal]\nchannels = ["MLII", "V1 | V2|V5"]\n')
    assert load_recipe(path).signal.channels == ("MLII", "V1|V2|V5")


def test_command_line_overrides():
    recipe = with_overrides(
        load_recipe("mitdb-af"), channels=["V1"], fs_hz=128, window_s=10, seed=7
    )
    assert recipe.signal.channels == ("V1",) and recipe.signal.fs_hz == 128.0
    assert recipe.signal.window_s == 10.0 and recipe.seed == 7
    with pytest.raises(UsageError, match="--fs must be > 0"):
        with_overrides(recipe, fs_hz=0)
    with pytest.raises(UsageError, match="--fs/--window-s: .*not a whole number of samples"):
        with_overrides(recipe, fs_hz=7, window_s=0.5)
    assert recipe.to_dict()["signal"]["channels"] == ["V1"]


def test_package_folder_holds_the_top_level_recipes():
    for path in (ROOT / "datasets").glob("*.toml"):
        assert (builtin_dir() / path.name).read_text() == path.read_text()
    assert "datasets/*.toml" in (ROOT / "pyproject.toml").read_text()


@pytest.mark.slow
def test_wheel_ships_the_builtin_recipes(tmp_path):
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    src = tmp_path / "src"  # build from a copy, so the checkout gets no build/ folder
    shutil.copytree(ROOT / "datasets", src / "datasets")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "cwtmae_cli", src / "cwtmae_cli", symlinks=True, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    assert (src / "cwtmae_cli" / "datasets").is_symlink()
    out = tmp_path / "wheel"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        str(src),
        "-w",
        str(out),
        "--no-deps",
        "--no-build-isolation",
        "-q",
    ]
    subprocess.run(cmd, check=True, cwd=tmp_path, capture_output=True, timeout=300)
    (wheel,) = out.glob("cwtmae-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in BUILTIN:
        assert f"cwtmae_cli/datasets/{name}.toml" in names
