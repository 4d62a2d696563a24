"""Run a ``cwtmae`` command in a forked child process and SIGKILL it at a chosen moment.

Forking the test process (which has already imported torch, mne and zarr) starts the command in
milliseconds instead of seconds, so a test can afford many kills. The child is a separate
process running the real command code; SIGKILL leaves on disk exactly what a crash would.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

KILLED = "killed"


@dataclass
class Outcome:
    """How a forked command ended: ``KILLED`` or its exit code, after ``elapsed_s``."""

    status: int | str
    elapsed_s: float
    log: str
    seen_s: float | None = None  # when ``watch`` first existed

    @property
    def killed(self) -> bool:
        return self.status == KILLED


def _child(args: list[str], log: Path) -> None:
    code = 70
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        from cwtmae_cli.cli.app import app

        try:
            app(args, prog_name="cwtmae")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # report anything to the log; the parent reads it
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def run_forked(
    args: list[str],
    log: Path,
    kill_after_s: float | None = None,
    timeout_s: float = 120.0,
    watch: Path | Callable[[], bool] | None = None,
    kill_after_seen_s: float | None = None,
) -> Outcome:
    """Run ``cwtmae *args`` in a child; SIGKILL it after ``kill_after_s`` if still running.

    ``watch``: a path whose first appearance (or a test that first holds) is timed
    (``Outcome.seen_s``); with
    ``kill_after_seen_s`` the child is killed that long after ``watch`` appears instead.
    """
    log = Path(log)
    seen_s = None
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        _child(args, log)
    deadline = started + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        now = time.monotonic()
        if watch is not None and seen_s is None and _holds(watch):
            seen_s = now - started
        if done:
            code = os.waitstatus_to_exitcode(status)
            return Outcome(code, now - started, _read(log), seen_s)
        due = kill_after_s
        if kill_after_seen_s is not None:
            due = None if seen_s is None else seen_s + kill_after_seen_s
        if due is not None and now - started >= due:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return Outcome(KILLED, now - started, _read(log), seen_s)
        if now > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"cwtmae {' '.join(args)} did not end in {timeout_s} s")
        time.sleep(0.001)


def _holds(watch: Path | Callable[[], bool]) -> bool:
    return watch.exists() if isinstance(watch, Path) else bool(watch())


def _read(log: Path) -> str:
    try:
        return log.read_text(errors="replace")
    except OSError:
        return ""
