"""The two PNG figures are written and are real images of a sensible size."""

from __future__ import annotations

import numpy as np
from matplotlib.image import imread

from cwtmae_cli.evaluate.plots import plot_confusion_matrix, plot_hypnogram
from cwtmae_cli.evaluate.table import PredictionTable

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_confusion_matrix_png(tmp_path):
    path = plot_confusion_matrix(np.array([[5, 1], [0, 3]]), ["AF", "non-AF"], tmp_path / "cm.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0.05  # not a blank canvas


def test_hypnogram_png_with_bad_windows(tmp_path):
    rng = np.random.default_rng(0)
    n_windows = 40
    probs = rng.dirichlet(np.ones(5), size=n_windows).astype(np.float32)
    quality: list[str | None] = [None] * n_windows
    quality[3] = "flat"
    probs[3] = np.nan
    table = PredictionTable(
        "night",
        "night.edf",
        ["W", "N1", "N2", "N3", "REM"],
        30.0,
        30.0,
        np.arange(n_windows) * 30.0,
        probs,
        quality,
    )
    path = plot_hypnogram(table, tmp_path / "hyp.png")
    image = imread(path)
    assert path.read_bytes()[:8] == PNG_MAGIC and image.shape[1] == 1000
