"""The figures' content (axes, cells, steps, labels), read from the matplotlib Figure each plot
function builds, and the PNG files written from them."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from cwtmae_cli.evaluate.plots import (
    confusion_matrix_figure,
    hypnogram_figure,
    plot_confusion_matrix,
    plot_hypnogram,
)
from cwtmae_cli.evaluate.table import PredictionTable

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SLEEP = ["W", "N1", "N2", "N3", "REM"]


def test_confusion_matrix_cells_colours_and_labels() -> None:
    counts = np.array([[5, 1, 0], [0, 3, 0], [0, 0, 0]])  # class "c" has no true windows
    fig = confusion_matrix_figure(counts, ["a", "b", "c"], "val")
    ax, colour_bar = fig.axes
    nan = np.nan  # the row of "c" is 0 / 0: undefined, drawn blank
    np.testing.assert_allclose(np.ma.filled(ax.images[0].get_array(), nan),
                               [[5 / 6, 1 / 6, 0], [0, 1, 0], [nan, nan, nan]])
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}  # (row, column) -> text
    assert len(cells) == 9
    assert cells[(0, 0)] == "5\n0.83" and cells[(0, 1)] == "1\n0.17"
    assert cells[(1, 1)] == "3\n1.00" and cells[(2, 2)] == "0\nn/a"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("predicted", "true", "val")
    assert colour_bar.get_ylabel() == "fraction of true class"


def test_confusion_matrix_png(tmp_path) -> None:
    path = plot_confusion_matrix(np.array([[5, 1], [0, 3]]), ["AF", "non-AF"], tmp_path / "cm.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100


def night(classes: list[str], bad: set[int], window_s: float = 30.0) -> PredictionTable:
    """A table whose window ``i`` is predicted ``classes[i]`` with confidence 0.6."""
    probs = np.full((len(classes), 5), 0.1, dtype=np.float32)
    for i, name in enumerate(classes):
        probs[i, SLEEP.index(name)] = 0.6
    quality: list[str | None] = [("flat" if i in bad else None) for i in range(len(classes))]
    probs[sorted(bad)] = np.nan
    onset_s = np.arange(len(classes)) * window_s
    return PredictionTable("night", "night.edf", SLEEP, window_s, window_s, onset_s, probs,
                           quality)


def test_hypnogram_steps_follow_the_classes_in_clinical_order() -> None:
    table = night(["W", "N1", "N2", "N3", "N2", "REM"], bad={4})
    fig = hypnogram_figure(table)
    ax_cls, ax_conf = fig.axes
    assert [t.get_text() for t in ax_cls.get_yticklabels()] == ["N3", "N2", "N1", "REM", "W"]
    (steps,) = ax_cls.lines
    # one horizontal segment per window, from its onset to the next (minutes: a 3-min night)
    np.testing.assert_allclose(steps.get_xdata(), [0, .5, .5, 1, 1, 1.5, 1.5, 2, 2, 2.5, 2.5, 3])
    levels = {"W": 4, "REM": 3, "N1": 2, "N2": 1, "N3": 0}
    expected_y = np.repeat([levels[c] for c in ["W", "N1", "N2", "N3"]] + [np.nan, 3], 2)
    np.testing.assert_array_equal(steps.get_ydata(), expected_y)  # the bad window: a gap
    (marks,) = ax_cls.collections  # one grey mark per bad window, below the classes
    np.testing.assert_allclose(marks.get_offsets(), [[2.0, -0.6]])
    assert ax_conf.get_xlabel() == "time from recording start (min)"
    assert ax_conf.get_ylabel() == "confidence" and ax_conf.get_ylim() == (0.0, 1.0)
    assert ax_cls.get_title() == "night: predicted class over time"


@pytest.mark.parametrize(("n_windows", "unit"), [(240, "min"), (241, "h")])
def test_hypnogram_time_unit_switches_to_hours_past_two_hours(n_windows: int, unit: str) -> None:
    fig = hypnogram_figure(night(["N2"] * n_windows, bad=set()))
    assert fig.axes[1].get_xlabel() == f"time from recording start ({unit})"
    scale = 60.0 if unit == "min" else 3600.0
    assert fig.axes[0].lines[0].get_xdata()[-1] == pytest.approx(n_windows * 30.0 / scale)


def test_hypnogram_png(tmp_path) -> None:
    path = plot_hypnogram(night(["W", "N1", "N2"], bad={1}), tmp_path / "hyp.png")
    assert path.read_bytes()[:8] == PNG_MAGIC and imread(path).shape[1] == 1000


def test_hypnogram_reference_is_drawn_behind_and_its_agreement_counted() -> None:
    from cwtmae_cli.evaluate.reference import Reference

    table = night(["W", "N1", "N2", "N3", "N2", "REM"], bad={4})
    # window 1 disagrees, window 2 is unscored, window 4 is bad: 3 of the 4 comparable agree
    reference = Reference(["W", "N2", None, "N3", "N2", "REM"], "night-Hypnogram.edf")
    ax_cls = hypnogram_figure(table, reference).axes[0]
    behind, predicted = ax_cls.lines
    assert behind.get_label() == "reference (night-Hypnogram.edf)"
    np.testing.assert_array_equal(behind.get_ydata(), np.repeat([4, 1, np.nan, 0, 1, 3], 2))
    assert predicted.get_label() == "predicted"
    assert ax_cls.get_title().endswith("agrees with the reference in 3 of 4 windows (75.0 %)")
