"""The manifest of an exported model folder: the size and sha256 of every file cwtmae reads
from it, so that a folder copied, uploaded or downloaded is used only when it is whole.

``manifest.json``::

    {"format": "cwtmae-manifest", "version": 1,
     "files": {"model.safetensors": {"size": 1234, "sha256": "..."}, "meta.json": {...}, ...}}

The model card (``README.md``) is not listed: cwtmae never reads it, and the hub lets its
owners edit it in the browser.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cwtmae_cli.errors import CheckpointError

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "cwtmae-manifest"
MANIFEST_VERSION = 1


def sha256_file(path: Path) -> str:
    """sha256 (hex) of the file at ``path``, read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_of(folder: Path, names: list[str]) -> dict[str, Any]:
    """The manifest describing the files ``names`` of ``folder`` as they are now."""
    files = {
        name: {"size": (folder / name).stat().st_size, "sha256": sha256_file(folder / name)}
        for name in names
    }
    return {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "files": files}


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{folder} has no {MANIFEST_FILE}; an exported model is used only when its manifest "
            "vouches for its files (export it again with `cwtmae export`)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is corrupted ({exc}); download or export it again") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if manifest.get("format") != MANIFEST_FORMAT or not isinstance(files, dict):
        raise CheckpointError(f"{path} is not a cwtmae manifest (no format/files entries)")
    if not isinstance(manifest.get("version"), int) or manifest["version"] > MANIFEST_VERSION:
        raise CheckpointError(
            f"{path} has manifest version {manifest.get('version')!r}; this cwtmae reads up to "
            f"{MANIFEST_VERSION}: upgrade cwtmae"
        )
    return manifest


def verify_manifest(folder: Path, required: tuple[str, ...]) -> None:
    """Check every file the manifest of ``folder`` lists (present, same size, same sha256) and
    that it lists each of ``required``; CheckpointError naming the first file that fails."""
    folder = Path(folder)
    files = _read_manifest(folder)["files"]
    for name in required:
        if name not in files:
            raise CheckpointError(f"{folder / MANIFEST_FILE} does not list {name}; refusing the "
                                  "folder (export it again)")
    for name, entry in files.items():
        path = folder / name
        if Path(name).name != name or not path.is_file():
            raise CheckpointError(f"{path} is missing (listed in {MANIFEST_FILE}); the folder is "
                                  "incomplete: download or export it again")
        size = path.stat().st_size
        if size != entry.get("size"):
            raise CheckpointError(f"{path} has {size} bytes but {MANIFEST_FILE} says "
                                  f"{entry.get('size')}; the file is truncated or replaced")
        if sha256_file(path) != entry.get("sha256"):
            raise CheckpointError(f"{path} does not match the sha256 in {MANIFEST_FILE}; the "
                                  "file is corrupted or replaced: download or export it again")
