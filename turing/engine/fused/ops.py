"""Elementwise ATen operations as lane code: arithmetic, comparisons, functions, selections.

Each lowering receives the :class:`~turing.engine.fused.lanes.Builder`, the FX node (its
``meta["val"]`` gives the result's dtype) and the operands as element arrays (or Python
numbers), and returns the result's element array. Constants fold in float32 where the
operation is exact in IEEE arithmetic (so folding cannot change a result); everything else
is emitted. Shape operations, reductions and draws are in :mod:`turing.engine.fused.shapes`.
"""

from __future__ import annotations

import math
import operator

import numpy as np
import torch

from turing.engine.fused.lanes import (
    BOOL,
    FLOAT,
    INT,
    Builder,
    El,
    as_array,
    common_kind,
    const,
    elementwise,
    result_kind,
)

aten = torch.ops.aten
F32 = np.float32


# ----------------------------------------------------------------------------- arithmetic
_FOLD = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _arith(b: Builder, symbol: str, kind: str, x: El, y: El) -> El:
    x, y = b.convert(x, kind), b.convert(y, kind)
    if x.constant and y.constant:
        if kind == FLOAT:
            if symbol == "/":
                with np.errstate(all="ignore"):
                    return const(FLOAT, F32(x.value) / F32(y.value))
            return const(FLOAT, _FOLD[symbol](F32(x.value), F32(y.value)))
        if symbol in _FOLD:
            return const(INT, _FOLD[symbol](int(x.value), int(y.value)))
    # x * 1 and x + 0 are exact identities (x + 0 is not for x = -0.0: keep it)
    if symbol == "*" and kind == FLOAT:
        if y.constant and y.value == 1.0:
            return x
        if x.constant and x.value == 1.0:
            return y
    if kind == INT and symbol == "/":
        raise NotImplementedError("integer division of tensors (use rounding_mode or floats)")
    return b.emit(kind, x.lane or y.lane, f"({x.code} {symbol} {y.code})")


def binary(symbol: str):
    def lower(b: Builder, node, x, y, alpha=None, **_):
        kind = result_kind(node)
        if kind == BOOL:
            kind = INT
        xs, ys = as_array(x, kind), as_array(y, kind)
        if alpha is not None and alpha != 1:
            ys = elementwise(lambda e: _arith(b, "*", kind, e, const(kind, alpha)), ys)
        out = elementwise(lambda p, q: _arith(b, symbol, kind, p, q), xs, ys)
        return _to_kind(b, out, result_kind(node))

    return lower


def rsub(b, node, x, y, alpha=1, **_):
    return binary("-")(b, node, y, x, None if alpha == 1 else alpha)


def div(b, node, x, y, rounding_mode=None, **_):
    kind = result_kind(node)
    if rounding_mode is None:
        xs, ys = as_array(x, FLOAT), as_array(y, FLOAT)
        return elementwise(lambda p, q: _arith(b, "/", FLOAT, p, q), xs, ys)
    if kind == FLOAT:
        q = elementwise(lambda p, r: _arith(b, "/", FLOAT, p, r), as_array(x), as_array(y))
        return unary("vfloor" if rounding_mode == "floor" else "vtrunc")(b, node, q)

    # integer division rounding to -inf or 0: uniform values only (steps, counters)
    def idiv(p: El, r: El) -> El:
        p, r = b.convert(p, INT), b.convert(r, INT)
        if p.lane or r.lane:
            raise NotImplementedError("integer division of per-trial values")
        if p.constant and r.constant:
            q = int(p.value) // int(r.value)
            if rounding_mode == "trunc":
                q = math.trunc(int(p.value) / int(r.value))
            return const(INT, q)
        fn = "floordiv" if rounding_mode == "floor" else "truncdiv"
        return b.emit(INT, False, f"{fn}({p.code}, {r.code})")

    return elementwise(idiv, as_array(x), as_array(y))


def neg(b, node, x, **_):
    def one(e: El) -> El:
        if e.constant:
            return const(e.kind, -e.value)
        return b.emit(e.kind, e.lane, f"(-{e.code})")

    return elementwise(one, x)


def _to_kind(b, array, kind):
    return elementwise(lambda e: b.convert(e, kind), array)


# ----------------------------------------------------------------------------- functions
_EXACT_UNARY = {
    "vabs": abs,
    "vfloor": math.floor,
    "vceil": math.ceil,
    "vtrunc": math.trunc,
    "vround": lambda v: float(np.rint(F32(v))),
    "vsqrt": lambda v: float(np.sqrt(F32(v))) if v >= 0 else math.nan,
}


