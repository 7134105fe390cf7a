"""Shape operations, reductions, creation, products and draws as lane code.

Element arrays keep every axis of the traced tensor, the trial axis with size 1, so views,
indexing, concatenation and reductions are numpy operations on the arrays. An operation
along the trial axis would mix trials (a sum over trials, a slice of them): it cannot be
fused, and raises :class:`NotImplementedError` saying so.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from turing.engine.fused import ops
from turing.engine.fused.lanes import BOOL, FLOAT, INT, Builder, El, const, constant_array, kind_of
from turing.engine.fused.trace import TRIALS, UNIFORM

aten = torch.ops.aten


def shape_of(value) -> tuple[int, ...]:
    return tuple(int(s) for s in value.shape)


def lane_shape(shape) -> tuple[int, ...]:
    """The element array's shape of a tensor of ``shape``: the trial axis has size 1."""
    return tuple(1 if int(s) == TRIALS else int(s) for s in shape)


def arg_shape(node, i: int = 0) -> tuple[int, ...]:
    return shape_of(node.args[i].meta["val"])


def out_shape(node) -> tuple[int, ...]:
    return shape_of(node.meta["val"])


def _dim(dim: int, ndim: int) -> int:
    return dim + ndim if dim < 0 else dim


def _not_trials(shape, dims, what: str) -> None:
    for d in dims:
        if shape[d] == TRIALS:
            raise NotImplementedError(f"{what} along the trial axis (it would mix trials)")


# ----------------------------------------------------------------------------- views
def select(b, node, x, dim, index, **_):
    shape = arg_shape(node)
    dim = _dim(dim, len(shape))
    _not_trials(shape, [dim], "indexing")
    return np.take(x, index + shape[dim] if index < 0 else index, axis=dim)


def slice_(b, node, x, dim=0, start=None, end=None, step=1, **_):
    shape = arg_shape(node)
    dim = _dim(dim, len(shape))
    size = shape[dim]
    first, last, stride = slice(start, end, step).indices(size)
    if size == TRIALS:
        if (first, last, stride) == (0, TRIALS, 1):
            return x
        raise NotImplementedError("slicing along the trial axis (it would mix trials)")
    index = [slice(None)] * x.ndim
    index[dim] = slice(first, last, stride)
    return x[tuple(index)]


def unsqueeze(b, node, x, dim, **_):
    return np.expand_dims(x, _dim(dim, x.ndim + 1))


def squeeze(b, node, x, dims=None, **_):
    shape = arg_shape(node)
    if dims is None:
        dims = range(len(shape))
    elif isinstance(dims, int):
        dims = [dims]
    drop = tuple(d for d in (_dim(d, len(shape)) for d in dims) if shape[d] == 1)
    return np.squeeze(x, axis=drop) if drop else x


def view(b, node, x, *_, **__):
    """A reshape that keeps the trial axis whole: the elements before it and after it are
    regrouped among themselves."""
    before, after = arg_shape(node), out_shape(node)
    if before == after:
        return x
    if before.count(TRIALS) != after.count(TRIALS) or before.count(TRIALS) > 1:
        raise NotImplementedError("a reshape that merges the trial axis with others")
    if TRIALS not in before:
        return x.reshape(after)
    i, j = before.index(TRIALS), after.index(TRIALS)
    if math.prod(before[:i]) != math.prod(after[:j]):
        raise NotImplementedError("a reshape that merges the trial axis with others")
    return x.reshape(lane_shape(after))


def expand(b, node, x, *_, **__):
    return np.broadcast_to(x, lane_shape(out_shape(node)))


def permute(b, node, x, dims, **_):
    return np.transpose(x, [_dim(d, x.ndim) for d in dims])


def transpose(b, node, x, dim0, dim1, **_):
    return np.swapaxes(x, _dim(dim0, x.ndim), _dim(dim1, x.ndim))


def t(b, node, x, **_):
    return x.T


def cat(b, node, tensors, dim=0, **_):
    shapes = [shape_of(n.meta["val"]) for n in node.args[0]]
    arrays = [a for a, s in zip(tensors, shapes, strict=True) if s != (0,)]
    shapes = [s for s in shapes if s != (0,)]
    dim = _dim(dim, len(shapes[0]))
    _not_trials(shapes[0], [dim], "concatenation")
    return np.concatenate(arrays, axis=dim)


