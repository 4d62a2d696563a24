"""Class probabilities of many windows, one batch at a time.

Memory stays bounded by the batch: windows are fetched batch by batch from a ``get_batch``
callable (a store or an in-memory array of raw windows), standardised, and the model computes
the CWT images of that batch only (B × 3 × scales × L floats), which are freed before the next
batch. Nothing here ever holds the images of a whole recording.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from cwtmae_cli.model import standardize_windows
from cwtmae_cli.model.context import check_context_size  # noqa: F401  the CLI checks --context
from cwtmae_cli.runtime.precision import autocast

BatchFn = Callable[[np.ndarray], torch.Tensor]


def predict_proba(
    model: torch.nn.Module,
    n_windows: int,
    get_batch: BatchFn,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    progress: Callable[[int, int], None] | None = None,
    precision: str = "fp32",
) -> np.ndarray:
    """Softmax probabilities of ``n_windows`` windows.

    Args:
        model: a classifier mapping standardised windows (B, L) to logits (B, K).
        n_windows: N, the number of windows.
        get_batch: ``get_batch(indices (B,) int64) -> (B, L)`` float32 raw windows.
        batch_size: windows per forward pass.
        device: where the model runs (the model must already be there).
        progress: called as ``progress(done, n_windows)`` after each batch.
        precision: ``bf16`` (autocast around the network; CWT and softmax float32) or ``fp32``.

    Returns:
        (N, K) float32 probabilities, rows summing to 1.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device)
    was_training = model.training
    model.eval()
    chunks: list[np.ndarray] = []
    try:
        with torch.inference_mode():
            for start in range(0, n_windows, batch_size):
                indices = np.arange(start, min(start + batch_size, n_windows), dtype=np.int64)
                x = torch.as_tensor(get_batch(indices), dtype=torch.float32)  # (B, L)
                x = standardize_windows(x.to(device))
                with autocast(device, precision):
                    logits = model(x).float()  # (B, K)
                chunks.append(torch.softmax(logits, dim=-1).cpu().numpy())
                if progress is not None:
                    progress(int(indices[-1]) + 1, n_windows)
    finally:
        model.train(was_training)
    if not chunks:
        n_classes = int(getattr(model, "config", {}).get("num_classes", 0))
        return np.zeros((0, n_classes), dtype=np.float32)
    return np.concatenate(chunks, axis=0).astype(np.float32, copy=False)


def array_batches(windows: np.ndarray, rows: np.ndarray | None = None) -> BatchFn:
    """``get_batch`` over an in-memory (N, L) array of raw windows (only its ``rows``, when
    given: index ``i`` is window ``rows[i]``)."""

    def get_batch(indices: np.ndarray) -> torch.Tensor:
        picked = windows[indices] if rows is None else windows[rows[indices]]
        return torch.from_numpy(np.ascontiguousarray(picked, dtype=np.float32))

    return get_batch


def predict_proba_context(
    model: torch.nn.Module,
    neighbours: np.ndarray,
    get_batch: BatchFn,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    progress: Callable[[int, int], None] | None = None,
    precision: str = "fp32",
) -> np.ndarray:
    """Softmax probabilities of a context model (``ContextClassifier``), chunk by chunk.

    A chunk is ``batch_size`` consecutive rows of ``neighbours``; the windows they name (the
    chunk and its ``K // 2`` neighbours on each side, when windows are in time order) go through
    the encoder once, so memory is bounded by the chunk whatever the recording's length.

    Args:
        neighbours: (N, K) int64 positions for ``get_batch`` (see
            :func:`cwtmae_cli.data.context.neighbour_table`), -1 where a neighbour is missing.
        get_batch: ``get_batch(indices (M,) int64) -> (M, L)`` float32 raw windows.

    Returns:
        (N, num_classes) float32 probabilities, one row per row of ``neighbours``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device)
    was_training = model.training
    model.eval()
    n_windows, chunks = len(neighbours), []
    try:
        with torch.inference_mode():
            for start in range(0, n_windows, batch_size):
                rows = neighbours[start : start + batch_size]  # (B, K)
                with autocast(device, precision):
                    chunks.append(_context_chunk(model, rows, get_batch, device))
                if progress is not None:
                    progress(min(start + batch_size, n_windows), n_windows)
    finally:
        model.train(was_training)
    if not chunks:
        return np.zeros((0, int(model.config["num_classes"])), dtype=np.float32)
    return np.concatenate(chunks, axis=0).astype(np.float32, copy=False)


def _context_chunk(model, rows: np.ndarray, get_batch: BatchFn, device) -> np.ndarray:
    """Probabilities (B, num_classes) of one chunk of neighbourhoods ``rows`` (B, K)."""
    present = rows >= 0  # (B, K)
    needed, local = np.unique(rows[present], return_inverse=True)  # (M,), (P,)
    x = torch.as_tensor(get_batch(needed), dtype=torch.float32)  # (M, L) or (M, C, L)
    with torch.autocast(device.type, enabled=False):  # the z-score stays float32
        x = standardize_windows(x.to(device))
    tokens = model.forward_features(x)  # (M, N, D)
    where = np.zeros(rows.shape, dtype=np.int64)  # (B, K) row of each window in ``tokens``
    where[present] = local.reshape(-1)
    where_t = torch.from_numpy(where).to(device)
    embeddings = tokens.mean(dim=1)[where_t]  # (B, K, D)
    centre = tokens[where_t[:, rows.shape[1] // 2]]  # (B, N, D)
    present_t = torch.from_numpy(present).to(device)
    logits = model.forward_context(centre, embeddings, present_t).float()  # (B, num_classes)
    return torch.softmax(logits, dim=-1).cpu().numpy()


def classify(
    model: torch.nn.Module,
    get_batch: BatchFn,
    recording: np.ndarray,
    start_s: np.ndarray,
    fs_hz: float,
    context: int | None = None,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    progress: Callable[[int, int], None] | None = None,
    precision: str = "fp32",
) -> np.ndarray:
    """Probabilities (N, num_classes) of the N windows ``get_batch`` serves, which belong to
    ``recording`` (N,) and start at ``start_s`` (N,) s: one window at a time for a single-window
    model, through the ``context`` windows around each (default and at most: the model's own,
    see :func:`cwtmae_cli.model.context.resolve_context`) for a context model."""
    from cwtmae_cli.data.context import narrow, neighbour_table, onset_samples

    config = getattr(model, "config", {})
    trained = int(config.get("context", 1))
    if trained == 1:
        return predict_proba(model, len(start_s), get_batch, batch_size, device, progress,
                             precision)
    stride = int(round(float(config["context_stride_s"]) * fs_hz))
    table = neighbour_table(recording, onset_samples(start_s, fs_hz), trained, stride)  # (N, K)
    return predict_proba_context(
        model, narrow(table, context or trained), get_batch, batch_size, device, progress,
        precision,
    )
