"""The label-efficiency figure: test macro-F1 (mean ± sd over folds) against the label fraction,
one line per setting over test windows; when the summary has recording-level figures (labels per
recording), a dashed line per setting over test recordings too. Drawn on matplotlib's Agg canvas
(no pyplot), like the other figures."""

from __future__ import annotations

from pathlib import Path

from cwtmae_cli.benchmark.protocol import SETTINGS

_STYLE = {"pretrained": ("tab:blue", "o"), "scratch": ("tab:orange", "s")}


def plot_label_efficiency(
    summary: dict, fractions: list[float], path: Path, metric: str = "macro_f1", title: str = ""
) -> Path:
    """Write the PNG of ``summary[setting][fraction][metric]`` (see
    :func:`~cwtmae_cli.benchmark.results.summarize`) to ``path``, and of its
    ``recording_level`` statistics when present; a log fraction axis."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from cwtmae_cli.benchmark.results import recording_level_view

    fig = Figure(figsize=(6.0, 4.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    by_recording = recording_level_view(summary)
    levels = [(summary, "-", " (windows)" if by_recording else "")]
    if by_recording:
        levels.append((by_recording, "--", " (recordings)"))
    for by_setting, line, suffix in levels:
        for setting in SETTINGS:
            points = _points(by_setting, setting, fractions, metric)
            if not points:
                continue
            colour, marker = _STYLE[setting]
            ax.errorbar(
                [f * 100 for f, _ in points],
                [s["mean"] for _, s in points],
                yerr=[s["sd"] or 0.0 for _, s in points],
                color=colour,
                marker=marker,
                linestyle=line,
                capsize=4,
                label=("from scratch" if setting == "scratch" else "from pretraining") + suffix,
            )
    ax.set_xscale("log")
    ax.set_xticks([f * 100 for f in fractions])
    ax.set_xticklabels([f"{f * 100:g} %" for f in fractions])
    ax.minorticks_off()
    ax.set_xlabel("labelled training windows")
    name = {"macro_f1": "macro-F1", "cohen_kappa": "Cohen's kappa"}.get(metric, metric)
    ax.set_ylabel(f"test {name.replace('_', ' ')} (mean ± sd over folds)")
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, format="png")
    return path


def _points(by_setting: dict, setting: str, fractions: list[float], metric: str) -> list:
    """``[(fraction, {"mean", "sd", "n"})]`` of the fractions where ``metric`` has a mean."""
    from cwtmae_cli.benchmark.protocol import fraction_key

    return [
        (f, by_setting[setting][fraction_key(f)][metric])
        for f in fractions
        if by_setting.get(setting, {}).get(fraction_key(f), {}).get(metric, {}).get("mean")
        is not None
    ]
