"""Results: metrics of a classifier on a store (``evaluate``) and predictions on new recordings
(``predict``), with their reports, files and figures.

The metrics themselves are :mod:`cwtmae_cli.metrics` (training's validation uses them too).

Sub-modules (imported on demand, so ``import cwtmae_cli.evaluate`` stays cheap):

- ``summary``: time per class and sleep statistics (TST, efficiency, latencies, WASO).
- ``table``: the per-window prediction table and its TSV / CSV / JSON files.
- ``plots``: confusion-matrix and hypnogram PNGs.
- ``inference``: batched, bounded-memory class probabilities.
- ``evaluation``: ``evaluate_checkpoint`` and the store/checkpoint preprocessing check.
- ``prediction``: ``Predictor`` (one recording -> table) and ``predict_paths`` (files, folders).
"""
