"""``--compile``: the training module under ``torch.compile``, with its cost said and a way out.

``torch.compile`` compiles lazily, at the first call (forward) and the first backward; a backend
that cannot work here (inductor without a C++ compiler, a Python that Dynamo does not support)
fails there, or already at ``torch.compile``. :class:`CompiledTraining` runs each step on the
compiled module; when a step raises, it restores the random state the step started from and
runs the same step eager: if eager fails too, that error is the model's and propagates; if not,
the compiled module is dropped for the rest of the run and one ``compile_fallback`` event says
why. After the second compiled step (or the only one) a ``compile`` event gives both steps'
times and, where torch keeps the count (``torch._dynamo.utils.calculate_time_spent``), the seconds
spent compiling in them: the second step can compile too (a guard that fails once, a backward
compiled lazily). Shapes are static (``dynamic=False``): every training batch has the same shape.
The CWT and the other functions marked ``eager_under_compile`` get their disabled twins before
the first trace (``model/eager.py``), so each leaves the graph with one break.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

from cwtmae_cli.errors import CwtmaeError
from cwtmae_cli.model.eager import prepare_for_compile
from cwtmae_cli.runtime.state import capture_rng_state, restore_rng_state

T = TypeVar("T")
Emit = Callable[[str, dict[str, Any]], None]


def one_line_reason(exc: BaseException, limit: int = 240) -> str:
    """``Type: first two non-empty lines of the message``, at most ``limit`` characters."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {' '.join(lines[:2])}" if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compile_seconds() -> float | None:
    """Seconds torch.compile has spent compiling in this process (forward frames and backward
    graphs), or None where this torch does not keep the count (a private API)."""
    try:
        from torch._dynamo.utils import calculate_time_spent

        return float(calculate_time_spent()["total_wall_time"])
    except Exception:  # noqa: BLE001 - absent or changed in this torch: say nothing
        return None


class CompiledTraining:
    """The compiled training module of ``eager``, falling back to ``eager`` (see the module
    docstring). ``emit(kind, payload)`` receives ``compile`` and ``compile_fallback``."""

    def __init__(self, eager: nn.Module, device: torch.device, emit: Emit) -> None:
        self.eager, self.device, self.emit = eager, device, emit
        self.step_times_s: list[float] = []
        self._compile_s_before = compile_seconds()
        self.module: nn.Module = eager
        try:
            prepare_for_compile()
            self.module = torch.compile(eager, dynamic=False)
        except Exception as exc:  # noqa: BLE001 - any reason to be unable to compile
            self._fall_back(exc)

    @property
    def compiled(self) -> bool:
        return self.module is not self.eager

    def run(self, step: Callable[[nn.Module], T], last: bool = False) -> T:
        """``step(module)`` on the compiled module, or on the eager one once fallen back.
        ``last``: this is the run's last step (the ``compile`` event cannot wait for a next)."""
        if not self.compiled:
            return step(self.eager)
        rng = capture_rng_state(self.device)
        start = time.perf_counter()
        try:
            result = step(self.module)
        except CwtmaeError:  # the project's own (a non-finite loss): not the compiler's
            raise
        except Exception as exc:  # noqa: BLE001 - tried again eager just below
            restore_rng_state(rng, self.device)
            result = step(self.eager)  # a bug of the model fails here too, with eager's error
            self.module = self.eager
            self._fall_back(exc)
            return result
        self._timed(time.perf_counter() - start, last)
        return result

    def _timed(self, seconds: float, last: bool) -> None:
        times = self.step_times_s
        if len(times) >= 2:
            return
        times.append(seconds)
        if len(times) == 2 or last:
            now = compile_seconds()
            spent = None if now is None or self._compile_s_before is None \
                else now - self._compile_s_before
            self.emit("compile", {"first_step_s": times[0],
                                  "next_step_s": times[1] if len(times) == 2 else None,
                                  "compile_s": spent})

    def _fall_back(self, exc: BaseException) -> None:
        self.emit("compile_fallback", {"reason": one_line_reason(exc)})
