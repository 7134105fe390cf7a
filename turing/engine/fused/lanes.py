"""Lane values: what the code generator turns each element of a traced tensor into.

A traced tensor of shape ``[3, 8, n]`` (trial axis last) becomes 24 *elements*, each a C
expression computed for a group of trials at once: a *lane* value (``vf`` floats or ``vi``
masks and integers, one lane per trial: the CPU's SIMD vectors, or one CUDA thread's
scalar), a *uniform* value (the same for every trial: the step ``t`` and what depends only
on it) or a constant. The trial axis itself is not stored: an element array has size 1
there, and numpy's broadcasting rules (torch's) do the rest.

Arithmetic is emitted as IEEE operations in the order torch performs them (``+ - * /`` and
square roots are then bit-identical to torch's float32); transcendental functions are the
lane library's own polynomials (``turing/engine/native/vec.h`` on the CPU, ``scalar.h`` on
CUDA), within a few units in the last place of torch's. Constants are folded in float32
exactly as torch computes them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch

FLOAT, BOOL, INT = "f", "b", "i"


@dataclass(frozen=True)
class El:
    """One element: a C expression, its kind (``f``, ``b``, ``i``), whether it varies across
    trials, and its value if it is a constant."""

    code: str
    kind: str
    lane: bool
    value: float | int | bool | None = None

    @property
    def constant(self) -> bool:
        return self.value is not None


def kind_of(dtype: torch.dtype) -> str:
    if dtype == torch.bool:
        return BOOL
    if dtype.is_floating_point:
        return FLOAT
    return INT


def literal(kind: str, value) -> str:
    """A C literal of ``value`` as a float32, a 0/1 flag or an int32."""
    if kind == FLOAT:
        v = float(np.float32(value))
        if math.isnan(v):
            return "LANE_NAN"
        if math.isinf(v):
            return "LANE_INF" if v > 0 else "(-LANE_INF)"
        return f"{v.hex()}f" if v != int(v) or abs(v) >= 2**24 else f"{v:.1f}f"
    if kind == BOOL:
        return "1" if value else "0"
    return str(int(value))


def const(kind: str, value) -> El:
    if kind == FLOAT:
        value = float(np.float32(value))
    elif kind == BOOL:
        value = bool(value)
    else:
        value = int(value)
        if not -(2**31) <= value < 2**31:
            raise OverflowError(f"the integer {value} does not fit in 32 bits")
    return El(literal(kind, value), kind, False, value)


_TYPES = {(FLOAT, True): "vf", (FLOAT, False): "float", (BOOL, True): "vi",
          (BOOL, False): "int", (INT, True): "vi", (INT, False): "int32_t"}  # fmt: skip


class Hoisted:
    """Values of a trial that do not change from step to step (they depend only on its
    parameters): computed once, at reset, into the state (``s->h``, ``s->hm``), and read by
    every step instead of being computed again (a sensor's fixed facing's cosine, say)."""

    def __init__(self):
        self.lines: list[str] = []
        self.counts = {"h": 0, "hm": 0}

    def slot(self, kind: str) -> str:
        array = "h" if kind == FLOAT else "hm"
        self.counts[array] += 1
        return f"s->{array}[{self.counts[array] - 1}]"


_IDENTIFIER = re.compile(r"(?<![\w.>])([A-Za-z_]\w*)(?!\w*\s*\()")
_STATE = re.compile(r"s->(\w+)\[")
_CONSTANT_NAMES = {"LANE_INF", "LANE_NAN", "p"}


class Builder:
    """Collects the C statements of one function: each non-constant element is computed once
    into a fresh variable (the C compiler keeps them in registers).

    Args:
        prefix: the variables' prefix.
        hoist: where a step's trial-constant values go (:class:`Hoisted`), or ``None``.
    """

    def __init__(self, prefix: str = "v", hoist: Hoisted | None = None):
        self.lines: list[str] = []
        self.prefix = prefix
        self.count = 0
        self.hoist = hoist
        self._seen: dict[tuple[str, bool, str], El] = {}
        self._invariant: set[str] = set()

    def emit(self, kind: str, lane: bool, expr: str) -> El:
        """A variable holding ``expr`` (the same one for an expression computed before:
        expressions are pure)."""
        key = (kind, lane, expr)
        if key in self._seen:
            return self._seen[key]
        if self.hoist is not None and lane and self._is_invariant(expr):
            slot = self.hoist.slot(kind)
            self.hoist.lines.append(f"{slot} = {expr};")
            self._seen[key] = El(slot, kind, lane)
            return self._seen[key]
        name = f"{self.prefix}{self.count}"
        self.count += 1
        self.lines.append(f"{_TYPES[kind, lane]} {name} = {expr};")
        self._seen[key] = El(name, kind, lane)
        return self._seen[key]

    def sincos(self, x: str) -> tuple[El, El]:
        """Sine and cosine of the lane value ``x``, computed together once (a step often
        needs both: a direction, a Box-Muller pair)."""
        key = (FLOAT, True, f"sincos({x})")
        if key not in self._seen:
            if self.hoist is not None and self._is_invariant(x):
                s, c = self.hoist.slot(FLOAT), self.hoist.slot(FLOAT)
                self.hoist.lines.append(f"vsincos({x}, &{s}, &{c});")
            else:
                s, c = f"{self.prefix}{self.count}", f"{self.prefix}{self.count + 1}"
                self.count += 2
                self.lines.append(f"vf {s}, {c};")
                self.lines.append(f"vsincos({x}, &{s}, &{c});")
            self._seen[key] = (El(s, FLOAT, True), El(c, FLOAT, True))
        return self._seen[key]

    def _is_invariant(self, expr: str) -> bool:
        """Whether ``expr`` reads only parameters, constants and trial-constant values."""
        if any(array not in ("h", "hm") for array in _STATE.findall(expr)):
            return False
        names = set(_IDENTIFIER.findall(_STATE.sub("", expr))) - _CONSTANT_NAMES
        return all(name in ("h", "hm") for name in names)

    def line(self, text: str) -> None:
        self.lines.append(text)

    # ------------------------------------------------------------------ coercions
    def lane(self, e: El) -> str:
        """The code of ``e`` as a lane value."""
        if e.lane:
            return e.code
        if e.kind == FLOAT:
            return f"splat({e.code})"
        if e.kind == BOOL:
            return f"splati(-({e.code}))"
        return f"splati({e.code})"

    def convert(self, e: El, kind: str) -> El:
        """``e`` as ``kind``, as torch converts (bool: nonzero; float to int: truncation)."""
        if e.kind == kind:
            return e
        if e.constant:
            value = e.value
            if kind == FLOAT:
                return const(FLOAT, float(value))
            if kind == BOOL:
                return const(BOOL, value != 0)
            return const(INT, math.trunc(value) if e.kind == FLOAT else int(value))
        c = e.code
        if kind == FLOAT:
            if e.kind == BOOL:
                expr = f"sel({c}, splat(1.0f), splat(0.0f))" if e.lane else f"({c} ? 1.0f : 0.0f)"
            else:
                expr = f"tofloat({c})" if e.lane else f"(float)({c})"
        elif kind == BOOL:
            if e.kind == FLOAT:
                expr = f"vne({c}, splat(0.0f))" if e.lane else f"({c} != 0.0f)"
            else:
                expr = f"ine({c}, splati(0))" if e.lane else f"({c} != 0)"
        else:
            if e.kind == BOOL:
                expr = f"({c} & splati(1))" if e.lane else c
            else:
                expr = f"toint({c})" if e.lane else f"(int32_t)({c})"
        return self.emit(kind, e.lane, expr)


def elementwise(function, *arrays: np.ndarray) -> np.ndarray:
    """``function`` applied to the broadcast elements of ``arrays`` (object arrays)."""
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=object) for a in arrays])
    out = np.empty(arrays[0].shape, dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = function(*(a[index] for a in arrays))
    return out


def constant_array(values: np.ndarray, kind: str) -> np.ndarray:
    """An element array of constants."""
    values = np.asarray(values)
    out = np.empty(values.shape, dtype=object)
    for index in np.ndindex(values.shape):
        out[index] = const(kind, values[index].item())
    return out


# ----------------------------------------------------------------------------- operands
def result_kind(node) -> str:
    value = node.meta.get("val")
    return kind_of(value.dtype) if isinstance(value, torch.Tensor) else FLOAT


def as_array(x, kind: str | None = None) -> np.ndarray:
    """An operand as an element array (a Python number becomes a constant)."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, El):
        return np.array(x, dtype=object)
    if isinstance(x, bool):
        return np.array(const(BOOL, x), dtype=object)
    if isinstance(x, int) and kind != FLOAT:
        return np.array(const(INT, x), dtype=object)
    return np.array(const(FLOAT, float(x)), dtype=object)


def common_kind(*operands) -> str:
    kinds = set()
    for x in operands:
        if isinstance(x, np.ndarray):
            kinds.update(e.kind for e in x.flat)
        elif isinstance(x, float):
            kinds.add(FLOAT)
        elif isinstance(x, bool):
            kinds.add(BOOL)
        else:
            kinds.add(INT)
    for kind in (FLOAT, INT, BOOL):
        if kind in kinds:
            return kind
    return FLOAT
