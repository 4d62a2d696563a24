"""``--compile``: the compile time reported once, and eager when the backend cannot compile."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from stand_ins import FourValueWindows, LayeredNet
from torch import nn

from cwtmae_cli.train.config import FinetuneConfig
from cwtmae_cli.train.distributed import DistContext
from cwtmae_cli.train.engine import Engine
from cwtmae_cli.train.job import TrainJob

NO_COMPILER = ("backend='inductor' raised:\nInvalidCxxCompiler: No working C++ compiler found in "
               "torch._inductor.config.cpp.cxx: (None, 'g++')\n\nSet TORCH_LOGS=\"+dynamo\"")


class NoisyObjective(nn.Module):
    """Cross-entropy on inputs with fresh noise: the loss depends on the torch RNG."""

    def __init__(self, model: nn.Module, fail_eager: bool = False) -> None:
        super().__init__()
        self.model, self.fail_eager = model, fail_eager

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.fail_eager:
            raise ValueError("the model's own bug")
        logits = self.model(x + 0.5 * torch.randn_like(x))
        return {"loss": F.cross_entropy(logits, y)}


class CannotCompile:
    """What ``torch.compile`` hands back when inductor has no C++ compiler: a callable that
    fails on its first call, after the trace has drawn random numbers."""

    def __init__(self, module: nn.Module, **_: object) -> None:
        self.module = module

    def __call__(self, *args: object) -> object:
        torch.rand(16)  # tracing ran some of the forward before the backend gave up
        raise RuntimeError(NO_COMPILER)


def run(steps: int = 3, compile: bool = False, fail_eager: bool = False):
    """Losses of ``steps`` steps of a seeded run, and the engine's events."""
    torch.manual_seed(0)
    net = LayeredNet()
    windows = FourValueWindows()
    job = TrainJob(model=net, objective=NoisyObjective(net, fail_eager), train_set=windows,
                   meta={"kind": "classifier", "model_config": {}})
    events: list[tuple[str, dict]] = []
    config = FinetuneConfig(steps=steps, batch_size=4, device="cpu", compile=compile)
    engine = Engine(config, job, DistContext.single(torch.device("cpu")), run=None,
                    events=lambda kind, payload: events.append((kind, copy.deepcopy(payload))))
    losses = []
    for step in range(steps):
        losses.append(engine._train_step(engine._epoch_order(0)[4 * step: 4 * step + 4])["loss"])
        engine.step += 1
    return losses, [e for e in events if e[0].startswith("compile")]


def test_a_backend_that_cannot_compile_leaves_the_run_eager_and_says_so_once(monkeypatch):
    eager_losses, _ = run()
    monkeypatch.setattr(torch, "compile", CannotCompile)
    losses, events = run(compile=True)
    assert losses == eager_losses  # the failed step ran again from its own random state
    assert len(events) == 1 and events[0][0] == "compile_fallback"
    reason = events[0][1]["reason"]
    assert reason.startswith("RuntimeError: backend='inductor' raised: InvalidCxxCompiler: No "
                             "working C++ compiler found") and "\n" not in reason


def test_torch_compile_refusing_at_once_also_falls_back(monkeypatch):
    def refuse(module, **_):
        raise RuntimeError("Dynamo is not supported on this Python")

    monkeypatch.setattr(torch, "compile", refuse)
    losses, events = run(compile=True)
    assert events == [("compile_fallback",
                       {"reason": "RuntimeError: Dynamo is not supported on this Python"})]
    assert losses == run()[0]


def test_an_error_of_the_model_is_not_taken_for_the_compilers(monkeypatch):
    monkeypatch.setattr(torch, "compile", CannotCompile)
    with pytest.raises(ValueError, match="the model's own bug"):
        run(compile=True, fail_eager=True)


@pytest.mark.parametrize("steps", [1, 3])
def test_the_first_compiled_steps_time_is_reported_once(monkeypatch, steps: int):
    """A real torch.compile (the eager backend: no C++ compiler needed, static shapes)."""
    real = torch.compile
    calls = []

    def eager_backend(module, **kwargs):
        calls.append(kwargs)
        return real(module, backend="eager", **kwargs)

    monkeypatch.setattr(torch, "compile", eager_backend)
    torch._dynamo.reset()
    losses, events = run(steps=steps, compile=True)
    torch._dynamo.reset()
    assert calls == [{"dynamic": False}]
    assert [kind for kind, _ in events] == ["compile"]
    payload = events[0][1]
    assert payload["first_step_s"] > 0
    assert (payload["next_step_s"] is None) == (steps == 1)
    # dynamo's own count of the seconds it spent, within the steps' time
    assert 0 < payload["compile_s"] <= payload["first_step_s"] + (payload["next_step_s"] or 0)
    torch.testing.assert_close(torch.tensor(losses), torch.tensor(run(steps=steps)[0]))


def test_the_command_line_says_it_in_one_line_each() -> None:
    from cwtmae_cli.cli.training_view import compile_line

    fallback = compile_line("compile_fallback", {"reason": "RuntimeError: no g++"})
    assert fallback.plain == ("warning: --compile: torch.compile cannot run here "
                              "(RuntimeError: no g++); the run continues eager")
    timing = compile_line("compile", {"first_step_s": 246.73, "next_step_s": 59.01,
                                      "compile_s": 290.06})
    assert timing.plain == ("torch.compile: the first two steps took 246.7 s and 59.0 s, "
                            "290.1 s of that compiling")
    alone = compile_line("compile", {"first_step_s": 12.0, "next_step_s": None,
                                     "compile_s": None})
    assert alone.plain == "torch.compile: the first step took 12.0 s, compilation included"
