"""The torch backends' trial loop: the eager reference, step by step, or one compiled
function per control step (judge, input choice and system step fused by torch.compile).

A trial (see :mod:`turing.engine.trials`): reset gives observation 0; the judge reads each
observation, the input source chooses the next input, the system steps. Everything a
system returns is checked on its first step (shapes, dtype, device), each failure naming
the system; a system whose body still hands its noise to torch as a generator (as systems
of turing-learning 0.1 did) is told what changed.
"""

from __future__ import annotations

import types

import torch

from turing.engine.trials import (
    JUDGE,
    PASSIVE,
    Fixed,
    Policy,
    Trials,
    action_scale,
    networks,
    source_name,
)
from turing.errors import SystemContractError

Tensor = torch.Tensor


def run_loop(
    engine, params, noise, judge, inputs, start, record, compiled=None, observe=None
) -> Trials:
    """The reference trial loop (eager), or the same loop calling one compiled
    function per control step."""
    system, steps = engine.system, engine.steps
    n = params.shape[-1]
    state, obs = reset(engine, params, noise, start)
    passive_inputs = passive_draws(engine, n, noise) if inputs is PASSIVE else None
    nets = None if judge is None else networks(judge, params.dtype)
    hidden = None if nets is None else nets.initial_state()
    previous = (
        system.initial_action(n, engine.device).to(obs.dtype)
        if judge is not None and judge.sees_input
        else None
    )
    health = torch.zeros(n, dtype=obs.dtype, device=engine.device)
    out = None
    rows: dict[str, list[Tensor]] = {"observations": [], "outputs": [], "actions": []}
    times = step_tensors(engine) if compiled is not None else None
    for t in range(steps):
        last = t == steps - 1
        if compiled is not None and not last and not record:
            fixed = inputs.actions[t] if isinstance(inputs, Fixed) else None
            state, obs, hidden, previous, health = compiled(
                state, params, obs, hidden, previous, health, times[t + 1],
                noise, nets, passive_inputs, fixed,
            )  # fmt: skip
            continue
        health = health + obs.sum(0)
        if nets is not None:
            x = obs if previous is None else torch.cat([obs, previous])
            hidden, out = nets.step(hidden, x)
        if record:
            rows["observations"].append(obs.clone())
            if out is not None:
                rows["outputs"].append(out.clone())
        if last:
            if observe is not None:
                observe(t, obs, out, None)
            break
        action = choose(engine, t, obs, out, params, inputs, passive_inputs)
        if observe is not None:
            observe(t, obs, out, action)
        if record:
            rows["actions"].append(action.clone())
        state, obs = step(engine, state, params, action, noise.at(t + 1))
        if previous is not None:
            previous = action.to(obs.dtype)
    failed = ~torch.isfinite(health)
    judgement = None if out is None else out[0].clone()
    recorded = {}
    if record:
        recorded = {k: torch.stack(v) for k, v in rows.items() if v}
        if "actions" not in recorded:
            recorded["actions"] = params.new_zeros(0, system.action_size, n)
    return Trials(judgement, failed, **recorded)


def reset(engine, params, noise, start):
    system = engine.system
    at0 = noise.at(0)
    with MigrationHint(system, "reset"):
        if start is None:
            result = system.reset(params, at0)
        else:
            result = system.reset(params, at0, start=start)
    state, obs = pair(result, system, "reset")
    check(engine, obs, "reset", params.shape[-1], system.observation_size)
    return state, obs


def passive_draws(engine, n, noise):
    """The passive input's exogenous draws (:meth:`System.passive_inputs`)."""
    with MigrationHint(engine.system, "passive_inputs"):
        return engine.system.passive_inputs(n, engine.steps, noise.inputs(), engine.device)


def step(engine, state, params, action, noise):
    system = engine.system
    if engine._checked:
        state, obs = system.step(state, params, action, noise)
        return state, obs
    with MigrationHint(system, "step"):
        state, obs = pair(system.step(state, params, action, noise), system, "step")
    if not engine._checked:
        check(engine, obs, "step", params.shape[-1], system.observation_size)
        engine._checked = True
    return state, obs


