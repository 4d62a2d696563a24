"""The CUDA paths (bf16 autocast, NCCL): run where a GPU is lent (``pytest -m gpu``).

Finite means ``torch.isfinite`` / ``math.isfinite``: ``loss == loss`` is True for an infinite
loss."""

from __future__ import annotations

import math

import pytest
import torch
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app
from cwtmae_cli.model import build_mae
from cwtmae_cli.train.job import autocast
from cwtmae_cli.train.rundir import RunDir

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

CUDA = torch.device("cuda")


def sine_batch(n: int = 8, n_samples: int = 3000, seed: int = 0) -> torch.Tensor:
    """``(n, n_samples)`` sinusoids of random frequency plus noise, z-scored per window."""
    gen = torch.Generator().manual_seed(seed)
    t_s = torch.arange(n_samples) / 100.0
    freqs_hz = 1 + 20 * torch.rand(n, 1, generator=gen)
    x = torch.sin(2 * torch.pi * freqs_hz * t_s) + 0.1 * torch.randn(n, n_samples, generator=gen)
    return (x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True)


def test_autocast_runs_the_network_in_bf16_and_keeps_the_loss_float32_and_finite() -> None:
    torch.manual_seed(0)
    model = build_mae("tiny").to(CUDA)
    seen: dict[str, torch.dtype] = {}
    hook = model.encoder.blocks[0].attn.qkv.register_forward_hook(
        lambda module, args, out: seen.update(qkv=out.dtype))  # returns None
    with autocast(CUDA, "bf16"):
        parts = model.forward_with_parts(sine_batch().to(CUDA))
    hook.remove()
    assert seen["qkv"] == torch.bfloat16  # autocast really is on inside the model
    assert parts["imgs"].dtype == torch.float32  # the scalogram stays float32
    assert parts["loss"].dtype == torch.float32
    assert torch.isfinite(parts["loss"]) and torch.isfinite(parts["pred_spec"]).all()
    parts["loss"].backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_a_few_bf16_steps_lower_the_loss_on_a_fixed_batch() -> None:
    torch.manual_seed(0)
    model = build_mae("tiny").to(CUDA)
    x = sine_batch().to(CUDA)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(20):
        torch.manual_seed(1)  # the same masks every step: a pure fitting problem
        with autocast(CUDA, "bf16"):
            loss = model(x)[0]
        assert torch.isfinite(loss), losses
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses


def test_scalogram_on_cuda_matches_the_cpu_one() -> None:
    model = build_mae("tiny")
    x = sine_batch(4)
    cpu = model.encoder.images(x)
    with autocast(CUDA, "bf16"):
        gpu = model.to(CUDA).encoder.images(x.to(CUDA))
    assert gpu.dtype == torch.float32 and gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("gpus", [1, 2])
def test_pretrain_then_finetune_on_cuda(tmp_path, gpus) -> None:
    if gpus > torch.cuda.device_count():
        pytest.skip(f"needs {gpus} GPUs")
    store = write_sine_store(tmp_path / "sine.zarr", n_per_class=16)
    common = ["--data", str(store), "--device", "cuda", "--gpus", str(gpus), "--batch-size", "8"]
    runner = CliRunner()
    pre = tmp_path / "pre"
    result = runner.invoke(app, ["pretrain", "--model", "tiny", "--steps", "6", *common,
                                 "--out", str(pre)])
    assert result.exit_code == 0, result.output
    losses = [r["loss"] for r in RunDir(pre).read_metrics() if r["kind"] == "train"]
    assert losses and all(math.isfinite(loss) for loss in losses)  # finite under bf16
    ft = tmp_path / "ft"
    result = runner.invoke(app, ["finetune", "--pretrained", str(pre), "--steps", "30",
                                 "--lr", "2e-3", *common, "--out", str(ft)])
    assert result.exit_code == 0, result.output
    assert (ft / "FINISHED").exists()
    records = RunDir(ft).read_metrics()
    assert all(math.isfinite(r["loss"]) for r in records if "loss" in r)
