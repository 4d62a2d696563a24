"""What the commands print about one of something says "1 recording", never "1 recordings" or
"recording(s)"."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from cwtmae_cli.cli.app import app

runner = CliRunner()
# ("1/1 recordings" in a progress line is a ratio, not a count of one)
WRONG = re.compile(r"(?<![/\d.])1 (recordings|subjects|windows|gaps)\b|\((s|es)\)")


def test_a_store_of_one_recording(shared_data: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for suffix in ("hea", "dat", "atr"):
        (src / f"201.{suffix}").symlink_to(shared_data / "mitdb" / f"201.{suffix}")
    store = tmp_path / "s.zarr"
    args = ["prepare", "mitdb-af", "--source", str(src), "--out", str(store)]
    first = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert first.exit_code == 0, first.output
    assert "from 1 recording of 1 subject" in first.stdout
    again = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert "resumed: 1 recording was already in the store" in again.stderr
    shown = runner.invoke(app, ["inspect", str(store)], env={"COLUMNS": "250"})
    assert "from 1 recording of 1 subject" in shown.stdout
    for result in (first, again, shown):
        assert not WRONG.search(result.output), result.output