def unary(function: str):
    """A lane function of one float (``vsin``...): emitted on lanes, folded if exact."""

    def lower(b: Builder, node, x, **_):
        def one(e: El) -> El:
            e = b.convert(e, FLOAT)
            if e.constant and function in _EXACT_UNARY and math.isfinite(e.value):
                return const(FLOAT, _EXACT_UNARY[function](e.value))
            if function in ("vsin", "vcos"):
                return b.sincos(b.lane(e))[function == "vcos"]
            return b.emit(FLOAT, True, f"{function}({b.lane(e)})")

        return elementwise(one, x)

    return lower


def reciprocal(b, node, x, **_):
    return elementwise(lambda e: _arith(b, "/", FLOAT, const(FLOAT, 1.0), e), x)


def square(b, node, x, **_):
    return elementwise(lambda e: _arith(b, "*", FLOAT, e, e), x)


def relu(b, node, x, **_):
    return lane_binary("vmaximum")(b, node, x, 0.0)


def lane_binary(function: str, fold=None):
    """A lane function of two floats (``vmaximum``, ``vatan2``...)."""

    def lower(b: Builder, node, x, y, **_):
        def one(p: El, q: El) -> El:
            p, q = b.convert(p, FLOAT), b.convert(q, FLOAT)
            if fold is not None and p.constant and q.constant:
                return const(FLOAT, fold(p.value, q.value))
            return b.emit(FLOAT, True, f"{function}({b.lane(p)}, {b.lane(q)})")

        return elementwise(one, as_array(x, FLOAT), as_array(y, FLOAT))

    return lower


def _nan_max(p, q):
    return math.nan if math.isnan(p) or math.isnan(q) else max(p, q)


def _nan_min(p, q):
    return math.nan if math.isnan(p) or math.isnan(q) else min(p, q)


def pow_(b, node, x, y, **_):
    """``x ** y``: torch's own special cases (2, 3, 0.5, -0.5, -1, -2 as products, roots
    and reciprocals), else ``exp(y log x)`` with the sign of negative bases for integer
    exponents."""
    if isinstance(y, int | float) and not isinstance(y, bool):
        e = float(y)
        if isinstance(x, int | float):
            return as_array(float(x) ** e)
        if e == 1:
            return _to_kind(b, x, FLOAT)
        if e == 2:
            return square(b, node, x)
        if e == 3:
            return elementwise(lambda p: _arith(b, "*", FLOAT, _arith(b, "*", FLOAT, p, p), p), x)
        if e == 0.5:
            return unary("vsqrt")(b, node, x)
        if e == -0.5:
            return unary("vrsqrt")(b, node, x)
        if e == -1:
            return reciprocal(b, node, x)
        if e == -2:
            return reciprocal(b, node, square(b, node, x))
    return lane_binary("vpow")(b, node, x, y)


def addcmul(b, node, x, t1, t2, value=1, **_):
    product = elementwise(lambda p, q: _arith(b, "*", FLOAT, p, q), t1, t2)
    if value != 1:
        product = elementwise(lambda p: _arith(b, "*", FLOAT, const(FLOAT, value), p), product)
    return elementwise(lambda p, q: _arith(b, "+", FLOAT, p, q), as_array(x), product)


def addcdiv(b, node, x, t1, t2, value=1, **_):
    quotient = elementwise(lambda p, q: _arith(b, "/", FLOAT, p, q), t1, t2)
    if value != 1:
        quotient = elementwise(lambda p: _arith(b, "*", FLOAT, const(FLOAT, value), p), quotient)
    return elementwise(lambda p, q: _arith(b, "+", FLOAT, p, q), as_array(x), quotient)


def lerp(b, node, x, end, weight, **_):
    # torch: weight < 0.5 ? x + w (end - x) : end - (end - x) (1 - w)
    diff = elementwise(lambda p, q: _arith(b, "-", FLOAT, p, q), as_array(end), as_array(x))

    def one(start: El, stop: El, d: El, w: El) -> El:
        low = _arith(b, "+", FLOAT, start, _arith(b, "*", FLOAT, w, d))
        one_minus = _arith(b, "-", FLOAT, const(FLOAT, 1.0), w)
        high = _arith(b, "-", FLOAT, stop, _arith(b, "*", FLOAT, d, one_minus))
        mask = _compare(b, "lt", FLOAT, w, const(FLOAT, 0.5))
        return _select(b, mask, low, high, FLOAT)

    return elementwise(one, as_array(x), as_array(end), diff, as_array(weight, FLOAT))