def stack(b, node, tensors, dim=0, **_):
    return np.stack(tensors, axis=_dim(dim, tensors[0].ndim + 1))


def unbind(b, node, x, dim=0, **_):
    shape = arg_shape(node)
    dim = _dim(dim, len(shape))
    _not_trials(shape, [dim], "unbinding")
    return [np.take(x, i, axis=dim) for i in range(shape[dim])]


def split(b, node, x, sizes, dim=0, **_):
    shape = arg_shape(node)
    dim = _dim(dim, len(shape))
    _not_trials(shape, [dim], "splitting")
    if isinstance(sizes, int):
        sizes = [min(sizes, shape[dim] - k) for k in range(0, shape[dim], sizes)]
    cuts = np.cumsum(sizes)[:-1]
    return np.split(x, cuts, axis=dim)


def flip(b, node, x, dims, **_):
    shape = arg_shape(node)
    dims = [_dim(d, len(shape)) for d in dims]
    _not_trials(shape, dims, "flipping")
    return np.flip(x, axis=dims)


def repeat(b, node, x, repeats, **_):
    shape = arg_shape(node)
    extra = len(repeats) - len(shape)
    if any(r != 1 and s == TRIALS for r, s in zip(repeats[extra:], shape, strict=True)):
        raise NotImplementedError("repeating along the trial axis (it would mix trials)")
    return np.tile(x, repeats)


def index_select(b: Builder, node, x, dim, index, **_):
    shape = arg_shape(node)
    dim = _dim(dim, len(shape))
    _not_trials(shape, [dim], "indexing")
    elements = list(np.asarray(index, dtype=object).reshape(-1))
    if any(e.lane for e in elements):
        raise NotImplementedError("indexing with a per-trial index (a gather)")
    picked = [_pick(b, x, dim, e, shape[dim]) for e in elements]
    return np.stack(picked, axis=dim)


def _pick(b: Builder, x: np.ndarray, dim: int, e: El, size: int) -> np.ndarray:
    """The slice ``index`` of ``x`` along ``dim``: a constant index takes it; a step-dependent
    one reads a local array at run time (clamped into range: C does not check bounds)."""
    if e.constant:
        return np.take(x, int(e.value), axis=dim)
    moved = np.moveaxis(x, dim, 0)
    rows = moved.reshape(size, -1)
    index = b.emit(INT, False, f"clampi({e.code}, {size})")
    out = np.empty(rows.shape[1], dtype=object)
    for column in range(rows.shape[1]):
        items = [rows[k, column] for k in range(size)]
        kind = items[0].kind
        lane = any(item.lane for item in items)
        ctype = (
            ("vf" if kind == FLOAT else "vi") if lane else ("float" if kind == FLOAT else "int32_t")
        )
        name = f"table{b.count}"
        b.count += 1
        values = ", ".join(b.lane(item) if lane else item.code for item in items)
        b.line(f"const {ctype} {name}[{size}] = {{{values}}};")
        out[column] = b.emit(kind, lane, f"{name}[{index.code}]")
    return out.reshape(moved.shape[1:])


def index(b: Builder, node, x, indices, **_):
    shape = arg_shape(node)
    key = []
    for d, item in enumerate(indices):
        if item is None:
            key.append(slice(None))
            continue
        values = [e.value for e in np.asarray(item, dtype=object).reshape(-1)]
        if any(v is None for v in values):
            raise NotImplementedError("indexing with a computed index tensor")
        if shape[d] == TRIALS:
            raise NotImplementedError("indexing along the trial axis (it would mix trials)")
        key.append(np.asarray(values).reshape(np.asarray(item, dtype=object).shape))
    return x[tuple(key)]


# ----------------------------------------------------------------------------- reductions
def _reduce(b: Builder, node, x, dims, keepdim, combine, what: str):
    shape = arg_shape(node)
    dims = range(len(shape)) if dims is None or dims == [] else dims
    dims = sorted(_dim(d, len(shape)) for d in ([dims] if isinstance(dims, int) else dims))
    _not_trials(shape, dims, what)
    kept = [d for d in range(x.ndim) if d not in dims]
    moved = np.transpose(x, kept + dims)
    rows = moved.reshape(*moved.shape[: len(kept)], -1)
    out = np.empty(rows.shape[:-1], dtype=object)
    for i in np.ndindex(out.shape):
        items = list(rows[i])
        acc = items[0]
        for item in items[1:]:
            acc = combine(acc, item)
        out[i] = acc
    if keepdim:
        for d in dims:
            out = np.expand_dims(out, d)
    return out


