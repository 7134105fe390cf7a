"""The fused kernel of a system, generated from its torch methods.

:func:`generate` traces the system's ``reset``, ``step`` and ``passive_action``
(:mod:`turing.engine.fused.trace`), lowers them (:mod:`turing.engine.fused.lower`) and
writes the three functions the trial loop calls (``sys_reset``, ``sys_step``,
``sys_passive``) over a ``State`` holding the state's elements. The same text compiles on
the CPU against ``vec.h`` (lane vectors of 8 or 16 trials, in threads, ``driver.h``) and on
CUDA against ``scalar.h`` (one trial per thread, ``driver.cuh``).

What the torch form computes outside the trial loop stays in torch: random start
conditions (:meth:`~turing.System.sample_starts`, which may loop until a start is free)
and the passive input's exogenous draws (:meth:`~turing.System.passive_inputs`) are drawn
before the kernel runs and handed to it per trial (``start``, ``pin``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.utils._pytree as pytree

from turing.engine.fused.lanes import BOOL, FLOAT, El, Hoisted, kind_of
from turing.engine.fused.lower import lower
from turing.engine.fused.shapes import lane_shape
from turing.engine.fused.trace import TRIALS, TraceError, TracingNoise, trace
from turing.engine.random import Noise

Tensor = torch.Tensor


@dataclass
class Generated:
    """A system's generated kernel source and what the engine hands it.

    Attributes:
        text: the C source of ``sys_reset``, ``sys_step``, ``sys_passive`` and ``State``.
        digest: a hash of ``text`` (names the compiled library).
        start_spec, start_leaves: the pytree of :meth:`System.sample_starts` draws (``None``:
            the system has none) and its leaves' shapes, flattened into ``START_SIZE`` rows.
        passive_spec: the pytree of :meth:`System.passive_inputs` draws, flattened into
            ``PIN_SIZE`` rows; ``None`` if passive inputs could not be fused.
        passive_error: why ``passive_action`` was not fused, or ``""``.
        sizes: ``OBS``, ``ACT``, ``SIM``, ``START_SIZE``, ``PIN_SIZE``.
    """

    text: str
    digest: str
    start_spec: Any = None
    start_leaves: list = field(default_factory=list)
    passive_spec: Any = None
    passive_error: str = ""
    sizes: dict = field(default_factory=dict)


def generate(system, steps: int) -> Generated:
    """The fused kernel source of ``system`` for trials of ``steps`` observations.

    Raises:
        TraceError: if ``reset`` or ``step`` cannot be traced or lowered (the message names
            the method, the operation and the line).
    """
    n = TRIALS
    sim_size = _simulation_size(system)
    params = torch.zeros(sim_size, n)
    anchor = torch.zeros(n, dtype=torch.int64)
    examples = Noise.for_trials((0, 0), n)

    start = system.sample_starts(n, examples.starts(), torch.device("cpu"))
    start_leaves = _float_leaves(start, "sample_starts") if start is not None else []

    def reset(params, anchor, start):
        noise = TracingNoise(anchor)
        if start is None:
            return system.reset(params, noise)
        return system.reset(params, noise, start=start)

    reset_graph = trace(reset, [("params", params), ("anchor", anchor), ("start", start)], "reset")
    state_example, obs = _pair(reset_graph, system, "reset")
    state_leaves, state_spec = pytree.tree_flatten(state_example)
    _check_observation(obs, system, "reset")

    def step(state, params, action, anchor, t):
        return system.step(state, params, action, TracingNoise(anchor, t))

    action = torch.zeros(system.action_size, n)
    t = torch.zeros((), dtype=torch.int64)
    state_real = pytree.tree_unflatten([_real(leaf) for leaf in state_leaves], state_spec)
    step_graph = trace(
        step,
        [("state", state_real), ("params", params), ("action", action), ("anchor", anchor),
         ("t", t)],
        "step",
    )  # fmt: skip
    next_state, obs = _pair(step_graph, system, "step")
    _check_observation(obs, system, "step")
    next_leaves, next_spec = pytree.tree_flatten(next_state)
    if next_spec != state_spec or [_signature(x) for x in next_leaves] != [
        _signature(x) for x in state_leaves
    ]:
        raise TraceError(
            "step returns a state of another structure, shape or dtype than reset's; return "
            "the same kind of state from both"
        )

    slots = _state_slots(state_leaves)
    params_elements = _rows("p", sim_size)
    start_elements = None
    if start is not None:
        start_elements = _unflatten_rows("start", start, start_leaves)

    reset_code = lower(
        reset_graph,
        {"params": params_elements, "anchor": _dummy(n), "start": start_elements,
         **_named("start", start_leaves, start_elements)},
        "reset",
        "r",
    )  # fmt: skip
    step_inputs = {"params": params_elements, "action": _rows("action", system.action_size),
                   "anchor": _dummy(n), "t": np.array(El("t", "i", False), dtype=object)}  # fmt: skip
    step_inputs.update(_state_inputs(step_graph, slots))
    hoisted = Hoisted()
    step_code = lower(step_graph, step_inputs, "step", "s", hoisted)

    passive_text, passive_spec, passive_error, pin_size = _passive(system, steps, hoisted)

    sizes = {
        "OBS": system.observation_size,
        "ACT": system.action_size,
        "SIM": sim_size,
        "START_SIZE": sum(int(np.prod(lane_shape(s))) for s in start_leaves),
        "PIN_SIZE": pin_size,
        "STATE_F": sum(int(np.prod(s[2])) for s in slots if s[0] == "f"),
        "STATE_I": sum(int(np.prod(s[2])) for s in slots if s[0] == "i"),
        "HOISTED_F": hoisted.counts["h"],
        "HOISTED_I": hoisted.counts["hm"],
    }
    text = _assemble(system, sizes, slots, reset_code, step_code, passive_text, hoisted)
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    return Generated(
        text,
        digest,
        start_spec=None if start is None else pytree.tree_flatten(start)[1],
        start_leaves=[tuple(s) for s in start_leaves],
        passive_spec=passive_spec,
        passive_error=passive_error,
        sizes=sizes,
    )


# ----------------------------------------------------------------------------- pieces
def _simulation_size(system) -> int:
    truth = system.make_truth()
    return len(truth.simulation)


def _real(leaf):
    if isinstance(leaf, Tensor):
        return torch.zeros(tuple(leaf.shape), dtype=leaf.dtype)
    return leaf


def _signature(leaf):
    if isinstance(leaf, Tensor):
        return (tuple(leaf.shape), leaf.dtype)
    return ("value", leaf)


def _pair(graph, system, what):
    value = pytree.tree_unflatten(graph.output_leaves, graph.outputs)
    if not (isinstance(value, tuple) and len(value) == 2):
        kind = "Tensor" if isinstance(value, Tensor) else type(value).__name__
        raise TraceError(f"{what} returned {kind}, expected (state, observation)")
    return value


def _check_observation(obs, system, what):
    expected = (system.observation_size, TRIALS)
    if not isinstance(obs, Tensor) or tuple(obs.shape) != expected or not obs.is_floating_point():
        got = tuple(obs.shape) if isinstance(obs, Tensor) else type(obs).__name__
        raise TraceError(
            f"{what} returned an observation of shape {got}, expected "
            f"({system.observation_size}, n) floating point"
        )


def _float_leaves(tree, what: str) -> list[tuple[int, ...]]:
    shapes = []
    for leaf in pytree.tree_leaves(tree):
        if not isinstance(leaf, Tensor) or not leaf.is_floating_point():
            raise TraceError(f"{what} returned a {type(leaf).__name__} leaf; return float tensors")
        if leaf.shape[-1] != TRIALS:
            raise TraceError(
                f"{what} returned a leaf of shape {tuple(leaf.shape)} (trial axis last)"
            )
        shapes.append(tuple(leaf.shape))
    return shapes


def _rows(name: str, count: int) -> np.ndarray:
    return np.array([El(f"{name}[{i}]", FLOAT, True) for i in range(count)], dtype=object).reshape(
        count, 1
    )


def _dummy(n: int) -> np.ndarray:
    return np.array([El("0", "i", False, 0)], dtype=object)


def _unflatten_rows(array: str, tree, shapes) -> list[np.ndarray]:
    """Element arrays of a pytree's leaves read from consecutive rows of ``array``."""
    out, row = [], 0
    for shape in shapes:
        count = int(np.prod(lane_shape(shape)))
        elements = [El(f"{array}[{row + i}]", FLOAT, True) for i in range(count)]
        out.append(np.array(elements, dtype=object).reshape(lane_shape(shape)))
        row += count
    return out


