"""A lock file beside a store, so two ``prepare`` runs never write the same store.

The lock holds the writer's pid and host. A lock left by a process that no longer exists (a
``prepare`` killed with SIGKILL) is stale and taken over.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from cwtmae_cli.errors import StoreError


def lock_path_for(store_path: Path) -> Path:
    """``stores/x.zarr`` -> ``stores/x.zarr.lock``."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".lock")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class StoreLock:
    """Context manager: holds ``<store>.lock`` while writing ``store_path``."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = Path(store_path)
        self.path = lock_path_for(self.store_path)
        self._held = False

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self._owner_alive():
                    owner = self._read_owner()
                    raise StoreError(
                        f"{self.store_path} is being written by another `cwtmae prepare` "
                        f"(pid {owner.get('pid')}); wait for it to finish, or delete "
                        f"{self.path} if that process is gone"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its writer died
                continue
            with os.fdopen(fd, "w") as f:
                f.write(payload)
            self._held = True
            return
        raise StoreError(f"could not take the lock {self.path}; delete it and retry")

    def _read_owner(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def _owner_alive(self) -> bool:
        owner = self._read_owner()
        pid = owner.get("pid")
        if not isinstance(pid, int):
            return False  # unreadable lock (writer died while writing it)
        if owner.get("host") not in (None, socket.gethostname()):
            return True  # another machine's writer: we cannot tell, so respect it
        return pid != os.getpid() and _pid_alive(pid)

    def release(self) -> None:
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