def sum_(b, node, x, dims=None, keepdim=False, dtype=None, **_):
    kind = ops.result_kind(node)
    x = ops._to_kind(b, x, kind)
    return _reduce(b, node, x, dims, keepdim, lambda p, q: ops._arith(b, "+", kind, p, q), "a sum")


def mean(b, node, x, dims=None, keepdim=False, dtype=None, **_):
    shape = arg_shape(node)
    total = sum_(b, node, x, dims, keepdim)
    picked = range(len(shape)) if not dims else [_dim(d, len(shape)) for d in dims]
    count = math.prod(shape[d] for d in picked)
    return ops.elementwise(lambda e: ops._arith(b, "/", FLOAT, e, const(FLOAT, count)), total)


def prod(b, node, x, dim=None, keepdim=False, dtype=None, **_):
    kind = ops.result_kind(node)
    x = ops._to_kind(b, x, kind)
    return _reduce(
        b, node, x, dim, keepdim, lambda p, q: ops._arith(b, "*", kind, p, q), "a product"
    )


def amax(b, node, x, dims=(), keepdim=False, **_):
    combine = lambda p, q: ops.lane_binary("vmaximum", ops._nan_max)(b, node, p, q).item()  # noqa: E731
    return _reduce(b, node, _arrays(x), list(dims) or None, keepdim, combine, "a maximum")


def amin(b, node, x, dims=(), keepdim=False, **_):
    combine = lambda p, q: ops.lane_binary("vminimum", ops._nan_min)(b, node, p, q).item()  # noqa: E731
    return _reduce(b, node, _arrays(x), list(dims) or None, keepdim, combine, "a minimum")


def _arrays(x):
    """Elements wrapped in 0-dim arrays (what the elementwise lowerings take)."""
    return np.asarray(x, dtype=object)


def any_(b, node, x, dims=None, keepdim=False, **_):
    combine = lambda p, q: ops._logic(b, "|", p, q)  # noqa: E731
    return _reduce(b, node, ops._to_kind(b, x, BOOL), dims, keepdim, combine, "any()")


def all_(b, node, x, dims=None, keepdim=False, **_):
    combine = lambda p, q: ops._logic(b, "&", p, q)  # noqa: E731
    return _reduce(b, node, ops._to_kind(b, x, BOOL), dims, keepdim, combine, "all()")


# ----------------------------------------------------------------------------- products
def mm(b: Builder, node, x, y, **_):
    """``x @ y`` of ``[M, K]`` and ``[K, N]``: each output a sum over k in order."""
    _not_trials(arg_shape(node, 0), [1], "a matrix product")
    kind = ops.result_kind(node)
    out = np.empty((x.shape[0], y.shape[1]), dtype=object)
    for i in range(x.shape[0]):
        for j in range(y.shape[1]):
            acc = None
            for k in range(x.shape[1]):
                p, q = b.convert(x[i, k], kind), b.convert(y[k, j], kind)
                if (p.constant and p.value == 0) or (q.constant and q.value == 0):
                    continue
                term = ops._arith(b, "*", kind, p, q)
                acc = term if acc is None else ops._arith(b, "+", kind, acc, term)
            out[i, j] = acc if acc is not None else const(kind, 0)
    return out


def bmm(b, node, x, y, **_):
    _not_trials(arg_shape(node, 0), [0, 2], "a batched matrix product")
    return np.stack([mm(b, node, x[k], y[k]) for k in range(x.shape[0])])


def addmm(b, node, bias, x, y, beta=1, alpha=1, **_):
    product = mm(b, node, x, y)
    if alpha != 1:
        product = ops.elementwise(
            lambda e: ops._arith(b, "*", FLOAT, const(FLOAT, alpha), e), product
        )
    if beta != 1:
        bias = ops.elementwise(lambda e: ops._arith(b, "*", FLOAT, const(FLOAT, beta), e), bias)
    return ops.elementwise(lambda p, q: ops._arith(b, "+", FLOAT, p, q), bias, product)


# ----------------------------------------------------------------------------- creation
def _filled(node, value) -> np.ndarray:
    kind = ops.result_kind(node)
    return np.broadcast_to(np.array(const(kind, value), dtype=object), lane_shape(out_shape(node)))


