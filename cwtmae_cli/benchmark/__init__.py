"""``cwtmae benchmark``: subject-wise k-fold cross-validation of fine-tuning from a pretraining
run against fine-tuning from scratch, at several label fractions.

Sub-modules (imported on demand):

- ``protocol``: the folds, each fold's validation subjects and the label subsets (numpy only).
- ``results``: one cell's result, mean ± sd per setting and fraction, ``benchmark.json``.
- ``plot``: the label-efficiency figure (macro-F1 against the label fraction).
- ``scoring``: a cell's checkpoint scored on its test windows, and on its test recordings
  when the store's labels are per recording (with the recipe's score); resume's completion
  of older cells.
- ``plan``: the settings, folds and cells, checked before anything is written; resume's plan.
- ``runner``: trains and scores the cells not finished yet, writes the results.

This package sits above ``train`` and ``evaluate`` and imports both; neither imports it.
"""