def _named(name: str, leaves, elements) -> dict[str, np.ndarray]:
    if elements is None:
        return {}
    if len(leaves) == 1:
        return {name: elements[0]} if name else {}
    return {f"{name}.{i}": e for i, e in enumerate(elements)}


def _state_slots(leaves) -> list[tuple[str, int, tuple, str]]:
    """Where each state element lives: ``(array, index, leaf shape, kind)`` per leaf, the
    float ones in ``s->f``, the masks and integers in ``s->i``."""
    slots, counts = [], {"f": 0, "i": 0}
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            slots.append(("const", 0, (), "value"))
            continue
        kind = kind_of(leaf.dtype)
        array = "f" if kind == FLOAT else "i"
        shape = lane_shape(leaf.shape)
        slots.append((array, counts[array], shape, kind))
        counts[array] += int(np.prod(shape))
    return slots


def _state_inputs(graph, slots) -> dict[str, np.ndarray]:
    inputs = {}
    names = [n for n in graph.inputs if n == "state" or n.startswith("state.")]
    tensor_slots = [s for s in slots if s[0] != "const"]
    for name, (array, first, shape, kind) in zip(names, tensor_slots, strict=True):
        count = int(np.prod(shape))
        elements = [El(f"s->{array}[{first + i}]", kind, True) for i in range(count)]
        inputs[name] = np.array(elements, dtype=object).reshape(shape)
    return inputs


