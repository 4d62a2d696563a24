"""The reconstruction figure written at the end of pretraining: input CWT, masked input,
reconstruction, and the time-domain prediction over the (z-scored) signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn


def unpatchify(
    patches: torch.Tensor, patch_freq: int, patch_time: int, grid_h: int, grid_w: int
) -> torch.Tensor:
    """Inverse of ``CWT_MAE_RoPE.patchify``: ``(B, N, 3 C pf pt)`` -> ``(B, 3 C, S, L)``."""
    B = patches.shape[0]
    x = patches.reshape(B, grid_h, grid_w, -1, patch_freq, patch_time)  # (B, gh, gw, 3C, pf, pt)
    x = x.permute(0, 3, 1, 4, 2, 5)  # (B, C, gh, pf, gw, pt)
    return x.reshape(B, -1, grid_h * patch_freq, grid_w * patch_time)  # (B, 3 C, S, L)


def write_reconstruction_figure(
    mae: nn.Module, x: torch.Tensor, fs_hz: float, path: Path, seed: int = 0
) -> Path:
    """Save :func:`reconstruction_figure` as the PNG ``path``."""
    path = Path(path)
    reconstruction_figure(mae, x, fs_hz, seed).savefig(path, dpi=90)
    return path


def reconstruction_figure(mae: nn.Module, x: torch.Tensor, fs_hz: float, seed: int = 0):
    """Run ``mae`` on one standardised window ``x (1, L)``; a 4-panel matplotlib ``Figure``.

    Masking draws from a forked RNG seeded with ``seed``, so the figure changes nothing else.
    """
    # Agg canvas directly: no pyplot, so no global backend is chosen for the user's process.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    was_training = mae.training
    mae.eval()
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        parts = mae.forward_with_parts(x)
    mae.train(was_training)
    pf, pt = mae.patch_size
    gh, gw = mae.encoder.grid_h, mae.encoder.grid_w
    imgs = parts["imgs"][0, 0].float().cpu().numpy()  # (S, L): the signal view
    recon = unpatchify(parts["pred_spec"].float(), pf, pt, gh, gw)[0, 0].cpu().numpy()  # (S, L)
    mask = parts["mask"][0].float().cpu().numpy().reshape(gh, gw)  # (gh, gw), 1 = masked
    mask_full = np.kron(mask, np.ones((pf, pt))) > 0.5  # (S, L)
    masked_input = np.where(mask_full, np.nan, imgs)
    shown = np.where(mask_full, recon, imgs)  # reconstruction where masked, input elsewhere
    signal = x[0].reshape(-1, x.shape[-1])[0].float().cpu().numpy()  # (L,): the first channel
    pred_time = parts["pred_time"][0].reshape(-1, x.shape[-1])[0].float().cpu().numpy()
    t_s = np.arange(signal.shape[0]) / fs_hz
    extent = (0.0, signal.shape[0] / fs_hz, imgs.shape[0], 0.0)

    fig = Figure(figsize=(11, 10), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(4, 1)
    vmin, vmax = np.nanpercentile(imgs, [1, 99])
    panels = (
        ("input CWT (signal view)", imgs),
        ("masked input", masked_input),
        (
            f"reconstruction (masked patches predicted; loss_spec {float(parts['loss_spec']):.3f})",
            shown,
        ),
    )
    for ax, (title, image) in zip(axes[:3], panels, strict=True):
        ax.imshow(image, aspect="auto", extent=extent, vmin=vmin, vmax=vmax, cmap="magma")
        ax.set_title(title)
        ax.set_ylabel("scale index")
    axes[3].plot(t_s, signal, lw=0.6, label="input (z-scored)")
    axes[3].plot(t_s, pred_time, lw=0.6, label="time-domain prediction")
    axes[3].set_title(f"time domain (loss_time {float(parts['loss_time']):.3f})")
    axes[3].set_xlabel("time (s)")
    axes[3].legend(loc="upper right")
    return fig
