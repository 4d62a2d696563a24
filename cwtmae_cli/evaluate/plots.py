"""PNG figures: the confusion matrix of an evaluation and the hypnogram of a prediction (its
hypnodensity is :mod:`hypnodensity`).

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no global backend state), so they
work headless and in threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cwtmae_cli.evaluate.reference import Reference
from cwtmae_cli.evaluate.summary import BAD_LABEL
from cwtmae_cli.evaluate.table import PredictionTable
from cwtmae_cli.wording import plural

# Hypnogram order, top to bottom, when the classes are sleep stages; other models keep their order.
_SLEEP_ORDER = ("W", "WAKE", "REM", "R", "N1", "N2", "N3", "N4")


def new_figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def plot_confusion_matrix(
    counts: np.ndarray, label_names: Sequence[str], path: Path, title: str = ""
) -> Path:
    """Write :func:`confusion_matrix_figure` as the PNG ``path``."""
    confusion_matrix_figure(counts, label_names, title).savefig(path, format="png")
    return Path(path)


def confusion_matrix_figure(counts: np.ndarray, label_names: Sequence[str], title: str = ""):
    """Row-normalised confusion matrix as colours, with counts and fractions in each cell.

    Args:
        counts: (K, K) int confusion counts, rows true classes, columns predicted.
        label_names: the K class names.
    Returns:
        the matplotlib ``Figure`` (matrix axes first, then its colour bar).
    """
    counts = np.asarray(counts)
    support = counts.sum(axis=1, keepdims=True)  # (K, 1)
    # A class without true windows has an undefined row (0 / 0): blank, marked "no windows".
    fractions = np.divide(counts, support, out=np.full(counts.shape, np.nan), where=support > 0)
    n_classes = len(label_names)
    size_in = 2.0 + 0.9 * n_classes
    fig = new_figure(size_in + 1.0, size_in)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
    for i in range(n_classes):
        for j in range(n_classes):
            colour = "white" if fractions[i, j] > 0.5 else "black"
            fraction = "n/a" if np.isnan(fractions[i, j]) else f"{fractions[i, j]:.2f}"
            ax.text(
                j,
                i,
                f"{counts[i, j]}\n{fraction}",
                ha="center",
                va="center",
                color=colour,
                fontsize=8,
            )
    ax.set_xticks(range(n_classes), labels=list(label_names))
    ax.set_yticks(range(n_classes), labels=list(label_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def class_order(label_names: Sequence[str]) -> list[str]:
    upper = [name.upper() for name in label_names]
    if all(name in _SLEEP_ORDER for name in upper):
        return [label_names[upper.index(s)] for s in _SLEEP_ORDER if s in upper]
    return list(label_names)


def agreement(predicted: Sequence[str], reference: Sequence[str | None]) -> tuple[int, int]:
    """(windows where prediction and reference agree, windows with both) ``bad`` and unscored
    windows left out."""
    pairs = [(p, r) for p, r in zip(predicted, reference, strict=True) if r is not None]
    pairs = [(p, r) for p, r in pairs if p != BAD_LABEL]
    return sum(p == r for p, r in pairs), len(pairs)


def plot_hypnogram(table: PredictionTable, path: Path, reference: Reference | None = None) -> Path:
    """Write :func:`hypnogram_figure` as the PNG ``path``."""
    hypnogram_figure(table, reference).savefig(path, format="png")
    return Path(path)


def hypnogram_figure(table: PredictionTable, reference: Reference | None = None):
    """Class over time (a step plot, ``bad`` windows as grey marks) above the confidence.

    Time is in hours from the recording start when the recording is longer than 2 hours, else in
    minutes. Sleep stages are drawn W, REM, N1, N2, N3 from top to bottom, as clinicians do.
    With a ``reference`` (the recording's own scoring, one class or None per window), it is drawn
    behind the prediction and the title gives the share of windows where the two agree.
    Returns the matplotlib ``Figure``: class axes, then confidence axes.
    """
    order = class_order(table.label_names)
    level = {name: len(order) - 1 - i for i, name in enumerate(order)}  # top row = first class
    onsets = np.asarray(table.onset_s, dtype=np.float64)
    span_s = float(onsets[-1] + table.window_s) if len(onsets) else table.window_s
    unit, scale = ("h", 3600.0) if span_s > 7200 else ("min", 60.0)
    starts = onsets / scale
    ends = np.append(starts[1:], starts[-1] + table.window_s / scale) if len(starts) else starts

    fig = new_figure(10.0, 4.5)
    ax_cls, ax_conf = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    if len(starts):
        # Steps: each window holds its class from its onset until the next onset.
        xs = np.column_stack([starts, ends]).ravel()  # (2W,)
        _draw_classes(ax_cls, xs, starts, table.labels, level, reference)
        conf = np.asarray(table.confidence, dtype=np.float64)
        ax_conf.fill_between(
            xs,
            np.repeat(np.nan_to_num(conf, nan=0.0), 2),
            step=None,
            color="tab:orange",
            alpha=0.6,
            linewidth=0,
        )
    ax_cls.set_yticks(range(len(order)), labels=list(reversed(order)))
    ax_cls.set_ylim(-1.0, len(order) - 0.5)
    ax_cls.set_title(_hypnogram_title(table, reference))
    ax_conf.set_ylim(0.0, 1.0)
    ax_conf.set_ylabel("confidence")
    ax_conf.set_xlabel(f"time from recording start ({unit})")
    fig.tight_layout()
    return fig


def _draw_classes(ax, xs, starts, labels, level, reference: Reference | None) -> None:
    """The predicted steps (``xs`` (2W,) step ends), the reference behind them, bad marks."""
    if reference is not None:
        ref_y = np.array(
            [np.nan if r is None else level.get(r, np.nan) for r in reference.labels]
        )  # (W,) NaN where unscored: a gap in the line
        ax.plot(
            xs,
            np.repeat(ref_y, 2),
            color="black",
            alpha=0.45,
            linewidth=3.0,
            label=f"reference ({reference.source})",
        )
    y = np.array([level.get(lab, np.nan) for lab in labels], dtype=np.float64)  # (W,)
    ax.plot(xs, np.repeat(y, 2), color="tab:blue", linewidth=1.2, label="predicted")
    bad = np.array([lab == BAD_LABEL for lab in labels])
    if bad.any():
        ax.scatter(starts[bad], np.full(bad.sum(), -0.6), marker="|", color="grey", label=BAD_LABEL)
    if bad.any() or reference is not None:
        ax.legend(loc="upper right", fontsize=8)


def _hypnogram_title(table: PredictionTable, reference: Reference | None) -> str:
    title = f"{table.recording_id}: predicted class over time"
    if reference is not None:
        same, n_both = agreement(table.labels, reference.labels)
        if n_both:
            title += f"; agrees with the reference in {same} of {plural(n_both, 'window')}"
            title += f" ({100 * same / n_both:.1f} %)"
    return title
