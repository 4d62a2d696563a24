"""Run a training worker in this process, in ``--gpus N`` spawned processes, or inside a torchrun
launch, and turn a failing rank into a :class:`TrainingError` instead of a hang.

Spawned workers report to the parent through a queue: rank 0's progress events (the parent hands
them to the caller's ``events`` callback, so progress renders in the process that owns the
terminal), its result, and any rank's error. The parent polls the children; when one exits badly
it stops the others and raises. Collectives also time out (``dist_timeout_s``), so a rank that
hangs without dying ends the run too.
"""

from __future__ import annotations

import queue as queue_module
import sys
import time
from collections.abc import Callable
from typing import Any

from cwtmae_cli import errors
from cwtmae_cli.errors import TrainingError
from cwtmae_cli.runtime.device import resolve_device
from cwtmae_cli.train.distributed import (
    DistContext,
    context_from_env,
    free_port,
    in_torchrun,
    init_process_group,
    teardown,
)
from cwtmae_cli.train.job import Events

Worker = Callable[[Any, DistContext, Events | None], dict[str, Any]]
POLL_S = 0.1
STOP_GRACE_S = 10.0
SETTLE_S = 3.0  # after a first failure, how long the other ranks get to report


def launch(
    worker: Worker,
    plan: Any,
    gpus: int,
    device_name: str,
    timeout_s: float,
    events: Events | None = None,
) -> dict[str, Any]:
    """Run ``worker(plan, ctx, events)`` on every rank; return rank 0's result."""
    if in_torchrun():
        ctx = context_from_env(device_name, timeout_s)
        try:
            return worker(plan, ctx, events if ctx.is_main else None)
        finally:
            teardown()
    if gpus == 1:
        return worker(plan, DistContext.single(resolve_device(device_name)), events)
    return spawn(worker, plan, gpus, device_name, timeout_s, events)


def _error_from(name: str, message: str) -> Exception:
    """Rebuild a worker's project error in the parent (same class), else a TrainingError."""
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, errors.CwtmaeError):
        return cls(message)
    return TrainingError(message)


def _child(
    worker: Worker,
    plan: Any,
    rank: int,
    world_size: int,
    device_name: str,
    timeout_s: float,
    port: int,
    channel: Any,
) -> None:
    """Entry point of a spawned rank."""

    def emit(kind: str, payload: dict[str, Any]) -> None:
        channel.put(("event", kind, payload))

    code = 0
    try:
        ctx = init_process_group(
            rank, world_size, rank, device_name, timeout_s, "127.0.0.1", master_port=port
        )
        result = worker(plan, ctx, emit if rank == 0 else None)
        if rank == 0:
            channel.put(("result", result))
    except BaseException as exc:  # report every failure to the parent, then exit non-zero
        if isinstance(exc, errors.CwtmaeError):
            channel.put(("error", rank, type(exc).__name__, str(exc), True))
        else:
            message = f"rank {rank}: {type(exc).__name__}: {exc}"
            channel.put(("error", rank, "TrainingError", message, False))
        code = 1
    finally:
        teardown()
        channel.close()
        channel.join_thread()  # flush the queue's feeder thread before the process exits
    sys.exit(code)


def _root_cause(reports: dict[int, tuple[str, str, bool]], codes: list[int | None]) -> Exception:
    """The error that explains the failure best: a project error raised by worker code, else a
    rank that died without a word (signal / exit code), else any rank's exception (often a
    peer's "connection closed" once the first rank is gone)."""
    for rank in sorted(reports):
        name, message, is_project = reports[rank]
        if is_project:
            return _error_from(name, message)
    for rank, code in enumerate(codes):
        if code not in (None, 0) and rank not in reports:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            return TrainingError(f"rank {rank} {how}; the other ranks were stopped")
    rank = min(reports)
    return _error_from(reports[rank][0], reports[rank][1])


class _Inbox:
    """What the ranks send over the queue: events (passed on), rank 0's result, error reports."""

    def __init__(self, channel: Any, events: Events | None) -> None:
        self.channel, self.events = channel, events
        self.result: dict[str, Any] | None = None
        self.reports: dict[int, tuple[str, str, bool]] = {}

    def handle(self, message: tuple) -> None:
        if message[0] == "event" and self.events is not None:
            self.events(message[1], message[2])
        elif message[0] == "result":
            self.result = message[1]
        elif message[0] == "error":
            self.reports.setdefault(message[1], (message[2], message[3], message[4]))

    def drain(self, wait_s: float) -> None:
        """Handle messages until none comes for ``wait_s`` seconds."""
        try:
            while True:
                self.handle(self.channel.get(timeout=wait_s))
        except queue_module.Empty:
            pass


def _watch(procs: list, inbox: _Inbox) -> None:
    """Return when every rank exited 0; raise the root cause when one fails."""
    while True:
        inbox.drain(POLL_S)
        codes = [proc.exitcode for proc in procs]
        if inbox.reports or any(c not in (None, 0) for c in codes):
            # Let the other ranks report or die too, then name the root cause.
            deadline = time.monotonic() + SETTLE_S
            while time.monotonic() < deadline and any(p.is_alive() for p in procs):
                inbox.drain(POLL_S)
            inbox.drain(POLL_S)
            raise _root_cause(inbox.reports, [proc.exitcode for proc in procs])
        if all(c == 0 for c in codes):
            inbox.drain(0.5)
            return


def _stop(procs: list) -> None:
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(STOP_GRACE_S)
        if proc.is_alive():
            proc.kill()
            proc.join()


def spawn(
    worker: Worker,
    plan: Any,
    world_size: int,
    device_name: str,
    timeout_s: float,
    events: Events | None = None,
) -> dict[str, Any]:
    """Start ``world_size`` processes on this machine and watch them until rank 0 returns."""
    import torch.multiprocessing as mp

    context = mp.get_context("spawn")
    inbox = _Inbox(context.Queue(), events)
    port = free_port()
    procs = [
        context.Process(
            target=_child,
            args=(worker, plan, rank, world_size, device_name, timeout_s, port, inbox.channel),
            name=f"cwtmae-rank{rank}",
        )
        for rank in range(world_size)
    ]
    for proc in procs:
        proc.start()
    try:
        _watch(procs, inbox)
    finally:
        _stop(procs)
    if inbox.result is None:
        raise TrainingError("the training processes ended without a result")
    return inbox.result
