"""Recipes: where recordings are, which channels, rate, windows and labels (the contract).

The frozen dataclasses below are what every later step reads; ``load.py`` builds them from the
TOML files of ``datasets/`` or a user's ``.toml`` path, :func:`with_overrides` puts command-line
values in their place. Bad values are RecipeErrors naming the key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from cwtmae_cli.data.labels import LabelSpec
from cwtmae_cli.data.readers.channels import normalize_slot
from cwtmae_cli.data.recipes.subjects import subject_regex_problem
from cwtmae_cli.data.window_policy import WindowPolicy
from cwtmae_cli.errors import RecipeError, UsageError


@dataclass(frozen=True)
class SourceSpec:
    pattern: tuple[str, ...] = ("*.edf",)
    exclude: tuple[str, ...] = ()
    recording_id_regex: str = ""
    subject_regex: str = ""
    annotations: str = "none"  # none | file | paired | reference
    paired_pattern: str = ""
    reference_file: str = ""  # annotations = "reference": CSV of `recording,label` lines
    prefix_chars: int = 6
    annotation_ext: str = "atr"
    mne_folder: str = ""
    epoch_s: float | None = None  # a paired text hypnogram's epoch; None: signal.window_s


@dataclass(frozen=True)
class SignalSpec:
    channels: tuple[str, ...] = ()
    first_channel_fallback: bool = False
    fs_hz: float = 100.0
    window_s: float = 30.0
    align_to_annotations: bool = False
    stride_s: float | None = None  # None: one window length (no overlap)
    cover: bool = False  # see data/window_policy.py: cover every sample, pad short recordings


@dataclass(frozen=True)
class TrimSpec:
    """Keep wake only ``minutes`` before the first and after the last sleep epoch."""

    wake: str = "W"
    minutes: float = 30.0
    enabled: bool = True


@dataclass(frozen=True)
class ScoreSpec:
    """A benchmark's headline score, printed by ``evaluate --per-recording`` and reported by
    ``benchmark`` (over recordings and over windows): the mean F1 of ``mean_f1``'s classes
    (CinC 2017: ``N``, ``A``, ``O``)."""

    name: str = ""
    mean_f1: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recipe:
    name: str
    format: str
    description: str = ""
    source: SourceSpec = field(default_factory=SourceSpec)
    signal: SignalSpec = field(default_factory=SignalSpec)
    labels: LabelSpec | None = None
    trim_wake: TrimSpec | None = None
    flat_ptp: float = 0.0
    max_gap_s: float = 0.1  # non-finite runs up to this long are interpolated (data/gaps.py)
    split_fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    seed: int = 0
    score: ScoreSpec | None = None

    @property
    def window_policy(self) -> WindowPolicy:
        sig = self.signal
        stride_s = sig.stride_s if sig.stride_s is not None else sig.window_s
        return WindowPolicy(sig.window_s, stride_s, sig.cover)

    @property
    def label_names(self) -> list[str]:
        return list(self.labels.names) if self.labels else []

    def to_dict(self) -> dict:
        """JSON-serialisable resolved recipe (stored in the store's attributes)."""
        d = asdict(self)
        return _jsonable(d)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def checked(recipe: Recipe, where: str) -> Recipe:
    """``recipe`` if its window and stride are a whole number of samples, else a RecipeError."""
    from cwtmae_cli.data.windows import window_samples
    from cwtmae_cli.errors import ConfigError

    policy = recipe.window_policy
    for key, seconds in (("window_s", policy.window_s), ("stride_s", policy.stride_s)):
        try:
            window_samples(seconds, recipe.signal.fs_hz)
        except ConfigError as exc:
            raise RecipeError(f"recipe {where}: `signal.{key}`: {exc}") from None
    return recipe


def with_overrides(
    recipe: Recipe,
    *,
    channels: list[str] | None = None,
    fs_hz: float | None = None,
    window_s: float | None = None,
    seed: int | None = None,
    subject_regex: str | None = None,
    max_gap_s: float | None = None,
) -> Recipe:
    """The recipe with command-line values in place of its own (None keeps the recipe's).
    A bad ``subject_regex`` is a UsageError (checked before anything is read)."""
    signal = recipe.signal
    if subject_regex is not None:
        problem = subject_regex_problem(subject_regex)
        if problem:
            raise UsageError(f"--subject-regex `{subject_regex}` {problem}")
        recipe = replace(recipe, source=replace(recipe.source, subject_regex=subject_regex))
    if max_gap_s is not None:
        if not 0 <= max_gap_s <= 60:
            raise UsageError(f"--max-gap-s must be in [0, 60] seconds, got {max_gap_s:g}")
        recipe = replace(recipe, max_gap_s=float(max_gap_s))
    if channels:
        try:
            signal = replace(signal, channels=tuple(normalize_slot(c) for c in channels))
        except ValueError as exc:
            raise RecipeError(f"--channels: {exc}") from None
    if fs_hz is not None:
        if fs_hz <= 0:
            raise UsageError(f"--fs must be > 0, got {fs_hz:g}")
        signal = replace(signal, fs_hz=float(fs_hz))
    if window_s is not None:
        if window_s <= 0:
            raise UsageError(f"--window-s must be > 0, got {window_s:g}")
        signal = replace(signal, window_s=float(window_s))
    out = replace(recipe, signal=signal, seed=recipe.seed if seed is None else int(seed))
    if fs_hz is None and window_s is None:
        return checked(out, "options")
    try:  # the flags made the window: a usage error, not the recipe's
        return checked(out, "options")
    except RecipeError as exc:
        raise UsageError(f"--fs/--window-s: {str(exc).split(': ', 2)[-1]}") from None