def choose(engine, t, obs, out, params, inputs, passive_inputs) -> Tensor:
    system = engine.system
    if inputs == JUDGE:
        low, span = action_scale(system, out.device)
        return out[1:] * span + low
    if inputs is PASSIVE:
        action, what = system.passive_action(t, obs, params, passive_inputs), "passive_action"
    elif isinstance(inputs, Fixed):
        action, what = inputs.actions[t], "the given inputs"
    elif isinstance(inputs, Policy):
        action, what = inputs.choose(t, obs, out), "the policy"
    else:
        raise ValueError(f"unknown input source {inputs!r}")
    check(engine, action, what, params.shape[-1], system.action_size)
    return action


def check(engine, value, what: str, n: int, size: int) -> None:
    system = engine.system
    if not isinstance(value, Tensor) or tuple(value.shape) != (size, n):
        got = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise SystemContractError(
            f"{system.name}: {what} returned shape {got}, expected ({size}, {n}) "
            "(features first, trial axis last)"
        )
    if not value.is_floating_point():
        raise SystemContractError(
            f"{system.name}: {what} returned a {value.dtype} tensor, expected floating "
            "point (create it like params, e.g. params.new_zeros)"
        )
    if value.device.type != engine.device.type:
        raise SystemContractError(
            f"{system.name}: {what} returned a tensor on {value.device}, expected "
            f"{engine.device} (create tensors on params.device)"
        )


def compiled_step(engine, judge, inputs):
    """One control step, judge + input + system, as one compiled function."""
    key = (None if judge is None else (judge.shape, judge.sees_input), source_name(inputs))
    if key not in engine._compiled:
        system = engine.system
        low, span = action_scale(system, engine.device)
        source = source_name(inputs)

        def fused(state, params, obs, hidden, previous, health, t, noise, nets, passive, fixed):
            health = health + obs.sum(0)
            out = None
            if nets is not None:
                x = obs if previous is None else torch.cat([obs, previous])
                hidden, out = nets.forward(hidden, x)
            if source == JUDGE:
                action = out[1:] * span + low
            elif source == "passive":
                action = system.passive_action(t - 1, obs, params, passive)
            else:
                action = fixed
            state, obs = system.step(state, params, action, noise.at(t))
            if previous is not None:
                previous = action.to(obs.dtype)
            return state, obs, hidden, previous, health

        # Each configuration gets a code object of its own: torch.compile caches compiled
        # graphs per code object, and configurations sharing one would evict each other.
        code = fused.__code__.replace(co_name=f"fused_step_{len(FUSED_NAMES)}")
        FUSED_NAMES.append(code.co_name)
        function = types.FunctionType(code, fused.__globals__, code.co_name,
                                      fused.__defaults__, fused.__closure__)  # fmt: skip
        # dynamic: one compilation serves every batch size (runs batched, chunk tails).
        engine._compiled[key] = torch.compile(function, dynamic=True)
    return engine._compiled[key]


def step_tensors(engine) -> list[Tensor]:
    """The step indices as device tensors, made once per engine (a compiled step takes them
    as inputs, so it is not recompiled per step; a CUDA graph cannot copy from the host while
    it captures)."""
    if getattr(engine, "_step_times", None) is None:
        engine._step_times = [
            torch.tensor(t, dtype=torch.int64, device=engine.device) for t in range(engine.steps)
        ]
    return engine._step_times


class MigrationHint:
    """Turns the TypeError of a system that hands its noise to torch as a generator
    (``torch.rand(..., generator=noise)``, 0.1's way) into a one-line contract error that
    says what changed. (A class with 0.1's signatures runs through
    :mod:`turing.integrations.legacy` instead.)"""

    def __init__(self, system, what: str):
        self.system, self.what = system, what

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is TypeError and "Noise" in str(value) and "generator" in str(value):
            raise SystemContractError(
                f"{self.system.name}: {self.what} passes its noise argument to torch as a "
                "generator; since turing-learning 0.2 a system draws from the Noise it "
                "receives (noise.uniform(k) and noise.normal(k) give [k, n] draws), or keeps "
                "0.1's signature (a `generator` argument) to run through the compatibility "
                "path (docs/adding-a-system.md, 'Migrating a system from turing-learning 0.1')"
            ) from None
        return False


def pair(result, system, what: str):
    if not (isinstance(result, tuple) and len(result) == 2):
        raise SystemContractError(
            f"{system.name}: {what} returned {type(result).__name__}, expected a "
            "(state, observation) pair"
        )
    return result


FUSED_NAMES: list[str] = []
