"""The project's error family.

Every error the library raises on purpose derives from :class:`CwtmaeError`. Its message is one line
that says what happened and, where there is one, what to do about it. The CLI turns these into one
red line on stderr and an exit code (1, or 2 for :class:`UsageError`); anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class CwtmaeError(Exception):
    """Base class: a problem the user can act on. ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1


class UsageError(CwtmaeError):
    """Options that do not fit together, or a default that cannot be resolved."""

    exit_code = 2


class ConfigError(CwtmaeError):
    """A bad model, training or recipe configuration (wrong key, type or value)."""


class RecipeError(ConfigError):
    """A recipe TOML that is missing, unreadable or invalid."""


class UnknownRecipeError(RecipeError, UsageError):
    """A recipe name that is not built in, or a recipe path that does not exist (exit 2)."""


class DataError(CwtmaeError):
    """A recording or source folder that cannot be read or yields no usable windows."""


class StoreError(CwtmaeError):
    """A zarr store that is missing, locked, incomplete or of another schema."""


class CheckpointError(CwtmaeError):
    """A checkpoint or run folder that is missing, of the wrong kind, corrupt or incompatible."""


class TrainingError(CwtmaeError):
    """Training could not run or stopped (a failed rank, a non-finite loss, ...)."""
