"""The keys a recipe TOML may hold, per table, and the type of each value.

:func:`validate_keys` runs on every file read (before ``extends`` merges it), so an unknown key
or a value of the wrong type is a RecipeError naming the file and the dotted key. The values
themselves (ranges, names that must agree) are checked by ``recipes.build_recipe``.
"""

from __future__ import annotations

from typing import Any

from cwtmae_cli.errors import RecipeError

# table -> key -> kind ("" = top level); kinds: str, int, num, bool, table, strs, map, nums3
SCHEMA: dict[str, dict[str, str]] = {
    "": {
        "name": "str",
        "description": "str",
        "format": "str",
        "extends": "str",
        "source": "table",
        "signal": "table",
        "labels": "table",
        "trim_wake": "table",
        "qc": "table",
        "split": "table",
        "score": "table",
    },
    "source": {
        "pattern": "strs",
        "exclude": "strs",
        "recording_id_regex": "str",
        "subject_regex": "str",
        "annotations": "str",
        "paired_pattern": "str",
        "reference_file": "str",
        "prefix_chars": "int",
        "annotation_ext": "str",
        "mne_folder": "str",
    },
    "signal": {
        "channels": "strs",
        "first_channel_fallback": "bool",
        "fs_hz": "num",
        "window_s": "num",
        "align_to_annotations": "bool",
        "stride_s": "num",
        "cover": "bool",
    },
    "labels": {
        "names": "strs",
        "map": "map",
        "drop": "strs",
        "unmapped": "str",
        "uncovered": "str",
        "min_cover": "num",
    },
    "trim_wake": {"wake": "str", "minutes": "num", "enabled": "bool"},
    "qc": {"flat_ptp": "num", "max_gap_s": "num"},
    "split": {"fractions": "nums3", "seed": "int"},
    "score": {"name": "str", "mean_f1": "strs"},
}


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
