"""TensorBoard event files beside ``metrics.jsonl``: every line the run logs becomes scalars
(``train/loss``, ``train/lr``, ``val/macro_f1``, ...), and pretraining adds its reconstruction
figure as an image. ``tensorboard --logdir runs/`` then shows one run per folder.

``tensorboard`` is an optional dependency (``pip install 'cwtmae[tensorboard]'``); without it
the run writes everything else and the plan says so in one note.
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

# Keys of a metrics.jsonl line that say where the line is, not what was measured.
_POSITION_KEYS = frozenset({"kind", "step", "epoch", "best"})


def tensorboard_missing() -> str | None:
    """The one-line note of a run that cannot write event files, or None when it can."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401  (needs `tensorboard`)
    except ImportError:
        return (
            "tensorboard is not installed: this run writes no TensorBoard event files "
            "(pip install 'cwtmae[tensorboard]' to get them)"
        )
    return None


def scalars_of(record: dict[str, Any]) -> dict[str, float]:
    """The numbers of one metrics.jsonl line as TensorBoard tags: ``{kind}/{key}``, nested dicts
    (per-class figures) as ``{kind}/{key}/{inner}``; booleans, strings, lists and None left out."""
    kind = str(record.get("kind", "train"))
    found: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}/{key}", inner)
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            found[prefix] = float(value)

    for key, value in record.items():
        if key not in _POSITION_KEYS:
            walk(f"{kind}/{key}", value)
    return found


class TensorBoardLog:
    """A ``SummaryWriter`` on a run folder. ``purge_step`` (a resumed run's first new step)
    makes TensorBoard drop what the interrupted session logged from that step on, as
    ``metrics.jsonl`` is truncated."""

    def __init__(self, run_path: Path, purge_step: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_path), purge_step=purge_step)
        self.last_step = 0 if purge_step is None else purge_step - 1

    @classmethod
    def open(cls, run_path: Path, purge_step: int | None = None) -> TensorBoardLog | None:
        """The log, or None when tensorboard is not installed (the plan's note says so)."""
        if tensorboard_missing() is not None:
            return None
        return cls(run_path, purge_step)

    def record(self, record: dict[str, Any]) -> None:
        """Write one metrics.jsonl line (it needs its ``step``) as scalars."""
        step = int(record["step"])
        self.last_step = max(self.last_step, step)
        for tag, value in scalars_of(record).items():
            self.writer.add_scalar(tag, value, global_step=step)
        self.writer.flush()

    def figure(self, tag: str, figure: Any) -> None:
        """A matplotlib figure (with an Agg canvas, as ``figure.py`` makes them) as an image at
        the last step logged; drawn here, not through pyplot, so no global backend is chosen."""
        import numpy as np

        figure.canvas.draw()
        rgb = np.asarray(figure.canvas.buffer_rgba())[..., :3]  # (H, W, 3) uint8
        self.writer.add_image(tag, rgb, global_step=self.last_step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
