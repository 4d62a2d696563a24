"""Recipe keys and their types come from the recipe dataclasses' type hints."""

from __future__ import annotations

import dataclasses

import pytest

from cwtmae_cli.data.labels import LabelSpec
from cwtmae_cli.data.recipes.recipe import ScoreSpec, SignalSpec, SourceSpec, TrimSpec
from cwtmae_cli.data.recipes.schema import SCHEMA, validate_keys
from cwtmae_cli.errors import RecipeError

TABLES = {
    "source": SourceSpec,
    "signal": SignalSpec,
    "labels": LabelSpec,
    "trim_wake": TrimSpec,
    "score": ScoreSpec,
}
# A value of the right TOML type for each kind, and one of the wrong type.
GOOD = {"str": "x", "int": 3, "num": 2.5, "bool": True, "strs": ["a", "b"], "map": {"a": "b"},
        "nums3": [0.6, 0.2, 0.2]}
BAD = {"str": 1, "int": 2.5, "num": "2", "bool": 1, "strs": [1], "map": {"a": 1},
       "nums3": [0.5, 0.5]}


def test_every_dataclass_field_is_a_recipe_key_of_its_own_type():
    for table, cls in TABLES.items():
        assert set(SCHEMA[table]) == {f.name for f in dataclasses.fields(cls)}
    assert SCHEMA["signal"]["fs_hz"] == "num" and SCHEMA["signal"]["stride_s"] == "num"
    assert SCHEMA["source"]["prefix_chars"] == "int" and SCHEMA["signal"]["cover"] == "bool"
    assert SCHEMA["signal"]["channels"] == "strs" and SCHEMA["labels"]["map"] == "map"
    assert SCHEMA["split"] == {"fractions": "nums3", "seed": "int"}
    assert SCHEMA["qc"] == {"flat_ptp": "num", "max_gap_s": "num"}


@pytest.mark.parametrize("table", sorted(t for t in SCHEMA if t))
def test_each_key_takes_its_kind_and_refuses_another(table):
    for key, kind in SCHEMA[table].items():
        validate_keys({table: {key: GOOD[kind]}}, "r.toml")
        with pytest.raises(RecipeError, match=rf"recipe r.toml: `{table}.{key}` must be"):
            validate_keys({table: {key: BAD[kind]}}, "r.toml")
