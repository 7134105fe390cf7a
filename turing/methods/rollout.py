"""Whole recorded trials for the baselines and the C2ST judge, from the trial engine.

The coevolution's :class:`~turing.engine.evaluator.Evaluator` asks the engine for judgements; the
baselines need plain trajectories instead: the observations of every step and the input
that produced each one, under the passive input, under fixed input sequences, or with a
model trial driven by the inputs its genuine twin received. They are all
:meth:`turing.engine.Engine.run` with ``record=True``; this module only arranges streams and
turns the engine's :class:`~turing.engine.Trials` into :class:`Trajectories`.

Conventions (the engine's): a trial has ``steps`` observations; observation 0 comes from
``reset`` and was produced by :meth:`System.initial_action`; the action chosen after
observation ``t`` produces observation ``t + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from turing.contracts.system import System
from turing.engine import PASSIVE, Engine, Fixed, Noise, Trials
from turing.engine.trials import action_scale

Tensor = torch.Tensor


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

    @classmethod
    def of(cls, system: System, trials: Trials) -> Trajectories:
        n = trials.failed.shape[-1]
        first = system.initial_action(n, trials.observations.device).to(trials.observations.dtype)
        inputs = torch.cat([first.unsqueeze(0), trials.actions.to(first.dtype)])
        return cls(trials.observations, inputs, trials.failed)

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
    low, span = action_scale(system, actions.device)
    return (actions - low) / span


def passive_rollout(engine: Engine, params: Tensor, noise: Noise) -> Trajectories:
    """Trials under the passive input (each trial's schedule from its input stream)."""
    return Trajectories.of(engine.system, engine.run(params, noise, inputs=PASSIVE, record=True))


def fixed_rollout(engine: Engine, params: Tensor, noise: Noise, actions: Tensor) -> Trajectories:
    """Trials under inputs given in advance, ``[steps - 1, A, n]``."""
    trials = engine.run(params, noise, inputs=Fixed(actions), record=True)
    return Trajectories.of(engine.system, trials)


def replayed_rollout(
    engine: Engine, genuine: Tensor, models: Tensor, key: tuple[int, int], first_pair: int = 0
) -> tuple[Trajectories, Trajectories]:
    """Genuine trials under the passive input, and model trials driven by exactly the same
    input sequences from the same start conditions, with independent noise.

    Pair ``k`` (counted from ``first_pair``): the genuine trial is stream ``2k``, its model
    twin stream ``2k + 1`` with the genuine trial's start stream, so both start alike (for
    systems that start at random), and the model receives, step by step, the input the
    genuine system received. For an open-loop passive input (a light schedule) that is
    simply the shared schedule; for a closed-loop one (a robot's own obstacle avoidance
    reads the robot's own sensors) the genuine robot's controller drives both, so the
    model's outputs are compared along the same commands rather than under a controller fed
    by the model's own (different) outputs.

    Args:
        engine: the engine of the run.
        genuine: the genuine simulation parameters ``[S, n]``.
        models: the model simulation parameters ``[S, n]``.
        key: the Philox key of these trials.
        first_pair: the stream offset of the first pair (for chunks of a generation).

    Returns:
        ``(genuine_trajectories, model_trajectories)``.
    """
    n = genuine.shape[-1]
    device = genuine.device
    pair = torch.arange(first_pair, first_pair + n, device=device)
    keys = torch.tensor(key, dtype=torch.int64, device=device).reshape(2, 1)
    genuine_noise = Noise(keys, 2 * pair, input_stream=2 * pair)
    genuine_trials = engine.run(genuine, genuine_noise, inputs=PASSIVE, record=True)
    model_noise = Noise(keys, 2 * pair + 1, start_stream=2 * pair)
    model_trials = engine.run(
        models, model_noise, inputs=Fixed(genuine_trials.actions), record=True
    )
    system = engine.system
    return Trajectories.of(system, genuine_trials), Trajectories.of(system, model_trials)
