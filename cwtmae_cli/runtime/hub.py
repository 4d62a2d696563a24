"""``hf://OWNER/NAME[@REV]``: an exported model on the Hugging Face hub, fetched with the optional
``huggingface_hub`` package into its cache and used only when its manifest checks out.

A ``pathlib.Path`` folds the double slash (``hf:/OWNER/NAME``); both spellings are read.
"""

from __future__ import annotations

import re
from pathlib import Path

from cwtmae_cli import __version__
from cwtmae_cli.errors import CheckpointError, UsageError

HUB_SCHEME = "hf:"
_REF = re.compile(r"^hf:/{1,2}(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<revision>[\w./-]+))?/?$")


def is_hub_ref(source: str | Path) -> bool:
    """True for ``hf://...`` (or its Path-folded ``hf:/...``)."""
    return str(source).startswith(HUB_SCHEME + "/")


def parse_hub_ref(source: str | Path) -> tuple[str, str | None]:
    """``(OWNER/NAME, REV or None)``; UsageError for anything else after ``hf://``."""
    match = _REF.match(str(source))
    if match is None:
        raise UsageError(f"`{source}` is not a hub model name; write hf://OWNER/NAME or "
                         "hf://OWNER/NAME@REVISION")
    return match["repo"], match["revision"]


def _hub_module():
    try:
        import huggingface_hub
        import huggingface_hub.constants
        import huggingface_hub.errors
    except ImportError:
        raise CheckpointError("hf:// models need the huggingface_hub package: "
                              "pip install 'cwtmae[hub]'") from None
    return huggingface_hub


def fetch_hub_model(source: str | Path) -> Path:
    """The local snapshot folder of ``source`` (downloaded into the hub cache when needed).
    The caller verifies it; CheckpointError in one line when it cannot be had."""
    repo, revision = parse_hub_ref(source)
    hub = _hub_module()
    name = f"hf://{repo}" + (f"@{revision}" if revision else "")
    cache = Path(hub.constants.HF_HUB_CACHE)
    errors = hub.errors
    try:
        folder = hub.snapshot_download(
            repo, revision=revision, library_name="cwtmae", library_version=__version__
        )
    except errors.LocalEntryNotFoundError:
        raise CheckpointError(f"cannot fetch {name}: the hub is out of reach and the model is not "
                              f"in the cache {cache}; connect, or copy the folder and give its "
                              "path") from None
    except errors.RevisionNotFoundError:
        raise CheckpointError(f"{name}: no revision {revision} on the hub") from None
    except errors.RepositoryNotFoundError:
        raise CheckpointError(f"{name}: no such model on the hub (or it is private: log in "
                              "with `hf auth login`)") from None
    except (errors.HfHubHTTPError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"cannot fetch {name}: {first}") from None
    return Path(folder)
