"""Simulating whole trials for the baselines and the C2ST judge.

The coevolution's :class:`~turing.evaluator.Evaluator` interleaves simulation with
evolved interrogator networks; the baselines need plain trajectories instead: the
observations of every step and the input that produced each one, under the passive input,
under fixed input sequences, or under a chooser that replays one trial's inputs on
another. :func:`rollout` is that one loop, for any way of choosing inputs. It uses only the
System contract.

Conventions (the engine's): a trial has ``steps`` observations; observation 0 comes from
``reset`` and was produced by :meth:`System.initial_action`; the action chosen after
observation ``t`` produces observation ``t + 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from turing.errors import SystemContractError
from turing.system import System

Tensor = torch.Tensor

Chooser = Callable[[int, Tensor], Tensor]
"""``choose(t, observation [O, n]) -> action [A, n]``: the input after observation ``t``."""


@dataclass
class Trajectories:
    """Recorded trials.

    Attributes:
        observations: ``[T, O, n]``.
        inputs: ``[T, A, n]``; ``inputs[t]`` produced ``observations[t]`` (``inputs[0]`` is
            the system's initial action).
        failed: ``[n]`` bool, the trial produced a non-finite observation.
    """

    observations: Tensor
    inputs: Tensor
    failed: Tensor

    def features(self, system: System, observe_input: bool = True) -> Tensor:
        """Per-step features ``[T, n, F]`` for a recurrent network: the observations and,
        if ``observe_input``, the inputs scaled to [0, 1] by the action bounds. Non-finite
        observations become 0 (such trials are flagged in :attr:`failed`)."""
        observations = torch.nan_to_num(self.observations, nan=0.0, posinf=0.0, neginf=0.0)
        parts = [observations]
        if observe_input:
            parts.append(unit_actions(system, self.inputs))
        return torch.cat(parts, dim=1).permute(0, 2, 1)


def unit_actions(system: System, actions: Tensor) -> Tensor:
    """Actions scaled from the system's action bounds to [0, 1]."""
    span = float(system.action_high) - float(system.action_low)
    return (actions - float(system.action_low)) / span


def tile_start(start: Any, copies: int) -> Any:
    """A start draw for ``n`` trials repeated ``copies`` times along the trial axis (tensors,
    or tuples, lists and dicts of them)."""
    if start is None:
        return None
    if isinstance(start, Tensor):
        return torch.cat([start] * copies, dim=-1)
    if isinstance(start, tuple | list):
        return type(start)(tile_start(s, copies) for s in start)
    if isinstance(start, dict):
        return {k: tile_start(v, copies) for k, v in start.items()}
    raise SystemContractError(
        f"sample_starts returned a {type(start).__name__}; return tensors (trial axis last), "
        "or tuples, lists or dicts of them"
    )


def rollout(
    system: System,
    params: Tensor,
    steps: int,
    generator: torch.Generator,
    choose: Chooser,
    start: Any = None,
) -> Trajectories:
    """Simulates ``n = params.shape[-1]`` trials of ``steps`` observations.

    Args:
        system: the system.
        params: simulation parameters ``[S, n]``.
        steps: observations per trial.
        generator: the only source of randomness.
        choose: the input after each observation.
        start: a :meth:`System.sample_starts` draw for the ``n`` trials, or ``None`` (the
            system draws its own).

    Returns:
        the trajectories.

    Raises:
        SystemContractError: if the system returns tensors of the wrong shape.
    """
    n = params.shape[-1]
    if start is None:
        state, observation = system.reset(params, generator)
    else:
        state, observation = system.reset(params, generator, start=start)
    _check(system, observation, "reset", (system.observation_size, n))
    observations = [observation]
    inputs = [system.initial_action(n, params.device).to(observation.dtype)]
    for t in range(steps - 1):
        action = choose(t, observation)
        _check(system, action, "the input", (system.action_size, n))
        state, observation = system.step(state, params, action, generator)
        if t == 0:
            _check(system, observation, "step", (system.observation_size, n))
        observations.append(observation)
        inputs.append(action.to(observation.dtype))
    stacked = torch.stack(observations)
    failed = ~torch.isfinite(stacked).all(dim=0).all(dim=0)
    return Trajectories(stacked, torch.stack(inputs), failed)


def passive_chooser(system: System, params: Tensor, inputs: Tensor | None) -> Chooser:
    """The system's natural input (its passive schedule or own controller)."""
    return lambda t, observation: system.passive_action(t, observation, params, inputs)


def fixed_chooser(actions: Tensor) -> Chooser:
    """Inputs given in advance, ``[steps - 1, A, n]``."""
    return lambda t, observation: actions[t]


def passive_rollout(
    system: System, params: Tensor, steps: int, generator: torch.Generator
) -> Trajectories:
    """Trials under the passive input, each with its own draw of the passive schedule."""
    n = params.shape[-1]
    inputs = system.passive_inputs(n, steps, generator, params.device)
    return rollout(system, params, steps, generator, passive_chooser(system, params, inputs))


def replayed_rollout(
    system: System, genuine: Tensor, models: Tensor, steps: int, generator: torch.Generator
) -> tuple[Trajectories, Trajectories]:
    """Genuine trials under the passive input, and model trials driven by exactly the same
    input sequences from the same start conditions, with independent noise.

    Trial ``k`` of the models is the twin of genuine trial ``k``: both start from one
    :meth:`System.sample_starts` draw (for systems that start trials at random), and the
    model receives, step by step, the input the genuine system received. For an open-loop
    passive input (a light schedule) that is simply the shared schedule; for a closed-loop
    one (a robot's own obstacle avoidance reads the robot's own sensors) the genuine
    robot's controller drives both, so the model's outputs are compared along the same
    commands rather than under a controller fed by the model's own (different) outputs.

    Args:
        system: the system.
        genuine: the genuine simulation parameters ``[S, n]``.
        models: the model simulation parameters ``[S, n]``.
        steps: observations per trial.
        generator: the only source of randomness.

    Returns:
        ``(genuine_trajectories, model_trajectories)``.
    """
    n = genuine.shape[-1]
    device = genuine.device
    start = system.sample_starts(n, generator, device)
    inputs = system.passive_inputs(n, steps, generator, device)
    params = torch.cat([genuine, models], dim=-1)

    def choose(t: int, observation: Tensor) -> Tensor:
        action = system.passive_action(t, observation[:, :n], genuine, inputs)
        return torch.cat([action, action], dim=-1)

    both = rollout(system, params, steps, generator, choose, tile_start(start, 2))
    halves = [
        Trajectories(both.observations[..., s], both.inputs[..., s], both.failed[s])
        for s in (slice(0, n), slice(n, 2 * n))
    ]
    return halves[0], halves[1]


def _check(system: System, value: Any, what: str, shape: tuple[int, int]) -> None:
    if not isinstance(value, Tensor) or tuple(value.shape) != shape:
        got = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise SystemContractError(
            f"{system.name}: {what} has shape {got}, expected {shape} (features first, trial "
            "axis last)"
        )