def full(b, node, size, value, **_):
    return _filled(node, value)


def full_like(b, node, x, value, **_):
    return _filled(node, value)


def zeros(b, node, *_, **__):
    return _filled(node, 0)


def ones(b, node, *_, **__):
    return _filled(node, 1)


def scalar_tensor(b, node, value, **_):
    return _filled(node, value)


def arange(b, node, *args, **_):
    value = node.meta["val"]
    numbers = [a for a in args if isinstance(a, int | float)]
    return constant_array(np.arange(*numbers)[: value.shape[0]], kind_of(value.dtype))


def eye(b, node, n, m=None, **_):
    return constant_array(np.eye(n, m if m is not None else n), ops.result_kind(node))


def constant(value: torch.Tensor) -> np.ndarray:
    """A real tensor captured by the trace (``torch.tensor([...])`` in the system's code)."""
    if TRIALS in value.shape:
        raise NotImplementedError("a constant tensor as long as the trial axis")
    kind = kind_of(value.dtype)
    return constant_array(value.detach().cpu().numpy(), kind)


# ----------------------------------------------------------------------------- draws
STREAMS = ("st->stream", "st->start_stream", "st->input_stream")


def uniform(b: Builder, node, anchor, t, which, phase, slot, k, **_):
    """``k`` uniforms per trial from blocks ``slot, slot + 1, ...``: the Philox calls of
    :meth:`turing.engine.random.Noise.uniform`."""
    step = t.item() if isinstance(t, np.ndarray) else t
    step_code = step.code if isinstance(step, El) else str(int(step))
    rows = []
    for block in range(-(-k // 4)):
        name = f"u{b.count}"
        b.count += 1
        b.line(f"vf {name}[4];")
        b.line(
            f"uniform4(st, {STREAMS[which]}, (uint32_t)({step_code}), {slot + block}u, {phase}u, {name});"
        )
        rows += [El(f"{name}[{w}]", FLOAT, True) for w in range(4)]
    return np.array(rows[:k], dtype=object).reshape(k, 1)


TABLE = {
    aten.select_copy.int: select,
    aten.select.int: select,
    aten.slice_copy.Tensor: slice_,
    aten.slice.Tensor: slice_,
    aten.unsqueeze_copy.default: unsqueeze,
    aten.unsqueeze.default: unsqueeze,
    aten.squeeze_copy.dim: squeeze,
    aten.squeeze_copy.dims: squeeze,
    aten.squeeze_copy.default: squeeze,
    aten.squeeze.dim: squeeze,
    aten.view_copy.default: view,
    aten.view.default: view,
    aten._unsafe_view.default: view,
    aten.reshape.default: view,
    aten.expand_copy.default: expand,
    aten.expand.default: expand,
    aten.permute_copy.default: permute,
    aten.transpose_copy.int: transpose,
    aten.t_copy.default: t,
    aten.cat.default: cat,
    aten.stack.default: stack,
    aten.unbind_copy.int: unbind,
    aten.split_copy.Tensor: split,
    aten.split_with_sizes_copy.default: split,
    aten.flip.default: flip,
    aten.repeat.default: repeat,
    aten.index_select.default: index_select,
    aten.index.Tensor: index,
    aten.sum.dim_IntList: sum_,
    aten.sum.default: sum_,
    aten.mean.dim: mean,
    aten.prod.dim_int: prod,
    aten.amax.default: amax,
    aten.amin.default: amin,
    aten.any.dim: any_,
    aten.any.dims: any_,
    aten.all.dim: all_,
    aten.mm.default: mm,
    aten.bmm.default: bmm,
    aten.addmm.default: addmm,
    aten.full.default: full,
    aten.full_like.default: full_like,
    aten.zeros.default: zeros,
    aten.zeros_like.default: zeros,
    aten.new_zeros.default: zeros,
    aten.ones.default: ones,
    aten.ones_like.default: ones,
    aten.new_ones.default: ones,
    aten.new_full.default: lambda b, node, x, size, value, **_: _filled(node, value),
    aten.scalar_tensor.default: scalar_tensor,
    aten.arange.default: arange,
    aten.arange.start: arange,
    aten.arange.start_step: arange,
    aten.eye.default: eye,
    aten.eye.m: eye,
    UNIFORM: uniform,
}