def _store(slots, state_outputs, lines: list[str], builder_lane) -> None:
    """Statements that write the new state (after every read of the old one)."""
    pending = []
    tensor_slots = [s for s in slots if s[0] != "const"]
    values = [v for v in state_outputs if isinstance(v, np.ndarray)]
    for (array, first, shape, kind), value in zip(tensor_slots, values, strict=True):
        flat = np.broadcast_to(value, shape).reshape(-1)
        for i, element in enumerate(flat):
            pending.append(f"s->{array}[{first + i}] = {builder_lane(element, kind)};")
    lines.extend(pending)


def _lane_code(element: El, kind: str) -> str:
    if element.kind != kind:
        raise TraceError("a state element changes dtype between reset and step")
    if element.lane:
        return element.code
    if kind == FLOAT:
        return f"splat({element.code})"
    if kind == BOOL:
        return f"splati(-({element.code}))"
    return f"splati({element.code})"


def _passive(system, steps, hoisted: Hoisted):
    """``sys_passive`` and the passive inputs' pytree, or a stub and why it is missing."""
    n = TRIALS
    noise = Noise.for_trials((0, 0), n)
    try:
        try:
            inputs = system.passive_inputs(n, steps, noise.inputs(), torch.device("cpu"))
        except (RuntimeError, MemoryError) as exc:  # e.g. no memory for that many steps
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise TraceError(f"passive_inputs failed for {steps} steps ({first[:120]})") from None
        leaves = _float_leaves(inputs, "passive_inputs") if inputs is not None else []
        params = torch.zeros(_simulation_size(system), n)

        def passive(t, observation, params, inputs):
            return (system.passive_action(t, observation, params, inputs),)

        graph = trace(
            passive,
            [("t", torch.zeros((), dtype=torch.int64)),
             ("observation", torch.zeros(system.observation_size, n)), ("params", params),
             ("inputs", inputs)],
            "passive_action",
        )  # fmt: skip
        action = graph.output_leaves[0]
        if not isinstance(action, Tensor) or tuple(action.shape) != (system.action_size, n):
            raise TraceError(f"passive_action returned shape {getattr(action, 'shape', None)}")
        pin_elements = _unflatten_rows("pin", inputs, leaves) if inputs is not None else None
        code = lower(
            graph,
            {"t": np.array(El("((int32_t)t)", "i", False), dtype=object),
             "observation": _rows("obs", system.observation_size),
             "params": _rows("p", params.shape[0]),
             "inputs": pin_elements, **_named("inputs", leaves, pin_elements)},
            "passive_action",
            "q",
            hoisted,
        )  # fmt: skip
    except TraceError as exc:
        stub = "    (void)t; (void)obs; (void)p; (void)s; (void)st; (void)opt; (void)pin;\n"
        stub += "    for (int i = 0; i < ACT; i++) action[i] = splat(LANE_NAN);\n"
        return stub, None, str(exc), 0
    body = "    (void)t; (void)obs; (void)p; (void)s; (void)st; (void)opt; (void)pin;\n"
    body += "".join(f"    {line}\n" for line in code.lines)
    values = np.broadcast_to(code.outputs[0], (system.action_size, 1)).reshape(-1)
    for i, element in enumerate(values):
        body += f"    action[{i}] = {_lane_code(element, FLOAT)};\n"
    spec = pytree.tree_flatten(inputs)[1] if inputs is not None else None
    pin_size = sum(int(np.prod(lane_shape(s))) for s in leaves)
    return body, ("none" if spec is None else spec, leaves), "", pin_size


