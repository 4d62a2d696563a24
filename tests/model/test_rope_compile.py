"""RoPE tables held as buffers: the same numbers as the cache, and nothing to recompile."""

from __future__ import annotations

import torch

from cwtmae_cli.model import CWT_MAE_RoPE
from cwtmae_cli.model.eager import prepare_for_compile
from cwtmae_cli.model.encoder import CWTEncoder
from cwtmae_cli.model.rope import RotaryEmbedding


def test_a_module_built_for_a_grid_returns_its_buffers_with_the_caches_values() -> None:
    for mode in ("axial", "1d"):
        held = RotaryEmbedding(16, mode, grid=(3, 5))
        cos, sin = held.tables(3, 5)
        assert cos is held.grid_cos and sin is held.grid_sin
        expected = RotaryEmbedding(16, mode).tables(3, 5)
        torch.testing.assert_close((cos, sin), expected, rtol=0, atol=0)
        assert held.state_dict() == {}  # checkpoints unchanged
        held.double()  # the buffers follow; the tables stay float32
        assert held.grid_cos.dtype == torch.float64
        assert held.tables(3, 5)[0].dtype == torch.float32
        torch.testing.assert_close(held.tables(3, 5), expected, rtol=0, atol=0)
        other = held.tables(2, 4)  # another grid: the cache, as before
        torch.testing.assert_close(other, RotaryEmbedding(16, mode).tables(2, 4), rtol=0, atol=0)
        held.float().to("meta")  # moved: the buffers, not a copy of the CPU cache
        assert held.tables(3, 5, "meta")[0] is held.grid_cos


def test_a_module_moved_after_it_was_built_compiles_once() -> None:
    """The model is built on the CPU and moved (to CUDA; here to ``meta``, which runs nowhere):
    the tables for the new device come from the buffers, not from a cache filled while tracing."""
    from torch._dynamo.utils import counters

    torch.manual_seed(0)
    encoder = CWTEncoder(signal_len=200, cwt_scales=8, patch_size_time=20, patch_size_freq=2,
                         embed_dim=32, depth=1, num_heads=2).to("meta")
    tokens = torch.randn(2, encoder.num_patches, 32, device="meta")
    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(encoder, backend="eager", dynamic=False)
    compiled(tokens)
    compiled(tokens)
    frames = counters["frames"]["total"]
    torch._dynamo.reset()
    assert frames == 1


def test_compiled_training_steps_after_the_first_compile_nothing() -> None:
    """The encoder's and the decoder's tables were cached on the first call, which failed a
    guard on the second (``rope.py: self._axis_tables.get(device)``): a recompile per run."""
    from torch._dynamo.utils import counters

    torch.manual_seed(0)
    model = CWT_MAE_RoPE(signal_len=200, cwt_scales=8, patch_size_time=20, patch_size_freq=2,
                         embed_dim=32, depth=1, num_heads=2, decoder_embed_dim=32,
                         decoder_depth=1, decoder_num_heads=2)
    x = torch.randn(2, 200)
    torch._dynamo.reset()
    counters.clear()
    prepare_for_compile()  # as --compile does
    compiled = torch.compile(model, backend="eager", dynamic=False)
    compiled(x)[0].backward()
    frames_first = counters["frames"]["total"]
    graphs_first = counters["stats"]["unique_graphs"]
    for _ in range(2):
        compiled(x)[0].backward()
    frames, graphs = counters["frames"]["total"], counters["stats"]["unique_graphs"]
    torch._dynamo.reset()
    assert graphs_first >= 1
    assert (frames, graphs) == (frames_first, graphs_first)
