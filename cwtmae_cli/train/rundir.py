"""The run folder: ``config.json``, ``metrics.jsonl``, ``checkpoints/``, ``latest``, ``FINISHED``.

::

    runs/<command>-<UTC stamp>/
        config.json              resolved run configuration (no `auto`, no null)
        metrics.jsonl            one JSON object per logged step / validation
        events.out.tfevents.*    the same figures for TensorBoard (when it is installed)
        checkpoints/step-0000100/  model.safetensors, meta.json, train_state.pt
        checkpoints/best/        fine-tuning: best validation macro-F1
        latest                   relative path of the newest checkpoint (replaced atomically)
        FINISHED                 written last, when the run completed
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from cwtmae_cli.errors import UsageError
from cwtmae_cli.runtime.checkpoint import fsync_dir
from cwtmae_cli.workdir import FINISHED_MARKER

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
LATEST_FILE = "latest"
CHECKPOINTS_DIR = "checkpoints"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temp sibling, fsync, rename over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def check_new_run_dir(path: Path) -> None:
    """A new run may not write into an existing non-empty folder (nothing gets overwritten)."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(
            f"run folder {path} already exists and is not empty; choose another --out, "
            "or continue it with --resume"
        )


class RunDir:
    """Paths and writers of one run folder (only rank 0 creates one)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # train.tensorboard.TensorBoardLog once the run opens one: every metrics line goes there
        self.tensorboard: Any = None

    @classmethod
    def create(cls, path: Path, config: dict[str, Any]) -> RunDir:
        check_new_run_dir(path)
        run = cls(path)
        (run.path / CHECKPOINTS_DIR).mkdir(parents=True, exist_ok=True)
        write_text_atomic(run.path / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
        return run

    def write_config(self, config: dict[str, Any]) -> None:
        """Replace ``config.json`` (with the resolved values, once the model is built)."""
        write_text_atomic(self.path / CONFIG_FILE, json.dumps(config, indent=2) + "\n")

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS_DIR

    def step_dir(self, step: int) -> Path:
        return self.checkpoints / f"step-{step:07d}"

    @property
    def best_dir(self) -> Path:
        return self.checkpoints / "best"

    def read_config(self) -> dict[str, Any]:
        return json.loads((self.path / CONFIG_FILE).read_text(encoding="utf-8"))

    def append_metrics(self, record: dict[str, Any]) -> None:
        with open(self.path / METRICS_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.tensorboard is not None:
            self.tensorboard.record(record)

    def read_metrics(self) -> list[dict[str, Any]]:
        path = self.path / METRICS_FILE
        if not path.is_file():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def truncate_metrics_after(self, step: int) -> None:
        """On resume: drop lines logged after the checkpoint we continue from (they get redone)."""
        path = self.path / METRICS_FILE
        if not path.is_file():
            return
        kept = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut by the crash we resume from
                continue
            if record.get("step", 0) <= step:
                kept.append(line)
        write_text_atomic(path, "".join(f"{line}\n" for line in kept))

    def recover_interrupted_saves(self) -> list[Path]:
        """On resume: undo what a crash inside ``save_checkpoint`` or a pointer update left.

        ``.NAME.old-*`` is a complete checkpoint moved aside to be replaced: when ``NAME`` is
        missing (the crash fell between the two renames) it is put back, else deleted.
        ``.NAME.tmp-*`` folders and ``.latest.tmp-*`` files are unfinished writes: deleted.
        Returns the paths removed or restored.
        """
        import shutil

        touched = []
        for old in sorted(self.checkpoints.glob(".*.old-*")):
            name = old.name[1:].rsplit(".old-", 1)[0]
            if (self.checkpoints / name).exists():
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(old, self.checkpoints / name)
            touched.append(old)
        for tmp in [*self.checkpoints.glob(".*.tmp-*"), *self.path.glob(".*.tmp-*")]:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
            touched.append(tmp)
        return touched

    def set_latest(self, ckpt: Path) -> None:
        write_text_atomic(self.path / LATEST_FILE, str(Path(ckpt).relative_to(self.path)) + "\n")

    def mark_finished(self, summary: dict[str, Any]) -> None:
        write_text_atomic(self.path / FINISHED_MARKER, json.dumps(summary, indent=2) + "\n")

    @property
    def finished(self) -> bool:
        return (self.path / FINISHED_MARKER).exists()
