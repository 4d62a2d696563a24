"""Recipes: what to prepare, from where (the TOML files of ``datasets/``).

The contract is ``recipe.py``: the frozen ``Recipe`` dataclasses and ``with_overrides``.
``load.py`` reads a built-in recipe or a ``.toml`` path (``load_recipe``, ``extends``) and checks
its values; ``schema.py`` lists the keys a recipe may hold and their types (new keys go there and
into ``recipe.py``); ``sources.py`` finds a recipe's recordings, annotations and
subjects in a source folder; ``subjects.py`` holds the subject regular expression.
"""

from __future__ import annotations
