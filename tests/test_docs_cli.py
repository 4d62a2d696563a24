"""docs/cli.md tells the truth: every command and option of ``--help`` is documented, and the
page names no command or option that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app

CLI_MD = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
runner = CliRunner()


def _root():
    return typer.main.get_command(app)


def _options(command) -> set[str]:
    names = set()
    for param in command.params:
        if param.param_type_name == "option":
            names.update(n for n in (*param.opts, *param.secondary_opts) if n.startswith("--"))
    return names


def _sections() -> dict[str, str]:
    """``## cwtmae <name>`` heading -> its text; the text before the first such heading is ''."""
    text = CLI_MD.read_text(encoding="utf-8")
    parts = re.split(r"^## `?cwtmae ([a-z-]+)", text, flags=re.MULTILINE)
    sections = {"": parts[0]}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        sections[name] = body
    return sections


def _commands() -> dict:
    return dict(_root().commands)


def test_every_command_has_a_section_and_every_section_a_command() -> None:
    sections = set(_sections()) - {""}
    assert sections == set(_commands()), "docs/cli.md sections differ from the app's commands"


def _table_options(text: str) -> set[str]:
    """Options that head a row of an option table (``| `--name` | ...``)."""
    rows = re.findall(r"^\| (`--.*?) \|", text, flags=re.MULTILINE)
    return {option for row in rows for option in OPTION.findall(row)}


def _all_options() -> set[str]:
    return set().union(_options(_root()), *(_options(c) for c in _commands().values()))


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_options_are_documented_and_documented_options_exist(name: str) -> None:
    command = _commands()[name]
    result = runner.invoke(app, [name, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    in_help = _options(command) - {"--help"}
    for option in in_help:  # what click knows is what --help prints
        assert option in result.output, f"{option} missing from `cwtmae {name} --help`"
    body = _sections()[name]
    table = _table_options(body)
    missing = in_help - table
    assert not missing, f"`cwtmae {name}` options not in its docs/cli.md table: {sorted(missing)}"
    unknown = table - in_help
    assert not unknown, f"docs/cli.md lists options `cwtmae {name}` lacks: {sorted(unknown)}"
    for argument in (p for p in command.params if p.param_type_name == "argument"):
        assert argument.name.upper() in body, f"argument {argument.name.upper()} undocumented"


def test_every_option_the_prose_names_exists_somewhere() -> None:
    named = set(OPTION.findall(CLI_MD.read_text(encoding="utf-8"))) - {"--help"}
    unknown = named - _all_options()
    assert not unknown, f"docs/cli.md names options no command has: {sorted(unknown)}"


def test_global_options_are_documented() -> None:
    table = _table_options(_sections()[""])
    assert table == _options(_root()) - {"--help"}


@pytest.mark.parametrize("name", sorted(_commands()))
def test_documented_defaults_are_the_real_ones(name: str) -> None:
    rows = re.findall(r"^\| `(--[a-z0-9-]+)`[^|]* \| `([^`]*)` \|", _sections()[name], re.MULTILINE)
    params = {opt: p for p in _commands()[name].params for opt in p.opts}
    for option, default in rows:
        assert str(params[option].default) == default, f"`cwtmae {name} {option}` default"
