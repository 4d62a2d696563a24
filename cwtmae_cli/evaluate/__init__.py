"""Results: metrics of a classifier on a store (``evaluate``) and predictions on new recordings
(``predict``), their reports, files and figures."""
