"""benchmarks/gpu_check.py: the analytic FLOP count that its fraction of peak rests on, and its
clean skip without a GPU; benchmarks/bench_train.py's counted FLOPs agree with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from cwtmae_cli.model import CWT_MAE_RoPE

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from gpu_check import mae_flops_per_window  # noqa: E402


@pytest.mark.parametrize("mlp_rank_ratio", [0.5, 0.25])
def test_analytic_flops_equal_torchs_counter_on_the_math_attention(mlp_rank_ratio) -> None:
    torch.manual_seed(0)
    model = CWT_MAE_RoPE(signal_len=200, cwt_scales=8, patch_size_time=20, patch_size_freq=2,
                         embed_dim=64, depth=2, num_heads=2, decoder_embed_dim=32,
                         decoder_depth=1, decoder_num_heads=2, mlp_rank_ratio=mlp_rank_ratio)
    x = torch.randn(4, 200)
    counter, scalogram = FlopCounterMode(display=False), FlopCounterMode(display=False)
    # the math kernel spells attention as matrix products, which the counter sees
    with counter, sdpa_kernel(SDPBackend.MATH):
        model(x)[0].backward()
    # the input's z-score takes its moments through a few float64 dot products (the forward
    # computes the scalogram once, and no gradient reaches it): not the network's FLOPs
    with scalogram, torch.no_grad():
        model.encoder.images(x)
    network = counter.get_total_flops() - scalogram.get_total_flops()
    assert scalogram.get_total_flops() < 0.01 * network
    assert mae_flops_per_window(model.config) == network / 4


def test_without_cuda_it_skips_in_one_line_and_exits_zero() -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible: the check would run")
    done = subprocess.run([sys.executable, str(BENCHMARKS / "gpu_check.py")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert done.stdout.startswith("gpu_check: skipped: no CUDA device (torch ")
    assert len(done.stdout.strip().splitlines()) == 1


def test_bench_trains_count_includes_attention_as_the_analytic_count_does() -> None:
    """bench_train.py's GFLOP/window is torch's counter over a real step; on the CPU the fused
    attention kernel is invisible to that counter unless the count runs the math kernel."""
    from bench_train import flops_per_window

    from cwtmae_cli.train.pretrain import MAEObjective

    torch.manual_seed(0)
    model = CWT_MAE_RoPE(signal_len=200, cwt_scales=8, patch_size_time=20, patch_size_freq=2,
                         embed_dim=64, depth=2, num_heads=2, decoder_embed_dim=32,
                         decoder_depth=1, decoder_num_heads=2)
    x = torch.randn(4, 200)
    counted = flops_per_window(MAEObjective(model), x, torch.zeros(4, dtype=torch.long),
                               torch.device("cpu"), "fp32")
    # the objective's per-window z-score and the scalogram's moments add well under 1 %
    assert counted == pytest.approx(mae_flops_per_window(model.config), rel=0.01)
