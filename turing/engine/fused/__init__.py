"""Fused kernels derived from a system's one definition, its torch methods.

A system is written once, as the batched torch simulator the tutorial shows. This package
turns its ``reset``, ``step`` and ``passive_action`` into the three functions of a
whole-trial kernel: :mod:`~turing.engine.fused.trace` records them as graphs of tensor
operations on fake tensors, :mod:`~turing.engine.fused.lower` turns every element of every
tensor into lane code (:mod:`~turing.engine.fused.ops`, :mod:`~turing.engine.fused.shapes`),
and :mod:`~turing.engine.fused.source` writes the C text. The trial loop around them (the
interrogator's network, the choice of inputs, recording, threads) is the engine's own:
``native/driver.h`` on CPU threads, ``native/driver.cuh`` with a thread per trial on CUDA
(:mod:`turing.engine.fused.cuda`).

What cannot be traced (a method that reads tensor values on the host, an operation along
the trial axis, float64 arithmetic) is reported in one line naming the method, the
operation and the line of the system's code; the engine then simulates with torch.
"""

from __future__ import annotations

import threading
import weakref

from turing.engine.fused.source import Generated, generate
from turing.engine.fused.trace import TraceError

__all__ = ["Generated", "TraceError", "generate", "generated"]

_CACHE: dict[tuple[int, int], tuple[weakref.ref, Generated | str]] = {}
_LOCK = threading.Lock()


def generated(system, steps: int) -> Generated | str:
    """``system``'s generated kernel source for trials of ``steps`` observations (made once
    per system instance), or one line saying why there is none."""
    key = (id(system), int(steps))
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is not None and entry[0]() is system:
            return entry[1]
    try:
        result: Generated | str = generate(system, steps)
    except TraceError as exc:
        result = str(exc)
    try:
        reference = weakref.ref(system)
    except TypeError:
        return result
    with _LOCK:
        _CACHE[key] = (reference, result)
    return result
