"""What training and results both need, owned by neither: checkpoint folders and their training
state, and the choice of device.

- ``checkpoint``: atomic checkpoint folders (``model.safetensors`` + ``meta.json``), resolving a
  run folder to its best or latest checkpoint, describing one;
- ``loading``: a model back from a checkpoint folder, weights checked and loaded strictly;
- ``state``: the exact-resume training state (``train_state.pt``, loaded with ``weights_only``);
- ``device``: ``resolve_device`` (``auto`` | ``cpu`` | ``cuda[:N]``).

Importing this package is cheap (no torch); import the sub-modules you need.
"""

from __future__ import annotations
