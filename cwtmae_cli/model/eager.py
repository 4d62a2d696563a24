"""Functions that ``torch.compile`` must call eagerly, marked so without importing Dynamo.

``torch.compiler.disable`` imports ``torch._dynamo`` the moment it decorates (seconds, more than
the rest of the model's imports together: docs/performance.md, "Start-up"), so decorating the CWT
with it at import time made every command pay for a compiler that only ``--compile`` uses.
:func:`eager_under_compile` wraps a function in a plain one instead: run eagerly, the wrapper
calls the function and Dynamo is never imported; traced by ``torch.compile``, the wrapper calls
the function's ``torch.compiler.disable``'d twin, so the compiled graph breaks there and the
function runs eagerly, in the same graphs as with the decorator itself.

:func:`prepare_for_compile` makes the twins before anything is traced (``--compile`` calls it
before ``torch.compile``). Without it a traced call makes its twin on the spot, which costs that
first trace extra graph breaks and the next call one more frame to compile; the function is
still never traced.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch

F = TypeVar("F", bound=Callable)

_MARKED: list[Callable] = []  # every function wrapped, in import order
_TWINS: dict[Callable, Callable] = {}  # function -> its torch.compiler.disable'd twin


def eager_under_compile(fn: F) -> F:
    """``fn``, run eagerly by ``torch.compile`` (``torch.compiler.disable``, applied lazily)."""
    _MARKED.append(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if torch.compiler.is_compiling():  # constant True while Dynamo traces, False eager
            return _twin(fn)(*args, **kwargs)
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _twin(fn: Callable) -> Callable:
    twin = _TWINS.get(fn)
    if twin is None:
        twin = _TWINS[fn] = torch.compiler.disable(fn)  # imports torch._dynamo
    return twin


def prepare_for_compile() -> None:
    """Make the disabled twin of every marked function (imports ``torch._dynamo``)."""
    for fn in _MARKED:
        _twin(fn)
