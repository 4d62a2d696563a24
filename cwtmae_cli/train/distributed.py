"""Process groups: one process per GPU (NCCL), or CPU processes over gloo (``--device cpu``).

A worker knows its place through :class:`DistContext`. Three ways to get one:

- a single process: ``DistContext.single(device)``;
- ``--gpus N`` spawned by :mod:`cwtmae_cli.train.launch` (rank, world size and a free local port
  passed in);
- a ``torchrun`` launch (multi-node): ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
  ``MASTER_PORT`` in the environment, read by :func:`context_from_env`.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from cwtmae_cli.errors import TrainingError
from cwtmae_cli.runtime.device import resolve_device

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: ``rank`` of ``world_size``, its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @classmethod
    def single(cls, device: torch.device) -> DistContext:
        return cls(rank=0, world_size=1, local_rank=0, device=device)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def sum_(self, values: torch.Tensor) -> torch.Tensor:
        """All-reduce (sum) a tensor in place across ranks; identity in a single process."""
        if self.distributed:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def mean_floats(self, values: dict[str, float]) -> dict[str, float]:
        """Average a dict of floats over ranks (same keys on every rank)."""
        if not self.distributed or not values:
            return dict(values)
        keys = sorted(values)
        packed = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=self.device)
        self.sum_(packed)
        return {k: float(v) / self.world_size for k, v in zip(keys, packed.tolist(), strict=True)}

    def gather_objects(self, obj: object) -> list[object]:
        """Every rank's ``obj`` (in rank order) on every rank; ``[obj]`` in a single process."""
        if not self.distributed:
            return [obj]
        out: list[object] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


def in_torchrun() -> bool:
    """True when launched by torchrun (or any launcher that sets the same variables)."""
    return all(name in os.environ for name in TORCHRUN_VARS)


def free_port() -> int:
    """A TCP port on localhost nobody listens on right now (for a single-node rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def init_process_group(
    rank: int,
    world_size: int,
    local_rank: int,
    device_name: str,
    timeout_s: float,
    master_addr: str | None = None,
    master_port: int | None = None,
) -> DistContext:
    """Join the process group: NCCL on CUDA (one device per local rank), gloo on CPU."""
    device = resolve_device(device_name)
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise TrainingError(
                f"local rank {local_rank} needs GPU {local_rank}, but only "
                f"{torch.cuda.device_count()} are visible; lower --gpus"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if master_addr is not None:
        os.environ["MASTER_ADDR"] = master_addr
    if master_port is not None:
        os.environ["MASTER_PORT"] = str(master_port)
    os.environ.setdefault("MASTER_PORT", "29500")
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(
        backend=backend,
        init_method="env://",
        rank=rank,
        world_size=world_size,
        timeout=timedelta(seconds=timeout_s),
    )
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def context_from_env(device_name: str, timeout_s: float) -> DistContext:
    """Join a torchrun launch from its environment variables."""
    return init_process_group(
        rank=int(os.environ["RANK"]),
        world_size=int(os.environ["WORLD_SIZE"]),
        local_rank=int(os.environ["LOCAL_RANK"]),
        device_name=device_name,
        timeout_s=timeout_s,
    )


def teardown() -> None:
    """Leave the process group if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
