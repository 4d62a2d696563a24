"""Small torch modules with the classifier's optimisation interface, for engine-level tests."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class FourValueWindows:
    """In-memory stand-in for a WindowDataset: ``n`` windows of 4 samples, 3 classes."""

    in_memory = True

    def __init__(self, n: int = 16) -> None:
        self.x = torch.randn(n, 4)
        self.labels = np.arange(n) % 3

    def __len__(self) -> int:
        return len(self.labels)

    def get_batch(self, positions):
        idx = torch.as_tensor(np.asarray(positions))
        return self.x[idx], torch.as_tensor(self.labels)[idx]


class LayeredNet(nn.Module):
    """embed (layer 0) -> ``depth`` blocks (layers 1..depth) -> norm + head (layer depth + 1)."""

    def __init__(self, depth: int = 3, width: int = 8, n_classes: int = 3) -> None:
        super().__init__()
        self.embed = nn.Linear(4, width)
        self.pos_embed = nn.Parameter(torch.zeros(1, width))
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, n_classes)
        self.num_layers = depth + 2
        self.config = {"depth": depth, "width": width, "n_classes": n_classes}

    def no_weight_decay(self) -> set[str]:
        return {"pos_embed"}

    def layer_id(self, name: str) -> int:
        if name.startswith(("embed", "pos_embed")):
            return 0
        if name.startswith("blocks."):
            return int(name.split(".")[1]) + 1
        return self.num_layers - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x) + self.pos_embed
        for block in self.blocks:
            h = h + torch.relu(block(h))
        return self.head(self.norm(h))


def sum_ranks_worker(plan: dict, ctx, events) -> dict:
    """Every rank adds its rank + 1; rank 0 reports the all-reduced total and emits one event."""
    total = ctx.sum_(torch.tensor([float(ctx.rank + 1)]))
    if events is not None:
        events("step", {"rank": ctx.rank, "world": ctx.world_size})
    return {"total": float(total.item()), "world": ctx.world_size, "plan": plan}


def failing_rank_worker(plan: dict, ctx, events) -> dict:
    """Rank 1 fails (by exception, or dies by SIGKILL) while rank 0 waits in a collective."""
    import os
    import signal

    from cwtmae_cli.errors import DataError

    if ctx.rank == 1:
        if plan["how"] == "raise":
            raise DataError("rank one could not read its shard")
        os.kill(os.getpid(), signal.SIGKILL)
    ctx.barrier()
    return {}


def write_sine_store(
    path,
    n_per_class: int = 24,
    n_classes: int = 3,
    n_samples: int = 3000,
    fs_hz: float = 100.0,
    seed: int = 0,
    labelled: bool = True,
):
    """A store whose classes are separable by sinusoid frequency (2, 5, 11 Hz, ...), with noise.

    Eight subjects of one recording each; the split puts subjects 0-4 in train, 5-6 in
    validation and 7 in test, so every split holds every class.
    """
    import numpy as np

    from cwtmae_cli.data.store.arrays import write_store_from_arrays

    rng = np.random.default_rng(seed)
    freqs_hz = [2.0, 5.0, 11.0, 17.0, 23.0][:n_classes]
    t_s = np.arange(n_samples) / fs_hz
    signals, labels = [], []
    for k, f in enumerate(freqs_hz):
        for _ in range(n_per_class):
            phase = rng.uniform(0, 2 * np.pi)
            amp = rng.uniform(20, 60)
            wave = amp * np.sin(2 * np.pi * f * t_s + phase) + rng.normal(0, 5, n_samples)
            signals.append(wave)
            labels.append(k)
    order = rng.permutation(len(labels))
    signals = np.asarray(signals, dtype=np.float32)[order][:, None, :]  # (N, 1, L)
    labels = np.asarray(labels)[order]
    n = len(labels)
    recording = np.arange(n) % 8
    split = np.select([recording < 5, recording < 7], [0, 1], 2).astype(np.int8)
    start_s = (np.arange(n) // 8) * (n_samples / fs_hz)
    return write_store_from_arrays(
        path,
        signals,
        labels if labelled else np.full(n, -1),
        recording,
        start_s.astype(np.float64),
        fs_hz=fs_hz,
        window_s=n_samples / fs_hz,
        channels=["EEG Fpz-Cz"],
        label_names=[f"f{k}" for k in range(n_classes)] if labelled else [],
        subjects=[f"s{i}" for i in range(8)],
        split=split,
    )