def _assemble(system, sizes, slots, reset_code, step_code, passive_text, hoisted) -> str:
    out = [f"/* Generated from {type(system).__module__}.{type(system).__qualname__}'s torch "
           "methods by turing.engine.fused: do not edit. */"]  # fmt: skip
    for name in ("OBS", "ACT", "SIM", "START_SIZE", "PIN_SIZE", "STATE_F", "STATE_I",
                 "HOISTED_F", "HOISTED_I"):  # fmt: skip
        out.append(f"#define {name} {sizes[name]}")
    out.append("typedef struct {\n    vf f[STATE_F > 0 ? STATE_F : 1];\n"
               "    vi i[STATE_I > 0 ? STATE_I : 1];\n"
               "    vf h[HOISTED_F > 0 ? HOISTED_F : 1]; /* trial constants (parameters only) */\n"
               "    vi hm[HOISTED_I > 0 ? HOISTED_I : 1];\n} State;")  # fmt: skip
    signature = ("SYSTEM_FN void sys_reset(State *s, const vf *p, const Streams *st, "
                 "const vf *start, const float *opt, vf *obs) {")  # fmt: skip
    out.append(signature)
    out.append("    (void)p; (void)st; (void)start; (void)opt;")
    out += [f"    {line}" for line in reset_code.lines]
    state_out, obs_out = reset_code.outputs[:-1], reset_code.outputs[-1]
    body: list[str] = []
    _store(slots, state_out, body, _lane_code)
    out += [f"    {line}" for line in body]
    out += [f"    {line}" for line in hoisted.lines]
    out += _observe(obs_out, system.observation_size)
    out.append("}")
    out.append("SYSTEM_FN void sys_step(State *s, const vf *p, const vf *action, const Streams *st, "
               "uint32_t t, const float *opt, vf *obs) {")  # fmt: skip
    out.append("    (void)p; (void)action; (void)st; (void)t; (void)opt;")
    out += [f"    {line}" for line in step_code.lines]
    state_out, obs_out = step_code.outputs[:-1], step_code.outputs[-1]
    body = []
    _store(slots, state_out, body, _lane_code)
    out += [f"    {line}" for line in body]
    out += _observe(obs_out, system.observation_size)
    out.append("}")
    out.append("SYSTEM_FN void sys_passive(uint32_t t, const vf *obs, const vf *p, const State *s, "
               "const Streams *st, const float *opt, const vf *pin, vf *action) {")  # fmt: skip
    out.append(passive_text.rstrip("\n"))
    out.append("}")
    return "\n".join(out) + "\n"


def _observe(obs: np.ndarray, size: int) -> list[str]:
    values = np.broadcast_to(obs, (size, 1)).reshape(-1)
    return [f"    obs[{i}] = {_lane_code(e, FLOAT)};" for i, e in enumerate(values)]
