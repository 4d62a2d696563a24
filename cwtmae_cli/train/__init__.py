"""The training engine shared by ``cwtmae pretrain`` and ``cwtmae finetune``. Checkpoint folders,
the training state and the device choice live in :mod:`cwtmae_cli.runtime`.

Modules, one concept each:

- ``config``: frozen dataclasses for the run configuration (defaults < TOML < flags), and
  ``resume_config``: what a resumed run keeps and which flags it may change;
- ``optim`` and ``schedule``: AdamW parameter groups (no-decay sets, layer-wise lr decay) and the
  warm-up + cosine schedule that scales each group's own base rate;
- ``rundir``: the run folder (config.json, metrics.jsonl, ``latest`` pointer, FINISHED);
- ``distributed`` and ``launch``: process groups, spawning ``--gpus N`` workers, joining torchrun;
- ``engine``: the step loop; ``pretrain`` and ``finetune``: what each command trains;
  ``validation``: fine-tuning's validation scores (they select the best checkpoint).

Importing this package is cheap (no torch); import the sub-modules you need.
"""

from __future__ import annotations
