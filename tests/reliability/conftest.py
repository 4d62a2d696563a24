"""Fixtures of the reliability suite, and the terminal-summary line that reports kills survived."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_terminal_summary(terminalreporter) -> None:
    from crash_checks import KILLS_SURVIVED

    if not KILLS_SURVIVED:
        return
    terminalreporter.section("reliability: SIGKILLs survived")
    for command, counts in sorted(KILLS_SURVIVED.items()):
        details = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "kills")
        terminalreporter.write_line(f"{command}: {counts['kills']} kills survived ({details})")


@pytest.fixture(scope="session")
def sine_store(tmp_path_factory) -> Path:
    """The training tests' separable sine store, small: 24 windows of 3000 samples, 8 subjects."""
    from stand_ins import write_sine_store

    return write_sine_store(tmp_path_factory.mktemp("sine") / "sine.zarr", n_per_class=8)


@pytest.fixture(scope="session", autouse=True)
def _warm_imports() -> None:
    """Import what the commands import lazily, once: forked children then start in milliseconds
    (torch.optim imports torch._dynamo on first use, seconds on a busy CPU)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import torch
    import torch._dynamo  # noqa: F401

    import cwtmae_cli.cli.app  # noqa: F401
    import cwtmae_cli.data.prepare  # noqa: F401
    import cwtmae_cli.train.figure  # noqa: F401
    import cwtmae_cli.train.finetune  # noqa: F401
    import cwtmae_cli.train.pretrain  # noqa: F401

    torch.optim.AdamW([torch.zeros(1, requires_grad=True)])


@pytest.fixture(scope="session")
def trained(tmp_path_factory, sine_store) -> dict:
    """A classifier checkpoint and a pretraining run (one step each) on the sine store."""
    from typer.testing import CliRunner

    from cwtmae_cli.cli.app import app

    runner = CliRunner()
    root = tmp_path_factory.mktemp("trained")
    common = ["--data", str(sine_store), "--model", "tiny", "--steps", "1", "--batch-size", "2",
              "--device", "cpu"]  # fmt: skip
    result = runner.invoke(app, ["pretrain", *common, "--out", str(root / "pre")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["finetune", *common, "--from-scratch", "--head", "mlp", "--out", str(root / "ft")]
    )
    assert result.exit_code == 0, result.output
    return {
        "store": sine_store,
        "classifier": root / "ft" / "checkpoints" / "best",
        "mae": root / "pre" / "checkpoints" / "step-0000001",
        "mae_run": root / "pre",
    }
