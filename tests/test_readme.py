"""The README cannot rot: its Python examples run, its commands and options exist, and its test
command is the one CI runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from cwtmae_cli.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)


def _command_lines() -> list[list[str]]:
    lines = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part.split("#", 1)[0])
                if words and words[0] == "cwtmae":
                    lines.append(words)
    return lines


def test_readme_has_the_two_setup_commands_and_the_ci_test_command() -> None:
    assert "pip install -e . && cwtmae demo" in README
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = 'python3 -m pip install -q -e ".[test]" && python3 -m pytest -q'
    assert test_command in ci, ".ci/run no longer runs the README's test command"
    assert test_command in README


def test_readme_commands_and_options_exist() -> None:
    root = typer.main.get_command(app)
    lines = _command_lines()
    assert len(lines) >= 10
    for words in lines:
        name = words[1]
        assert name in root.commands, f"README names `cwtmae {name}`, which does not exist"
        options = {
            opt for p in root.commands[name].params if p.param_type_name == "option"
            for opt in (*p.opts, *p.secondary_opts)
        }
        for word in words[2:]:
            if word.startswith("--"):
                assert word in options, f"README: `cwtmae {name}` has no option {word}"


@pytest.mark.parametrize("page", ["README.md", "docs/index.md", "docs/cli.md"])
def test_relative_links_resolve(page: str) -> None:
    path = ROOT / page
    links = re.findall(r"\]\(([^)#:]+\.md)\)", path.read_text(encoding="utf-8"))
    assert links or page == "docs/cli.md"
    for link in links:
        assert (path.parent / link).is_file(), f"{page} links to {link}, which does not exist"
    if page != "docs/cli.md":
        named = {Path(link).name for link in links}
        docs = {p.name for p in (ROOT / "docs").glob("*.md")} - {Path(page).name}
        assert docs <= named, f"{page} does not link {sorted(docs - named)}"


def test_classifier_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    block = next(b for b in _blocks("python") if "TF_MAE_Classifier" in b)
    exec(compile(block, "README.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "torch.Size([4, 5])"


@pytest.mark.slow
def test_design_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    block = next(b for b in _blocks("python") if "CWT_MAE_RoPE(" in b)
    assert "x = torch.randn(32, 3000)" in block
    # The base model on 32 windows takes minutes on a 2-core CI machine; 2 windows run the very
    # same code path, so this is the only change.
    block = block.replace("torch.randn(32, 3000)", "torch.randn(2, 3000)")
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out.strip()
    match = re.fullmatch(r"Pre-training Loss: (\S+)", printed)
    assert match and 0 < float(match.group(1)) < 10
