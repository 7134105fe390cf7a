"""Tracing a system's torch methods into graphs of tensor operations.

The fused kernels are derived from the system's one definition, its batched torch
simulator: :func:`trace_system` runs ``reset``, ``step`` and ``passive_action`` once on
*fake* tensors (shapes and dtypes, no data; :func:`torch.fx.experimental.proxy_tensor.make_fx`),
so that Python runs as usual (loops unroll, helper functions inline, constants fold) and
every tensor operation is recorded in an FX graph of ATen operations, with in-place
operations and views rewritten as plain functions (functionalization). The trial axis is
recognised by its size, :data:`TRIALS`.

Random draws become one operation each (``turing_fused::uniform``) that the code generator
turns into the same Philox calls the torch implementation makes: a :class:`TracingNoise`
stands for the trials' :class:`~turing.engine.random.Noise` and keeps its slot counter in
Python, as ``Noise`` does, so each draw's slot is a constant of the graph and its step a
graph input.

A method that reads a tensor's value on the host (``if x.any():``, ``int(t)``, a loop until
a condition holds) cannot be traced: the fake tensors have no values, and tracing fails
with the line that did it (:class:`TraceError`).
"""

from __future__ import annotations

import contextlib
import linecache
import threading
import traceback
from dataclasses import dataclass
from typing import Any

import torch
import torch.utils._pytree as pytree
from torch.func import functionalize
from torch.fx.experimental.proxy_tensor import make_fx

from turing.engine.random import CHOOSER, DYNAMICS, INPUT, START, Noise

Tensor = torch.Tensor

TRIALS = 1031
"""The trial count the methods are traced with: a dimension of this size is the trial axis
(a prime no feature dimension is likely to equal)."""

OWN, STARTS, INPUTS = 0, 1, 2
"""Which of a trial's streams a draw reads (``Noise.stream``, ``start_stream``,
``input_stream``)."""

_lib = torch.library.Library("turing_fused", "DEF")  # kept for the process
_lib.define("uniform(Tensor anchor, Tensor t, int which, int phase, int slot, int k) -> Tensor")


def _uniform_meta(anchor, t, which, phase, slot, k):
    return anchor.new_empty((k, anchor.shape[-1]), dtype=torch.float32)


def _uniform_eager(anchor, t, which, phase, slot, k):  # never run: graphs are only lowered
    raise RuntimeError("turing_fused::uniform is a tracing placeholder")


_lib.impl("uniform", _uniform_meta, "Meta")
_lib.impl("uniform", _uniform_eager, "CompositeExplicitAutograd")
torch.library.register_fake("turing_fused::uniform", _uniform_meta, lib=_lib)
UNIFORM = torch.ops.turing_fused.uniform.default


class TraceError(Exception):
    """A method cannot be traced (or lowered): the message says where and why."""


