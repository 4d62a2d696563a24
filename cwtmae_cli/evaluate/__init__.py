"""Results: metrics of a classifier on a store (``evaluate``) and predictions on new recordings
(``predict``), with their reports, files and figures.

Sub-modules (imported on demand, so ``import cwtmae_cli.evaluate`` stays cheap):

- ``metrics``: accuracy, balanced accuracy, macro-F1, Cohen's kappa, per-class scores, confusion
  matrices (scikit-learn), per-recording rows; JSON-ready dicts.
- ``summary``: time per class and sleep statistics (TST, efficiency, latencies, WASO).
- ``table``: the per-window prediction table and its TSV / CSV / JSON files.
- ``plots``: confusion-matrix and hypnogram PNGs.
- ``inference``: batched, bounded-memory class probabilities.
- ``evaluation``: ``evaluate_checkpoint`` and the store/checkpoint preprocessing check.
- ``prediction``: ``Predictor`` (one recording -> table) and ``predict_paths`` (files, folders).
"""
