"""The prepared store: a zarr v3 group of window-aligned arrays (SPEC §3, docs/data-format.md).

The contract is ``schema.py``: the arrays and attributes, ``open_store`` (reads only the
committed prefix) and ``describe_store``. ``writer.py`` is the single writer (create or resume,
append one recording, commit); ``arrays.py`` writes a whole store from arrays in memory
(tests, synthetic data sets); ``lock.py`` keeps two writers apart; ``loader.py`` is the torch
``Dataset`` and chunk-aware sampler used by training, reading through ``chunks.py``.
"""

from __future__ import annotations
