"""Loading a recipe: a built-in one by name or a TOML file by path, merged, checked, built.

Built-in recipes live in the top-level ``datasets/`` folder (shipped inside the package as
``cwtmae_cli/datasets``). A user's recipe is any ``.toml`` path; ``extends = "sleep-edf"`` starts
from a built-in one and overrides some keys. Unknown keys and bad values are RecipeErrors naming
the key (``schema.py`` checks keys and types, :func:`build_recipe` the values).
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from importlib import resources
from pathlib import Path

from cwtmae_cli.data.labels import LabelSpec
from cwtmae_cli.data.readers.channels import normalize_slot
from cwtmae_cli.data.recipes.recipe import (
    Recipe,
    ScoreSpec,
    SignalSpec,
    SourceSpec,
    TrimSpec,
    checked,
)
from cwtmae_cli.data.recipes.schema import SCHEMA, check_type, validate_keys
from cwtmae_cli.data.recipes.subjects import subject_regex_problem
from cwtmae_cli.errors import RecipeError, UnknownRecipeError

# Order matters where two recipes share class names (cinc2017 and mitdb-rhythm: N, A, O, ~):
# a checkpoint or table naming only its classes resolves to the first (evaluate/reference.py).
BUILTIN = ("sleep-edf", "mitdb-af", "cinc2017", "mitdb-rhythm", "edf", "wfdb")


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict) and key != "map"
        out[key] = _deep_merge(out[key], value) if both else value
    return out



def builtin_dir() -> Path:
    """Folder holding the built-in recipe TOMLs (inside the installed package)."""
    return Path(str(resources.files("cwtmae_cli") / "datasets"))


def _read_toml(path: Path, where: str) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecipeError(f"cannot read recipe {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"recipe {where} is not valid TOML: {exc}") from exc


def _load_raw(name_or_path: str | Path, depth: int = 0) -> tuple[dict, str]:
    text = str(name_or_path)
    path = Path(text)
    # The command's RECIPE argument naming nothing is a usage error; a bad `extends` is the file's.
    missing = UnknownRecipeError if depth == 0 else RecipeError
    if text in BUILTIN and not path.is_file():
        path, where = builtin_dir() / f"{text}.toml", text
    elif path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise missing(f"recipe file {path} does not exist")
        where = str(path)
    else:
        raise missing(
            f"no recipe `{text}`: built-in recipes are {', '.join(BUILTIN)}, "
            "or give the path of a .toml recipe"
        )
    data = _read_toml(path, where)
    validate_keys(data, where)
    if "extends" in data:
        if depth > 3:
            raise RecipeError(f"recipe {where}: `extends` nests too deeply")
        base, _ = _load_raw(data["extends"], depth + 1)
        own_name = data.get("name", path.stem)
        data = _deep_merge(base, {k: v for k, v in data.items() if k != "extends"})
        data["name"] = own_name
    return data, where


def load_recipe(name_or_path: str | Path) -> Recipe:
    """A built-in recipe by name or a recipe TOML by path, validated (RecipeError names the key)."""
    data, where = _load_raw(name_or_path)
    return build_recipe(data, where)


def _bad(where: str, key: str, message: str) -> RecipeError:
    return RecipeError(f"recipe {where}: `{key}` {message}")


def build_recipe(data: dict, where: str) -> Recipe:
    """Check values and build the Recipe (``data`` already has known keys of the right types)."""
    norm = {
        t: {k: check_type(k, SCHEMA[t][k], v, where) for k, v in data.get(t, {}).items()}
        for t in ("source", "signal", "labels", "trim_wake", "qc", "split", "score")
    }
    name = data.get("name") or Path(where).stem
    fmt = data.get("format")
    if fmt not in ("edf", "wfdb"):
        raise _bad(where, "format", f'must be "edf" or "wfdb", got {fmt!r}')
    source = _source_spec(norm["source"], where)
    signal = _signal_spec(norm["signal"], where)
    labels = _label_spec(norm["labels"], where) if "labels" in data else None
    trim = _trim_spec(norm["trim_wake"], labels, where) if "trim_wake" in data else None
    flat_ptp, max_gap_s = _quality(norm["qc"], where)
    fractions = tuple(float(f) for f in norm["split"].get("fractions", (0.7, 0.15, 0.15)))
    if any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise _bad(where, "split.fractions", "must be 3 non-negative numbers, not all 0")
    score = _score_spec(norm["score"], labels, where) if "score" in data else None
    recipe = Recipe(
        name=name,
        format=fmt,
        description=data.get("description", ""),
        source=source,
        signal=signal,
        labels=labels,
        trim_wake=trim,
        flat_ptp=flat_ptp,
        max_gap_s=max_gap_s,
        split_fractions=fractions,
        seed=int(norm["split"].get("seed", 0)),
        score=score,
    )
    return checked(recipe, where)


def _source_spec(values: dict, where: str) -> SourceSpec:
    source = SourceSpec(**values)
    if source.annotations not in ("none", "file", "paired", "reference"):
        raise _bad(where, "source.annotations", 'must be "none", "file", "paired" or "reference"')
    if source.annotations == "reference" and not source.reference_file:
        raise _bad(where, "source.reference_file", 'is needed when annotations = "reference"')
    if source.annotations == "paired" and not source.paired_pattern:
        raise _bad(where, "source.paired_pattern", 'is needed when annotations = "paired"')
    if source.prefix_chars < 1:
        raise _bad(where, "source.prefix_chars", "must be >= 1")
    if source.epoch_s is not None and not source.epoch_s > 0:
        raise _bad(where, "source.epoch_s", f"must be > 0, got {source.epoch_s}")
    _check_inside(source, where)
    if source.subject_regex:
        problem = subject_regex_problem(source.subject_regex)
        if problem:
            raise _bad(where, "source.subject_regex", problem)
    return source


def _signal_spec(values: dict, where: str) -> SignalSpec:
    seconds_or_hz = ("fs_hz", "window_s", "stride_s")
    signal = SignalSpec(**{k: (float(v) if k in seconds_or_hz else v) for k, v in values.items()})
    for key in ("fs_hz", "window_s") + (("stride_s",) if signal.stride_s is not None else ()):
        if not getattr(signal, key) > 0:
            raise _bad(where, f"signal.{key}", f"must be > 0, got {getattr(signal, key)}")
    try:
        return replace(signal, channels=tuple(normalize_slot(c) for c in signal.channels))
    except ValueError as exc:
        raise _bad(where, "signal.channels", f"has a bad entry: {exc}") from None


def _label_spec(lab: dict, where: str) -> LabelSpec:
    names = lab.get("names", ())
    if not names or len(set(names)) != len(names):
        raise _bad(where, "labels.names", "must list distinct class names")
    for text, target in lab.get("map", {}).items():
        if target not in names:
            raise _bad(where, f"labels.map.{text}", f"maps to `{target}`, not in labels.names")
    unmapped = lab.get("unmapped", "unlabelled")
    if unmapped not in ("drop", "unlabelled", "error", *names):
        raise _bad(where, "labels.unmapped", "must be drop, unlabelled, error or a class name")
    if lab.get("uncovered", "unlabelled") not in ("drop", "unlabelled"):
        raise _bad(where, "labels.uncovered", 'must be "drop" or "unlabelled"')
    if not 0 < lab.get("min_cover", 0.5) <= 1:
        raise _bad(where, "labels.min_cover", "must be in (0, 1]")
    return LabelSpec(
        names=tuple(names),
        map=dict(lab.get("map", {})),
        drop=tuple(lab.get("drop", ())),
        unmapped=unmapped,
        uncovered=lab.get("uncovered", "unlabelled"),
        min_cover=float(lab.get("min_cover", 0.5)),
    )


def _trim_spec(values: dict, labels: LabelSpec | None, where: str) -> TrimSpec:
    trim = TrimSpec(**values)
    if labels is None or trim.wake not in labels.names:
        raise _bad(where, "trim_wake.wake", "must be one of labels.names")
    if trim.minutes < 0:
        raise _bad(where, "trim_wake.minutes", "must be >= 0 (0 keeps all wake)")
    return trim


def _quality(qc: dict, where: str) -> tuple[float, float]:
    """``qc.flat_ptp`` and ``qc.max_gap_s``, checked."""
    flat_ptp = float(qc.get("flat_ptp", 0.0))
    if flat_ptp < 0:
        raise _bad(where, "qc.flat_ptp", "must be >= 0")
    max_gap_s = float(qc.get("max_gap_s", 0.1))
    if not 0 <= max_gap_s <= 60:
        raise _bad(where, "qc.max_gap_s", f"must be in [0, 60] seconds, got {max_gap_s:g}")
    return flat_ptp, max_gap_s


def _score_spec(values: dict, labels: LabelSpec | None, where: str) -> ScoreSpec:
    score = ScoreSpec(**values)
    unknown = [c for c in score.mean_f1 if labels is None or c not in labels.names]
    if not score.mean_f1 or unknown:
        raise _bad(where, "score.mean_f1", "must list classes of labels.names")
    return score


def _check_inside(source: SourceSpec, where: str) -> None:
    """Patterns stay inside the source folder: no absolute paths, no ``..`` (a recipe is data
    from anyone, and must not make ``prepare`` read files elsewhere)."""
    named = [("source.pattern", p) for p in source.pattern]
    named.append(("source.paired_pattern", source.paired_pattern))
    named.append(("source.reference_file", source.reference_file))
    for key, pattern in named:
        parts = pattern.replace("\\", "/").split("/")
        if pattern.startswith(("/", "\\", "~")) or ".." in parts:
            raise _bad(where, key, f"must stay inside the source folder, got {pattern!r}")
    ext = source.annotation_ext
    if not ext or not ext.replace("_", "").isalnum():
        raise _bad(
            where, "source.annotation_ext", f"must be a plain extension like atr, got {ext!r}"
        )