# ----------------------------------------------------------------------------- comparisons
_COMPARE = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}
_PY_COMPARE = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
               "eq": operator.eq, "ne": operator.ne}  # fmt: skip


def _compare(b: Builder, name: str, kind: str, x: El, y: El) -> El:
    x, y = b.convert(x, kind), b.convert(y, kind)
    if x.constant and y.constant:
        return const(BOOL, _PY_COMPARE[name](x.value, y.value))
    if x.lane or y.lane:
        prefix = "v" if kind == FLOAT else "i"
        return b.emit(BOOL, True, f"{prefix}{name}({b.lane(x)}, {b.lane(y)})")
    return b.emit(BOOL, False, f"({x.code} {_COMPARE[name]} {y.code})")


def compare(name: str):
    def lower(b: Builder, node, x, y, **_):
        kind = common_kind(x, y)
        kind = INT if kind == BOOL else kind
        return elementwise(
            lambda p, q: _compare(b, name, kind, p, q), as_array(x, kind), as_array(y, kind)
        )

    return lower


# ----------------------------------------------------------------------------- logic
def _logic(b: Builder, symbol: str, x: El, y: El) -> El:
    x, y = b.convert(x, BOOL), b.convert(y, BOOL)
    if x.constant and y.constant:
        value = {"&": x.value and y.value, "|": x.value or y.value, "^": x.value != y.value}
        return const(BOOL, value[symbol])
    if symbol == "&" and (x.constant or y.constant):
        c, other = (x, y) if x.constant else (y, x)
        return other if c.value else const(BOOL, False)
    if symbol == "|" and (x.constant or y.constant):
        c, other = (x, y) if x.constant else (y, x)
        return const(BOOL, True) if c.value else other
    lane = x.lane or y.lane
    a, c = (b.lane(x), b.lane(y)) if lane else (x.code, y.code)
    return b.emit(BOOL, lane, f"({a} {symbol} {c})")


def logic(symbol: str):
    def lower(b: Builder, node, x, y, **_):
        if result_kind(node) != BOOL:
            raise NotImplementedError("bitwise operations on integers")
        return elementwise(lambda p, q: _logic(b, symbol, p, q), as_array(x), as_array(y))

    return lower


def logical_not(b, node, x, **_):
    def one(e: El) -> El:
        e = b.convert(e, BOOL)
        if e.constant:
            return const(BOOL, not e.value)
        return b.emit(BOOL, e.lane, f"(~{e.code})" if e.lane else f"(!{e.code})")

    return elementwise(one, x)


# ----------------------------------------------------------------------------- selection
def _select(b: Builder, mask: El, x: El, y: El, kind: str) -> El:
    mask, x, y = b.convert(mask, BOOL), b.convert(x, kind), b.convert(y, kind)
    if mask.constant:
        return x if mask.value else y
    if x.constant and y.constant and x.value == y.value and x.code == y.code:
        return x
    if not mask.lane:
        lane = x.lane or y.lane
        a, c = (b.lane(x), b.lane(y)) if lane else (x.code, y.code)
        return b.emit(kind, lane, f"({mask.code} ? {a} : {c})")
    function = "sel" if kind == FLOAT else "seli"
    return b.emit(kind, True, f"{function}({mask.code}, {b.lane(x)}, {b.lane(y)})")


def where(b, node, condition, x, y, **_):
    kind = result_kind(node)
    return elementwise(
        lambda m, p, q: _select(b, m, p, q, kind),
        condition,
        as_array(x, kind),
        as_array(y, kind),
    )


def _clamp_one(b: Builder, e: El, low: El | None, high: El | None) -> El:
    """torch.clamp: ``min(max(x, low), high)``, NaN staying NaN."""
    e = b.convert(e, FLOAT)
    for bound, function, fold in ((low, "vclamp_low", max), (high, "vclamp_high", min)):
        if bound is None:
            continue
        bound = b.convert(bound, FLOAT)
        if e.constant and bound.constant and not math.isnan(e.value):
            e = const(FLOAT, fold(e.value, bound.value))
        else:
            e = b.emit(FLOAT, True, f"{function}({b.lane(e)}, {b.lane(bound)})")
    return e


def _clamp_int(b: Builder, e: El, low: El | None, high: El | None) -> El:
    for bound, name in ((low, "lt"), (high, "gt")):
        if bound is not None:
            e = _select(b, _compare(b, name, INT, e, bound), bound, e, INT)
    return e


def clamp(b, node, x, low=None, high=None, **_):
    kind = result_kind(node)
    one = _clamp_one if kind == FLOAT else _clamp_int
    none = np.array(None, dtype=object)
    lows = none if low is None else as_array(low, kind)
    highs = none if high is None else as_array(high, kind)
    return elementwise(lambda e, lo, hi: one(b, e, lo, hi), x, lows, highs)


