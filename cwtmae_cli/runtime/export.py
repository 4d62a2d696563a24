"""``cwtmae export``: a checkpoint as a folder the Hugging Face hub takes as a model repository.

::

    OUT/
        model.safetensors   the weights, as trained
        meta.json           the cwtmae checkpoint description (model_config, preprocessing, labels)
        config.json         the same for the hub: library, kind, architecture, labels
        README.md           the model card, led by its YAML metadata block
        manifest.json       size and sha256 of the three files above

The folder is itself a checkpoint folder: ``--checkpoint`` and ``--pretrained`` take it (or its
``hf://`` name once uploaded), after checking every file against the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from cwtmae_cli import __version__
from cwtmae_cli.errors import CheckpointError, UsageError
from cwtmae_cli.model.pretrained import WEIGHTS_FILE
from cwtmae_cli.runtime.checkpoint import META_FILE, fsync_dir, read_meta, resolve_checkpoint
from cwtmae_cli.runtime.manifest import MANIFEST_FILE, manifest_of, sha256_file

HUB_CONFIG_FILE = "config.json"
CARD_FILE = "README.md"
VERIFIED_FILES = (WEIGHTS_FILE, META_FILE, HUB_CONFIG_FILE)
# Validation figures a classifier's best checkpoint records (engine.py: meta["metrics"]).
CARD_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "cohen_kappa")
_ARCHITECTURE = {"mae": "CWT_MAE_RoPE", "classifier": "TF_MAE_Classifier"}


def hub_config(meta: dict[str, Any]) -> dict[str, Any]:
    """``config.json``: what the hub and a reader of the repository see of the model."""
    return {
        "library_name": "cwtmae",
        "model_type": "cwt-mae-rope",
        "architectures": [_ARCHITECTURE[meta["kind"]]],
        "kind": meta["kind"],
        "preset": meta.get("preset"),
        "model_config": meta["model_config"],
        "preprocessing": meta.get("preprocessing", {}),
        "label_names": meta.get("label_names", []),
        "cwtmae_version": meta.get("tool_version"),
    }


CHANCE_KAPPA = 0.1  # below this, the card says the model is near chance


def recorded_metrics(meta: dict[str, Any]) -> dict[str, float]:
    """The figures the checkpoint itself recorded (its validation at save time), or {}."""
    metrics = meta.get("metrics") or {}
    return {
        key: float(metrics[key])
        for key in CARD_METRICS
        if isinstance(metrics.get(key), (int, float)) and not isinstance(metrics[key], bool)
    }


def _dataset_name(meta: dict[str, Any]) -> str | None:
    store = meta.get("store")
    return Path(store).name.removesuffix(".zarr") if store else None


def _yaml_list(key: str, values: list[str]) -> list[str]:
    # JSON strings are YAML scalars: quoting by json.dumps keeps any name safe.
    return [f"{key}:", *(f"  - {json.dumps(v)}" for v in values)] if values else []


def card_metadata(meta: dict[str, Any]) -> list[str]:
    """The lines of the card's YAML block (between the ``---`` fences)."""
    signal = "eeg" if "EEG" in str(meta.get("preprocessing", {}).get("channel", "")) else "ecg"
    task = "pretraining" if meta["kind"] == "mae" else "time-series-classification"
    tags = ["cwtmae", "cwt", "masked-autoencoder", signal, task]
    dataset = _dataset_name(meta)
    metrics = recorded_metrics(meta)
    lines = ['library_name: "cwtmae"', *_yaml_list("tags", tags)]
    lines += _yaml_list("datasets", [dataset] if dataset else [])
    lines += _yaml_list("metrics", list(metrics))
    if metrics:
        split = (meta.get("metrics") or {}).get("split", "val")
        lines += [
            "model-index:", f"  - name: {json.dumps(meta.get('preset') or 'cwtmae')}",
            "    results:", "      - task:", f"          type: {json.dumps(task)}",
            "        dataset:", f"          name: {json.dumps(dataset or 'unknown')}",
            f"          type: {json.dumps(dataset or 'unknown')}",
            f"          split: {json.dumps(split)}", "        metrics:",
        ]
        for key, value in metrics.items():
            lines += [f"          - type: {json.dumps(key)}", f"            value: {value!r}"]
    return lines


