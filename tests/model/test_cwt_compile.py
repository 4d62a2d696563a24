"""torch.compile leaves the CWT (complex FFT) out of the compiled graph."""

from __future__ import annotations

import torch

from cwtmae_cli.model import CWT_MAE_RoPE


def test_no_compiled_graph_holds_an_fft_and_the_output_is_eager_s() -> None:
    torch.manual_seed(0)
    model = CWT_MAE_RoPE(signal_len=200, cwt_scales=8, patch_size_time=20, patch_size_freq=2,
                         embed_dim=32, depth=1, num_heads=2, decoder_embed_dim=32,
                         decoder_depth=1, decoder_num_heads=2).eval()
    graphs: list[torch.fx.GraphModule] = []

    def recording_backend(gm: torch.fx.GraphModule, example_inputs):
        graphs.append(gm)
        return gm.forward  # run the captured graph as it is: no code generation needed

    x = torch.randn(2, 200)
    torch._dynamo.reset()
    compiled = torch.compile(model.encoder.images, backend=recording_backend)
    with torch.no_grad():
        out = compiled(x)
        expected = model.encoder.images(x)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    targets = [str(node.target) for gm in graphs for node in gm.graph.nodes]
    assert not [t for t in targets if "fft" in t], targets
    torch._dynamo.reset()
