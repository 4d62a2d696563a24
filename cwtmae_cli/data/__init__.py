"""Reading recordings, cutting labelled windows and the zarr store they are written to.

Rooms (sub-packages; each ``__init__`` names its contract file):

- ``readers/``: one recording file in, one :class:`~cwtmae_cli.data.readers.recording.Recording`
  out (EDF/EDF+/BDF through MNE, WFDB through ``wfdb``), channel slots and name matching.
- ``recipes/``: the TOML recipes of ``datasets/``, their schema, and finding a recipe's
  recordings and subjects in a source folder.
- ``store/``: the zarr store (schema, opening, describing), its single writer and lock, and the
  training loader.

Beside them, the steps from a recording to the store's windows: ``gaps`` (bridging short
non-finite runs), ``resample``, ``windows`` and ``window_policy`` (cutting, quality check),
``labels`` (one label per window), ``process`` (one recording start to finish), ``split``
(subject-wise splits and folds), ``prepare`` (the resumable pipeline), ``workers`` (its worker
processes) and ``download``.
Sub-modules are imported on demand, so ``import cwtmae_cli.data`` stays cheap.
"""

from __future__ import annotations