def _figures_section(meta: dict[str, Any]) -> list[str]:
    metrics = recorded_metrics(meta)
    if not metrics:
        return ["No evaluation was recorded with this checkpoint, so this card gives no figures."]
    split = (meta.get("metrics") or {}).get("split", "val")
    n = (meta.get("metrics") or {}).get("n_windows")
    over = f" over {n} windows" if isinstance(n, int) else ""
    lines = [f"Recorded on the `{split}` split at step {meta.get('step')}{over}:", "",
             "| metric | value |", "| --- | --- |"]
    lines += [f"| {key} | {value:.4f} |" for key, value in metrics.items()]
    lines += ["", f"The run chose this checkpoint on these `{split}` figures, so they are its "
              "selection figures, not a held-out or cross-validated estimate."]
    if metrics.get("cohen_kappa", 1.0) < CHANCE_KAPPA:
        lines.append(f"Cohen's kappa {metrics['cohen_kappa']:.2f} is near chance: the model does "
                     "little better than guessing here, and its accuracy is mostly the share of "
                     "the commonest class.")
    return lines


def model_card(meta: dict[str, Any], n_parameters: int | None) -> str:
    """``README.md``: the YAML block, then what the model is, what it was trained on, its
    recorded figures, how to run it and its limits. Every figure comes from ``meta``."""
    pre = meta.get("preprocessing", {})
    what = ("a CWT-MAE-RoPE encoder pretrained as a masked autoencoder (no classes)"
            if meta["kind"] == "mae" else "a CWT-MAE-RoPE window classifier")
    labels = ", ".join(meta.get("label_names", [])) or "none"
    use = ("cwtmae finetune --pretrained hf://OWNER/NAME" if meta["kind"] == "mae"
           else "cwtmae predict RECORDING --checkpoint hf://OWNER/NAME")
    body = [
        "---", *card_metadata(meta), "---", "",
        f"# cwtmae {meta.get('preset') or ''} {meta['kind']} model".replace("  ", " "), "",
        f"This is {what}, trained with cwtmae {meta.get('tool_version')} "
        f"({n_parameters if n_parameters is not None else 'unknown'} parameters).", "",
        "## Training", "",
        f"- data: store `{_dataset_name(meta) or 'unknown'}`, step {meta.get('step')} "
        f"(epoch {meta.get('epoch')})",
        f"- windows: {pre.get('window_s')} s at {pre.get('fs_hz')} Hz of channel "
        f"`{pre.get('channel')}`, {pre.get('standardize', 'z-scored')}",
        f"- classes: {labels}", "",
        "## Figures", "", *_figures_section(meta), "",
        "## Use", "", "```", use, "```", "",
        "`manifest.json` holds the size and sha256 of the weights, `meta.json` and `config.json`; "
        "cwtmae refuses the folder when one of them differs.", "",
        "## Limits", "",
        "A research model, not a medical device: do not use it for diagnosis or treatment. "
        "It has seen only the data above; on other devices, channels or populations its "
        "figures do not hold until measured there.", "",
    ]
    return "\n".join(body)


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} already exists and is not empty; choose another --out")


def export_checkpoint(source: Path, out: Path) -> Path:
    """Write the hub folder of checkpoint ``source`` (a run folder means its best checkpoint)
    to ``out`` (new or empty), atomically: a temp sibling renamed into place. The weights are
    checked against their recorded sha256 first: a corrupt checkpoint is never exported."""
    out = Path(out)
    _check_out(out)
    ckpt = resolve_checkpoint(source, prefer="best")
    meta = read_meta(ckpt)
    weights = ckpt / WEIGHTS_FILE
    expected = (meta.get("weights") or {}).get("sha256")
    if not weights.is_file() or (expected is not None and sha256_file(weights) != expected):
        raise CheckpointError(f"{weights} is missing or differs from the sha256 in "
                              f"{ckpt / META_FILE}; not exporting a corrupted checkpoint")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _write_folder(tmp, ckpt, meta)
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_folder(tmp: Path, ckpt: Path, meta: dict[str, Any]) -> None:
    shutil.copyfile(ckpt / WEIGHTS_FILE, tmp / WEIGHTS_FILE)
    shutil.copyfile(ckpt / META_FILE, tmp / META_FILE)
    config = hub_config(meta)
    (tmp / HUB_CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    n_parameters = (meta.get("weights") or {}).get("n_parameters")
    (tmp / CARD_FILE).write_text(model_card(meta, n_parameters), encoding="utf-8")
    manifest = {**manifest_of(tmp, list(VERIFIED_FILES)), "cwtmae_version": __version__}
    (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for child in tmp.iterdir():
        with open(child, "rb") as fh:
            os.fsync(fh.fileno())
    fsync_dir(tmp)