def clamp_min(b, node, x, low, **_):
    return clamp(b, node, x, low, None)


def clamp_max(b, node, x, high, **_):
    return clamp(b, node, x, None, high)


def to_copy(b, node, x, *args, **_):
    return _to_kind(b, x, result_kind(node))


def identity(b, node, x, *args, **_):
    return x


TABLE = {
    aten.add.Tensor: binary("+"),
    aten.add.Scalar: binary("+"),
    aten.sub.Tensor: binary("-"),
    aten.sub.Scalar: binary("-"),
    aten.mul.Tensor: binary("*"),
    aten.mul.Scalar: binary("*"),
    aten.rsub.Scalar: rsub,
    aten.rsub.Tensor: rsub,
    aten.div.Tensor: div,
    aten.div.Scalar: div,
    aten.div.Tensor_mode: div,
    aten.div.Scalar_mode: div,
    aten.floor_divide.default: lambda b, n, x, y: div(b, n, x, y, rounding_mode="floor"),
    aten.neg.default: neg,
    aten.reciprocal.default: reciprocal,
    aten.square.default: square,
    aten.relu.default: relu,
    aten.abs.default: unary("vabs"),
    aten.sqrt.default: unary("vsqrt"),
    aten.rsqrt.default: unary("vrsqrt"),
    aten.exp.default: unary("vexp"),
    aten.expm1.default: unary("vexpm1"),
    aten.log.default: unary("vlog"),
    aten.log1p.default: unary("vlog1p"),
    aten.sin.default: unary("vsin"),
    aten.cos.default: unary("vcos"),
    aten.tan.default: unary("vtan"),
    aten.tanh.default: unary("vtanh"),
    aten.sigmoid.default: unary("vsigmoid"),
    aten.atan.default: unary("vatan"),
    aten.floor.default: unary("vfloor"),
    aten.ceil.default: unary("vceil"),
    aten.round.default: unary("vround"),
    aten.trunc.default: unary("vtrunc"),
    aten.sign.default: unary("vsign"),
    aten.sgn.default: unary("vsign"),
    aten.atan2.default: lane_binary("vatan2"),
    aten.hypot.default: lane_binary("vhypot"),
    aten.maximum.default: lane_binary("vmaximum", _nan_max),
    aten.minimum.default: lane_binary("vminimum", _nan_min),
    aten.fmax.default: lane_binary("vfmax"),
    aten.fmin.default: lane_binary("vfmin"),
    aten.remainder.Scalar: lane_binary("vremainder"),
    aten.remainder.Tensor: lane_binary("vremainder"),
    aten.fmod.Scalar: lane_binary("vfmod"),
    aten.fmod.Tensor: lane_binary("vfmod"),
    aten.pow.Tensor_Scalar: pow_,
    aten.pow.Tensor_Tensor: pow_,
    aten.pow.Scalar: pow_,
    aten.addcmul.default: addcmul,
    aten.addcdiv.default: addcdiv,
    aten.lerp.Scalar: lerp,
    aten.lerp.Tensor: lerp,
    aten.where.self: where,
    aten.where.ScalarSelf: where,
    aten.where.ScalarOther: where,
    aten.where.Scalar: where,
    aten.clamp.default: clamp,
    aten.clamp.Tensor: clamp,
    aten.clamp_min.default: clamp_min,
    aten.clamp_min.Tensor: clamp_min,
    aten.clamp_max.default: clamp_max,
    aten.clamp_max.Tensor: clamp_max,
    aten.logical_not.default: logical_not,
    aten.bitwise_not.default: logical_not,
    aten.logical_and.default: logic("&"),
    aten.logical_or.default: logic("|"),
    aten.logical_xor.default: logic("^"),
    aten.bitwise_and.Tensor: logic("&"),
    aten.bitwise_or.Tensor: logic("|"),
    aten.bitwise_xor.Tensor: logic("^"),
    aten.bitwise_and.Scalar: logic("&"),
    aten.bitwise_or.Scalar: logic("|"),
    aten._to_copy.default: to_copy,
    aten.clone.default: identity,
    aten.alias_copy.default: identity,
    aten.detach_copy.default: identity,
    aten.lift_fresh_copy.default: identity,
    aten.contiguous.default: identity,
}
for _name in _COMPARE:
    TABLE[getattr(aten, _name).Tensor] = compare(_name)
    TABLE[getattr(aten, _name).Scalar] = compare(_name)
