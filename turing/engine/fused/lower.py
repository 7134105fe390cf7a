"""Lowering a traced graph to the C statements of one function.

:func:`lower` walks a :class:`~turing.engine.fused.trace.Graph` in order, turning each
node's tensor into an element array (:mod:`turing.engine.fused.lanes`) with the lowerings
of :mod:`turing.engine.fused.ops` (elementwise) and :mod:`turing.engine.fused.shapes`
(everything else), and returns the statements and the outputs' elements. An operation
without a lowering, or one that would mix trials, raises
:class:`~turing.engine.fused.trace.TraceError` naming the operation and the line of the
system's code that made it.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np
import torch

from turing.engine.fused import ops, shapes
from turing.engine.fused.lanes import Builder, Hoisted, kind_of
from turing.engine.fused.trace import Graph, TraceError, source_line

TABLE = {**ops.TABLE, **shapes.TABLE}
_NOT_LOWERED = (torch.float64, torch.complex64, torch.complex128, torch.float16, torch.bfloat16)


@dataclass
class Lowered:
    """A lowered function: its statements and its outputs' element arrays (in the graph's
    output order)."""

    lines: list[str]
    outputs: list[np.ndarray]


def lower(
    graph: Graph,
    inputs: dict[str, np.ndarray],
    what: str,
    prefix: str = "v",
    hoist: Hoisted | None = None,
) -> Lowered:
    """The C statements computing ``graph`` from the element arrays ``inputs`` (by input
    name); values that depend only on the parameters go to ``hoist`` if given.

    Raises:
        TraceError: for an operation that cannot be lowered.
    """
    builder = Builder(prefix, hoist)
    values: dict[torch.fx.Node, object] = {}
    placeholders = iter(graph.inputs)
    module = graph.module
    for node in module.graph.nodes:
        if node.op == "placeholder":
            values[node] = inputs[next(placeholders)]
            continue
        if node.op == "output":
            break
        try:
            values[node] = _lower_node(builder, module, node, values)
        except TraceError:
            raise
        except (NotImplementedError, OverflowError, ValueError, IndexError) as exc:
            raise TraceError(f"{what}: {_name(node)} cannot be fused: {exc}{_at(node)}") from None
    output = next(n for n in module.graph.nodes if n.op == "output")
    leaves = torch.utils._pytree.tree_leaves(output.args[0])
    outputs = [values[leaf] if isinstance(leaf, torch.fx.Node) else leaf for leaf in leaves]
    return Lowered(builder.lines, outputs)


def _lower_node(builder: Builder, module, node: torch.fx.Node, values: dict):
    if node.op == "get_attr":
        return shapes.constant(getattr(module, node.target))
    if node.op != "call_function":
        raise NotImplementedError(f"a {node.op} node")
    if node.target is operator.getitem:
        container, index = node.args
        return values[container][index]
    value = node.meta.get("val")
    for tensor in value if isinstance(value, list | tuple) else [value]:
        if isinstance(tensor, torch.Tensor) and tensor.dtype in _NOT_LOWERED:
            raise NotImplementedError(f"{tensor.dtype} tensors (fused kernels compute in float32)")
    lowering = TABLE.get(node.target)
    if lowering is None:
        raise NotImplementedError("no lowering for this operation")
    args = torch.fx.node.map_arg(node.args, lambda n: values[n])
    kwargs = torch.fx.node.map_arg(node.kwargs, lambda n: values[n])
    kwargs = {k: v for k, v in kwargs.items() if k not in ("device", "layout", "pin_memory",
                                                            "memory_format", "non_blocking")}  # fmt: skip
    result = lowering(builder, node, *args, **kwargs)
    if isinstance(value, torch.Tensor):
        result = np.asarray(result, dtype=object)
        expected = shapes.lane_shape(value.shape)
        if result.shape != expected:
            result = np.broadcast_to(result, expected)
        kind = kind_of(value.dtype)
        if any(e.kind != kind for e in result.flat):
            result = ops._to_kind(builder, result, kind)
    return result


def _name(node: torch.fx.Node) -> str:
    target = node.target
    name = getattr(target, "__name__", str(target))
    return f"torch operation {name}"


def _at(node: torch.fx.Node) -> str:
    where = source_line(node)
    return f" (at {where})" if where else ""
