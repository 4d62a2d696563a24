"""The checks of ``predict --stride-s`` against a checkpoint (before its model is loaded)."""

from __future__ import annotations

from cwtmae_cli.errors import UsageError


def check_stride(stride_s: float | None, meta: dict) -> None:
    """UsageError when ``--stride-s`` is not a whole number of samples at the checkpoint's rate."""
    fs_hz = float((meta.get("preprocessing") or {}).get("fs_hz") or 0)
    n = (stride_s or 0) * fs_hz
    if stride_s is not None and fs_hz > 0 and (n < 1 or abs(n - round(n)) > 1e-6):
        raise UsageError(f"--stride-s {stride_s:g} is not a whole number of samples at the "
                         f"checkpoint's {fs_hz:g} Hz (a multiple of {1 / fs_hz:g} s)")


def check_context_stride(stride_s: float | None, context: int, model_config: dict) -> None:
    """UsageError when a context model would look for its neighbours at another stride."""
    trained = float(model_config.get("context_stride_s") or 0)
    if context > 1 and stride_s is not None and trained > 0 and abs(stride_s - trained) > 1e-9:
        raise UsageError(f"--stride-s {stride_s:g}: this context model's neighbours are "
                         f"{trained:g} s apart (its training stride); use --stride-s {trained:g}")