class TracingNoise(Noise):
    """A :class:`Noise` whose draws are recorded as graph operations.

    Args:
        anchor: a fake ``[n]`` tensor (its trial axis gives the draws' shape).
        t: the step: a fake 0-dim int64 graph input, or an int.
        which: :data:`OWN`, :data:`STARTS` or :data:`INPUTS`.
        phase: what the draws are for.
    """

    def __init__(self, anchor: Tensor, t: Tensor | int = 0, which: int = OWN, phase=DYNAMICS):
        key = anchor.new_zeros(2, 1)
        super().__init__(key, anchor, anchor, anchor, t, phase)
        self.anchor, self.which = anchor, which

    def _with(self, t, which, phase) -> TracingNoise:
        return TracingNoise(self.anchor, t, which, phase)

    def at(self, t, phase: int = DYNAMICS) -> TracingNoise:
        return self._with(t, self.which, phase)

    def starts(self) -> TracingNoise:
        return self._with(0, STARTS, START)

    def inputs(self) -> TracingNoise:
        return self._with(0, INPUTS, INPUT)

    def chooser(self) -> TracingNoise:
        return self._with(0, OWN, CHOOSER)

    def select(self, index):
        raise TraceError("draws from a subset of the trials (noise.select)")

    def words(self, k: int, slot: int | None = None) -> Tensor:
        raise TraceError("draws raw Philox words (noise.words); draw uniform(k) or normal(k)")

    def uniform(self, k: int, slot: int | None = None) -> Tensor:
        blocks = -(-int(k) // 4)
        first = self.slot if slot is None else int(slot)
        if slot is None:
            self.slot += blocks
        t = self.t if isinstance(self.t, Tensor) else torch.tensor(int(self.t))
        return UNIFORM(self.anchor, t, self.which, self.phase, first, int(k))


@dataclass
class Graph:
    """One traced method: its FX graph, and how its inputs and outputs map to pytrees.

    Attributes:
        module: the ``torch.fx.GraphModule`` (placeholders in the order of ``inputs``).
        inputs: the names of the flat inputs, e.g. ``params``, ``state.0``, ``t``.
        outputs: the output pytree spec (its leaves: the graph's outputs in order).
        output_leaves: the fake output tensors (shapes and dtypes), or constants.
    """

    module: torch.fx.GraphModule
    inputs: list[str]
    outputs: Any
    output_leaves: list[Any]


def trace(function, named_inputs: list[tuple[str, Any]], what: str) -> Graph:
    """Traces ``function(*inputs)`` (each input a pytree of tensors) on fake tensors.

    Args:
        function: the method to trace.
        named_inputs: ``(name, example)`` pairs; tensors in them stand for their shapes
            and dtypes only.
        what: the method's name for messages.

    Raises:
        TraceError: naming the line of the system's code that could not be traced.
    """
    names, examples, layouts = [], [], []
    for name, value in named_inputs:
        leaves, spec = pytree.tree_flatten(value)
        tensors = [i for i, leaf in enumerate(leaves) if isinstance(leaf, Tensor)]
        layouts.append((leaves, spec, tensors))
        for i in tensors:
            names.append(f"{name}.{i}" if len(leaves) > 1 or spec.num_children else name)
            examples.append(leaves[i])
    captured: dict[str, Any] = {}

    def forward(*tensors):
        # Tensors become graph inputs; other leaves (numbers, None) stay what they are. (Named
        # forward: torch.fx records the lines of the code below a frame of that name.)
        args, at = [], 0
        for leaves, spec, positions in layouts:
            leaves = list(leaves)
            for i in positions:
                leaves[i] = tensors[at]
                at += 1
            args.append(pytree.tree_unflatten(leaves, spec))
        out_leaves, out_spec = pytree.tree_flatten(function(*args))
        captured["spec"] = out_spec
        return tuple(out_leaves)

    try:
        with _user_frames():
            module = make_fx(
                functionalize(forward, remove="mutations_and_views"),
                tracing_mode="fake",
                record_stack_traces=True,
            )(*examples)
    except TraceError as exc:
        raise TraceError(f"{what} {exc}") from None
    except Exception as exc:  # whatever the system's code raised on fake tensors
        raise TraceError(f"{what} cannot be traced ({_where(exc)})") from None
    output = next(n for n in module.graph.nodes if n.op == "output")
    leaves = [
        a.meta.get("val") if isinstance(a, torch.fx.Node) else a
        for a in pytree.tree_leaves(output.args[0])
    ]
    return Graph(module, names, captured["spec"], leaves)


@contextlib.contextmanager
def _user_frames():
    """Nodes record the frames of the code that made them (torch.fx keeps only those below a
    ``forward`` method): what messages quote."""
    tracer = torch.fx.proxy.TracerBase
    saved = tracer._filter_traceback_frames

    def keep(self, summary):
        frames = [f for f in summary if not _internal(f.filename)]
        return traceback.StackSummary.from_list(frames)

    with _TRACING:
        tracer._filter_traceback_frames = keep
        try:
            yield
        finally:
            tracer._filter_traceback_frames = saved


_TRACING = threading.Lock()


def _internal(filename: str) -> bool:
    return "/torch/" in filename or "/turing/engine/" in filename


def _where(exc: BaseException) -> str:
    """``ExcType: message, at file:line`` of the innermost frame outside torch."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    message = f"{type(exc).__name__}: {message[:160]}"
    if "DataDependent" in type(exc).__name__:
        message = (
            "it reads a tensor's value in Python (an if, a while, int(), float() or bool() of "
            "a tensor); write it with tensor operations such as torch.where"
        )
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/torch/" not in f.filename]
    frames = [f for f in frames if not f.filename.endswith("fused/trace.py")] or frames
    if not frames:
        return message
    frame = frames[-1]
    line = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
    return f"{message}; at {frame.filename}:{frame.lineno}: {line}"


def source_line(node: torch.fx.Node) -> str:
    """``file:line: code`` of the system's line that made ``node`` (for messages)."""
    stack = node.meta.get("stack_trace") or ""
    lines = [line.strip() for line in stack.splitlines()]
    found = ""
    for i, line in enumerate(lines):
        if line.startswith('File "'):
            parts = line.split('"')
            if _internal(parts[1]):
                continue
            where = f"{parts[1]}:{line.split('line ')[-1].split(',')[0]}"
            code = lines[i + 1] if i + 1 < len(lines) else ""
            found = f"{where}: {code}"
    return found
