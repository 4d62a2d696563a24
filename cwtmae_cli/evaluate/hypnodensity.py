"""The hypnodensity of a prediction: each class's probability over the recording, stacked.

At every window the bands add up to 1: from the bottom, the classes in hypnogram order reversed
(for sleep stages N3 at the bottom, W on top), so a deep-sleep stretch fills the plot from below.
A window stands for its class probabilities from its onset until the next onset (the same steps
as the hypnogram); a window quality control rejected is a grey ``bad`` band of full height.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cwtmae_cli.evaluate.plots import class_order, new_figure
from cwtmae_cli.evaluate.summary import BAD_LABEL
from cwtmae_cli.evaluate.table import PredictionTable

# Stage colours as sleep scorers know them; other classes take matplotlib's cycle.
_STAGE_COLOURS = {
    "W": "#f2c14e",
    "WAKE": "#f2c14e",
    "REM": "#e4572e",
    "R": "#e4572e",
    "N1": "#a5d8ff",
    "N2": "#4dabf7",
    "N3": "#1c3f94",
    "N4": "#0b1f4f",
}


def step_edges(table: PredictionTable) -> np.ndarray:
    """(2W,) times in seconds: each window's onset and the next window's onset (the last one's
    end for the last window), interleaved, so that a value repeated twice draws a step."""
    onsets = np.asarray(table.onset_s, dtype=np.float64)  # (W,)
    if not len(onsets):
        return onsets
    ends = np.append(onsets[1:], onsets[-1] + table.window_s)  # (W,)
    return np.column_stack([onsets, ends]).ravel()  # (2W,)


def stacked_bands(table: PredictionTable) -> tuple[list[str], np.ndarray]:
    """The bands from the bottom up and their upper edges ``(K + 1, W)``: the classes' cumulated
    probabilities, then ``bad`` (1 at a rejected window, where every class band is 0)."""
    order = list(reversed(class_order(table.label_names)))  # bottom band first
    index = [table.label_names.index(name) for name in order]
    bad = np.array([reason is not None for reason in table.quality], dtype=bool)  # (W,)
    # A rejected window has NaN probabilities: 0 in every class band.
    probs = np.nan_to_num(np.asarray(table.probs, dtype=np.float64)[:, index], nan=0.0)  # (W, K)
    upper = np.cumsum(probs, axis=1).T  # (K, W)
    top = np.where(bad, 1.0, upper[-1] if len(upper) else 0.0)  # (W,)
    return [*order, BAD_LABEL], np.vstack([upper, top[None, :]])  # (K + 1, W)


def hypnodensity_figure(table: PredictionTable):
    """The stacked class probabilities over time (hours past 2 h of recording, else minutes).
    Returns the matplotlib ``Figure``."""
    names, upper = stacked_bands(table)
    xs = step_edges(table)  # (2W,) s
    span_s = float(xs[-1]) if len(xs) else table.window_s
    unit, scale = ("h", 3600.0) if span_s > 7200 else ("min", 60.0)
    fig = new_figure(10.0, 3.5)
    ax = fig.add_subplot(1, 1, 1)
    lower = np.zeros(upper.shape[1])  # (W,)
    for k, name in enumerate(names):
        if not len(xs) or (name == BAD_LABEL and not np.any(upper[k] > lower)):
            lower = upper[k]
            continue
        colour = "lightgrey" if name == BAD_LABEL else _STAGE_COLOURS.get(name.upper(), f"C{k}")
        ax.fill_between(
            xs / scale,
            np.repeat(lower, 2),
            np.repeat(upper[k], 2),
            color=colour,
            linewidth=0,
            label=name,
        )
        lower = upper[k]
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel("probability")
    ax.set_xlabel(f"time from recording start ({unit})")
    ax.set_title(f"{table.recording_id}: class probabilities over time")
    handles, labels = ax.get_legend_handles_labels()
    if handles:  # top band first, as the bands are stacked
        ax.legend(
            handles[::-1], labels[::-1], loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8
        )
    fig.tight_layout()
    return fig


def plot_hypnodensity(table: PredictionTable, path: Path) -> Path:
    """Write :func:`hypnodensity_figure` as the PNG ``path``."""
    hypnodensity_figure(table).savefig(path, format="png")
    return Path(path)
