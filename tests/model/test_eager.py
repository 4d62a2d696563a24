"""``eager_under_compile``: eager code never imports torch._dynamo; compiled, one graph break."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from cwtmae_cli.model import CWT_MAE_RoPE
from cwtmae_cli.model.eager import prepare_for_compile

ROOT = Path(__file__).resolve().parents[2]

# every module of the package imported, then the CWT, the one-pass z-scored CWT and the direct
# token path run eagerly: none of it may import the compiler (1.6 s at every start)
EAGER_RUN = textwrap.dedent("""
    import importlib, pkgutil, sys
    import torch
    import cwtmae_cli
    for info in pkgutil.walk_packages(cwtmae_cli.__path__, "cwtmae_cli."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    from cwtmae_cli.model import TF_MAE_Classifier, build_mae, cwt_wrap, preset_config
    torch.manual_seed(0)
    classifier = TF_MAE_Classifier(None, num_classes=4, **preset_config("tiny")).eval()
    x = torch.randn(2, 3000)
    with torch.no_grad():
        classifier.encoder.direct_tokens = True  # whatever the rule says for 2 windows
        classifier(x)
        classifier.encoder.direct_tokens = False
        classifier(x)
    cwt_wrap(x[:, :200], 8)
    loss = build_mae("tiny")(x)[0]
    loss.backward()
    print("torch._dynamo" in sys.modules)
""")


def test_eager_code_never_imports_the_compiler() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", EAGER_RUN], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False", "torch._dynamo was imported by eager code"


def test_a_prepared_compile_leaves_the_cwt_at_one_place_in_two_graphs() -> None:
    """With the twins made before the trace, the scalogram splits the graph as the plain decorator
    did: its one break is the call of the disabled function (made on the spot, the twin costs
    more breaks, at the ``torch.compiler.disable`` call itself, and more graphs)."""
    from torch._dynamo.utils import counters

    torch.manual_seed(0)
    model = CWT_MAE_RoPE(signal_len=200, cwt_scales=8, patch_size_time=20, patch_size_freq=2,
                         embed_dim=32, depth=1, num_heads=2, decoder_embed_dim=32,
                         decoder_depth=1, decoder_num_heads=2)
    graphs: list[torch.fx.GraphModule] = []

    def recording_backend(gm: torch.fx.GraphModule, example_inputs):
        graphs.append(gm)
        return gm.forward

    x = torch.randn(2, 200)
    torch._dynamo.reset()
    counters.clear()
    prepare_for_compile()
    compiled = torch.compile(model.encoder.tokens, backend=recording_backend)
    out, out_again = compiled(x), compiled(x)  # the scalogram path: gradients wanted
    expected = model.encoder.tokens(x)
    reasons = [reason.splitlines()[0] for reason in counters["graph_break"]]
    unique_graphs = counters["stats"]["unique_graphs"]
    torch._dynamo.reset()
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    torch.testing.assert_close(out_again, expected, rtol=0, atol=0)
    assert reasons == ["Skip calling `torch.compiler.disable()`d function"], reasons
    assert unique_graphs == 2  # before the scalogram and after it; no recompile
    assert not [n for gm in graphs for n in gm.graph.nodes if "fft" in str(n.target)]
