"""Models shipped inside the package: ``cwtmae_cli/models/<name>/``, each an exported hub folder
(:mod:`~cwtmae_cli.runtime.export`) with one more file, ``evaluation.json``: the figures its
training measured (cross-validation and a held-out split) and the recipe that made it::

    cwtmae_cli/models/ecg-rhythm-tiny/
        model.safetensors  meta.json  config.json  README.md  manifest.json
        evaluation.json    {"name", "cross_validation": {...}, "held_out_test": {...}, "recipe"}

The manifest lists ``evaluation.json`` too, so the figures that ``cwtmae models`` and
``predict --model`` show are checked like the weights: a bundled folder whose files do not
match its manifest is refused. ``tools/train_bundled_model.py`` writes these folders.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cwtmae_cli import __version__
from cwtmae_cli.errors import CheckpointError
from cwtmae_cli.model.pretrained import WEIGHTS_FILE
from cwtmae_cli.runtime.checkpoint import META_FILE
from cwtmae_cli.runtime.export import (
    CARD_FILE,
    HUB_CONFIG_FILE,
    VERIFIED_FILES,
    export_checkpoint,
)
from cwtmae_cli.runtime.manifest import MANIFEST_FILE, manifest_of, verify_manifest

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
EVALUATION_FILE = "evaluation.json"
# The challenge's best entries reached 0.83; issue 15 asks 0.80 of a bundled model. A model
# below this says so wherever it is offered.
SCORE_TARGET = 0.80
_CARD_TRAINING = "## Training\n"


@dataclass(frozen=True)
class BundledModel:
    """One bundled model, read from its (verified) folder."""

    name: str
    folder: Path
    meta: dict[str, Any]
    evaluation: dict[str, Any]

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())

    @property
    def headline(self) -> tuple[float | None, str]:
        """The challenge score cwtmae stands behind (cross-validated, else held-out test) and
        how it was measured, e.g. ``(0.41, "0.410 ± 0.020, 3-fold cross-validated")``."""
        from cwtmae_cli.runtime.bundle_card import headline

        return headline(self.evaluation)

    @property
    def below_target(self) -> bool:
        score = self.headline[0]
        return score is None or score < SCORE_TARGET

    def describe(self) -> dict[str, Any]:
        """What ``cwtmae models --json`` prints for this model."""
        pre = self.meta.get("preprocessing") or {}
        cv = self.evaluation.get("cross_validation") or {}
        test = self.evaluation.get("held_out_test") or {}
        return {
            "name": self.name,
            "task": self.evaluation.get("task"),
            "classes": list(self.meta.get("label_names") or []),
            "fs_hz": pre.get("fs_hz"),
            "window_s": pre.get("window_s"),
            "lead": pre.get("channel"),
            "preset": self.meta.get("preset"),
            "n_parameters": (self.meta.get("weights") or {}).get("n_parameters"),
            "size_bytes": self.size_bytes,
            "cv_folds": cv.get("n_folds"),
            "cv_challenge_score": cv.get("challenge_score"),
            "cv_records": cv.get("records"),
            "test_challenge_score": test.get("challenge_score"),
            "challenge_score": self.headline[0],
            "challenge_score_source": self.headline[1],
            "below_target": self.below_target,
            "folder": str(self.folder),
        }


def bundled_names(models_dir: Path | None = None) -> list[str]:
    """The names of the bundled models (folders holding a manifest), sorted."""
    models_dir = models_dir or MODELS_DIR
    if not models_dir.is_dir():
        return []
    return sorted(p.name for p in models_dir.iterdir() if (p / MANIFEST_FILE).is_file())


def load_bundled(name: str, models_dir: Path | None = None) -> BundledModel:
    """The bundled model ``name``, its files checked against its manifest first.

    CheckpointError (one line) for an unknown name, naming the known ones, or for a folder
    that fails its manifest."""
    models_dir = models_dir or MODELS_DIR
    known = bundled_names(models_dir)
    if name not in known:
        listed = ", ".join(known) if known else "none (this installation ships no model)"
        raise CheckpointError(f"no bundled model `{name}`; the bundled models are: {listed} "
                              "(see `cwtmae models`)")
    folder = models_dir / name
    verify_manifest(folder, required=(WEIGHTS_FILE, META_FILE, EVALUATION_FILE))
    meta = _read_json(folder / META_FILE)
    evaluation = _read_json(folder / EVALUATION_FILE)
    if meta.get("kind") != "classifier":
        raise CheckpointError(f"bundled model {folder} is not a classifier")
    return BundledModel(name, folder, meta, evaluation)


def list_bundled(models_dir: Path | None = None) -> list[BundledModel]:
    """Every bundled model, verified."""
    return [load_bundled(name, models_dir) for name in bundled_names(models_dir)]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} cannot be read ({exc})") from None


def write_bundle(checkpoint: Path, out: Path, evaluation: dict[str, Any]) -> Path:
    """Export ``checkpoint`` to ``out`` (new or empty) as a bundled model: the hub folder,
    ``evaluation.json``, the card's measured-figures section and a manifest over all of it."""
    from cwtmae_cli.runtime.bundle_card import figures_section

    folder = export_checkpoint(checkpoint, out)
    (folder / EVALUATION_FILE).write_text(json.dumps(evaluation, indent=1) + "\n",
                                          encoding="utf-8")
    card = (folder / CARD_FILE).read_text(encoding="utf-8")
    head, marker, rest = card.partition(_CARD_TRAINING)
    # The measured figures come first, before the export card's training summary.
    card = head + figures_section(evaluation) + marker + rest if marker else card + "\n" + \
        figures_section(evaluation)
    (folder / CARD_FILE).write_text(card, encoding="utf-8")
    names = [*VERIFIED_FILES, EVALUATION_FILE]
    manifest = {**manifest_of(folder, names), "cwtmae_version": __version__}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


def copy_bundle(folder: Path, models_dir: Path | None = None) -> Path:
    """Install a bundle folder into ``models_dir`` (replacing one of the same name)."""
    target = (models_dir or MODELS_DIR) / folder.name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(folder, target)
    verify_manifest(target, required=(WEIGHTS_FILE, META_FILE, EVALUATION_FILE, HUB_CONFIG_FILE))
    return target
