"""Reading recordings, cutting labelled windows and the zarr store they are written to.

Sub-modules (imported on demand, so ``import cwtmae_cli.data`` stays cheap):

- ``recording``: the one object every reader returns (:class:`Recording`).
- ``readers``: EDF/EDF+/BDF through MNE, WFDB through ``wfdb``.
- ``resample``, ``windows``, ``labels``: signal to labelled, quality-checked windows.
- ``recipes``: the TOML recipes in ``datasets/``.
- ``store``, ``writer``, ``prepare``: the zarr store and the resumable ``prepare`` pipeline.
- ``loader``: the torch ``Dataset`` and the chunk-aware sampler used by training.
"""

from __future__ import annotations
