"""The CLI frame: version, help without heavy imports, the error boundary and its exit codes."""

from __future__ import annotations

import subprocess
import sys

import typer
from typer.testing import CliRunner

from cwtmae_cli import __version__
from cwtmae_cli.cli import app as app_module
from cwtmae_cli.errors import DataError, UsageError

runner = CliRunner()


def test_version():
    result = runner.invoke(app_module.app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"cwtmae {__version__}"


def test_help_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cwtmae_cli.cli.app import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('torch', 'mne', 'zarr', 'wfdb', 'sklearn', 'matplotlib') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _app_raising(exc: Exception) -> typer.Typer:
    test_app = typer.Typer(cls=app_module.ErrorBoundaryGroup)

    @test_app.callback()
    def _root() -> None:
        pass

    @test_app.command()
    def boom() -> None:
        raise exc

    return test_app


def test_project_error_is_one_red_line_exit_1(monkeypatch):
    monkeypatch.delenv("CWTMAE_DEBUG", raising=False)
    result = runner.invoke(
        _app_raising(DataError("no channel `X` in a.edf; it has: A, B")), ["boom"]
    )
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: no channel `X` in a.edf; it has: A, B"]
    assert "Traceback" not in result.output


def test_usage_error_exits_2():
    result = runner.invoke(_app_raising(UsageError("choose one with --data")), ["boom"])
    assert result.exit_code == 2
    assert "choose one with --data" in result.stderr


def test_debug_env_shows_traceback(monkeypatch):
    monkeypatch.setenv("CWTMAE_DEBUG", "1")
    result = runner.invoke(_app_raising(DataError("bad")), ["boom"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_unknown_option_is_usage_error():
    result = runner.invoke(app_module.app, ["--no-such-option"])
    assert result.exit_code == 2


def test_bug_keeps_its_traceback():
    # A non-project exception is a bug: it must not be disguised as a clean one-line error.
    result = runner.invoke(_app_raising(RuntimeError("bug")), ["boom"])
    assert result.exit_code != 0
    assert isinstance(result.exception, RuntimeError)


def test_console_script_installed():
    out = subprocess.run(["cwtmae", "--version"], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and __version__ in out.stdout


def test_a_command_module_that_cannot_import_is_an_error_not_a_missing_command(monkeypatch):
    monkeypatch.setattr(app_module, "COMMAND_MODULES", ("no_such_command",))
    try:
        app_module._register_commands()
    except ModuleNotFoundError as exc:
        assert "cwtmae_cli.cli.no_such_command" in str(exc)
    else:
        raise AssertionError("a command module that does not import was skipped silently")
