"""The ``cwtmae`` Typer app: global options, command registration and the one error boundary.

Each command lives in its own module ``cwtmae_cli.cli.<name>`` exposing ``register(app)``. Command
modules import heavy libraries (torch, mne, zarr) inside their functions, never at module level, so
``cwtmae --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import traceback
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from cwtmae_cli import __version__
from cwtmae_cli.cli.console import err, error_line
from cwtmae_cli.errors import CwtmaeError

# In the order `cwtmae --help` lists them.
COMMAND_MODULES = (
    "prepare", "inspect", "pretrain", "finetune", "evaluate", "predict", "score", "benchmark",
    "embed", "export", "models", "demo",
)

_state = {"debug": False}


def debug_enabled() -> bool:
    """True when tracebacks were asked for (``--debug`` or ``CWTMAE_DEBUG=1``)."""
    return _state["debug"] or os.environ.get("CWTMAE_DEBUG", "") not in ("", "0", "false")


# Typer 0.2x vendors its own click (typer._click), older Typer uses click: catch either's
# UsageError (the base of typer.BadParameter, unknown options, missing arguments).
_USAGE_ERRORS = tuple(
    {click.UsageError, *(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")}
)


def usage_line(exc: Any) -> str:
    """A command-line parsing error (bad option value, unknown option) as one line."""
    where = exc.ctx.command_path if exc.ctx is not None else "cwtmae"
    return f"{exc.format_message()} (see `{where} --help`)"


class ErrorBoundaryGroup(TyperGroup):
    """Turns project errors into one red line and an exit code, whoever invokes the app.

    Click's own usage errors (an option value out of range, an unknown option) become one line and
    exit 2 too, instead of a framed box: the same shape as every other error."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _USAGE_ERRORS as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `cwtmae prepare` alone: its help
                raise
            error_line(usage_line(exc))
            raise typer.Exit(2) from None
        except CwtmaeError as exc:
            if debug_enabled():
                err.print(traceback.format_exc(), markup=False, highlight=False)
            error_line(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            error_line("interrupted")
            raise typer.Exit(130) from None


app = typer.Typer(
    name="cwtmae",
    cls=ErrorBoundaryGroup,
    help="From raw sleep-EEG and ECG recordings to a trained CWT-MAE-RoPE classifier and "
    "predictions on new files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cwtmae {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks on errors (also CWTMAE_DEBUG=1).")
    ] = False,
) -> None:
    _state["debug"] = debug


def _register_commands() -> None:
    # Every listed module must import: a broken command fails loudly here (and in the tests),
    # never disappears from `cwtmae --help` unnoticed.
    for name in COMMAND_MODULES:
        importlib.import_module(f"cwtmae_cli.cli.{name}").register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
