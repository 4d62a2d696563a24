"""The keys a recipe TOML may hold, per table, and the type of each value: read from the type
hints of the recipe dataclasses (``recipe.py``, ``LabelSpec``), so a new field is a new key.

:func:`validate_keys` runs on every file read (before ``extends`` merges it), so an unknown key
or a value of the wrong type is a RecipeError naming the file and the dotted key. The values
themselves (ranges, names that must agree) are checked by ``recipes.build_recipe``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from cwtmae_cli.data.labels import LabelSpec
from cwtmae_cli.data.recipes.recipe import Recipe, ScoreSpec, SignalSpec, SourceSpec, TrimSpec
from cwtmae_cli.errors import RecipeError


def _kind(tp: Any) -> str:
    """The TOML kind of a dataclass field's type (``float | None`` -> ``num``: TOML has no null)."""
    options = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (types.UnionType, typing.Union) and len(options) == 1:
        return _kind(options[0])
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple and args[1:] == (Ellipsis,) and args[0] is str:
        return "strs"
    if origin is tuple and len(args) == 3 and all(a is float for a in args):
        return "nums3"
    if origin is dict and args == (str, str):
        return "map"
    kinds = {str: "str", bool: "bool", int: "int", float: "num"}
    if tp in kinds:
        return kinds[tp]
    raise TypeError(f"no recipe kind for the field type {tp!r}")


def _fields(cls: type, only: dict[str, str] | None = None) -> dict[str, str]:
    """TOML key -> kind from ``cls``'s type hints; ``only`` maps TOML keys to field names."""
    hints = typing.get_type_hints(cls)
    names = only or {f.name: f.name for f in dataclasses.fields(cls)}
    return {key: _kind(hints[name]) for key, name in names.items()}


def _schema() -> dict[str, dict[str, str]]:
    """table -> key -> kind ("" = top level), from the recipe dataclasses' real types. The
    ``[qc]`` and ``[split]`` tables fill fields of :class:`Recipe` itself."""
    tables = ("source", "signal", "labels", "trim_wake", "qc", "split", "score")
    top = _fields(Recipe, {"name": "name", "description": "description", "format": "format"})
    return {
        "": {**top, "extends": "str", **{t: "table" for t in tables}},
        "source": _fields(SourceSpec),
        "signal": _fields(SignalSpec),
        "labels": _fields(LabelSpec),
        "trim_wake": _fields(TrimSpec),
        "qc": _fields(Recipe, {"flat_ptp": "flat_ptp", "max_gap_s": "max_gap_s"}),
        "split": _fields(Recipe, {"fractions": "split_fractions", "seed": "seed"}),
        "score": _fields(ScoreSpec),
    }


# kinds: str, int, num, bool, table, strs (list of strings), map (table of strings), nums3
SCHEMA: dict[str, dict[str, str]] = _schema()


def check_type(key: str, kind: str, value: Any, where: str) -> Any:
    """``value`` if it is of ``kind`` (lists as tuples, a lone string as a 1-tuple for strs)."""
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "num": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "table": isinstance(value, dict),
        "strs": isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(v, str) for v in value)),
        "map": isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
        "nums3": isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value),
    }[kind]
    if not ok:
        wanted = {
            "strs": "a list of strings",
            "map": "a table of strings",
            "num": "a number",
            "nums3": "a list of 3 numbers",
            "int": "an integer",
            "bool": "true or false",
            "str": "a string",
            "table": "a table",
        }[kind]
        raise RecipeError(f"recipe {where}: `{key}` must be {wanted}, got {value!r}")
    if kind == "strs" and isinstance(value, str):
        return (value,)
    if kind in ("strs", "nums3"):
        return tuple(value)
    return value


def validate_keys(data: dict, where: str) -> None:
    """Every key of the parsed file ``data`` is known and its value of the right type."""
    for table, keys in SCHEMA.items():
        section = data if table == "" else data.get(table, {})
        for key, value in section.items():
            dotted = f"{table}.{key}" if table else key
            if key not in keys:
                known = ", ".join(sorted(keys))
                raise RecipeError(f"recipe {where}: unknown key `{dotted}` (known: {known})")
            check_type(dotted, keys[key], value, where)
