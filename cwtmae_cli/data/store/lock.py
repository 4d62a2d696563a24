"""A lock beside a store, so two ``prepare`` runs never write the same store.

``<store>.lock`` is held with ``fcntl.flock``: the kernel releases it when its holder exits, however
it exits (SIGKILL included), so a lock file left behind by a dead writer is simply free again and
no pid has to be guessed at. The file also records the holder's pid and host, for the message a
second writer gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path

from cwtmae_cli.errors import StoreError


def lock_path_for(store_path: Path) -> Path:
    """``stores/x.zarr`` -> ``stores/x.zarr.lock``."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".lock")


class StoreLock:
    """Context manager: holds ``<store>.lock`` while writing ``store_path``."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = Path(store_path)
        self.path = lock_path_for(self.store_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(fd)
                os.close(fd)
                raise StoreError(
                    f"{self.store_path} is being written by another `cwtmae prepare` "
                    f"(pid {owner.get('pid')} on {owner.get('host', 'an unknown host')}); "
                    "wait for it to finish"
                ) from None
            if not _same_file(fd, self.path):
                os.close(fd)  # the holder released and removed it under us: take the new one
                continue
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
            self._fd = fd
            return
        raise StoreError(f"could not take the lock {self.path}; retry")

    def release(self) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # while still held, so nobody locks a removed file
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_owner(fd: int) -> dict:
    try:
        owner = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def _same_file(fd: int, path: Path) -> bool:
    """True when ``path`` still names the file open as ``fd`` (not removed or replaced)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)
