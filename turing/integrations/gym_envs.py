"""Gymnasium views of a system's batched simulator.

:class:`SystemEnv` is one trial (``gymnasium.make("turing/AgentInference-v0")``) and
:class:`SystemVectorEnv` many trials stepped together by the same batched simulator
(``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``). Both draw their
randomness from the engine's counter-based streams (:class:`turing.Noise`): episode ``e``
after ``reset(seed=s)`` uses the key ``stream_key(s, "env", e)`` and streams ``0 .. n-1``,
so a single-trial env and the batched simulator given the same key produce the same
observations step for step.

An episode is one trial: ``reset`` returns the first observation and the episode is
truncated when the trial's last observation is returned (``steps - 1`` calls to
``step``). The reward is always 0: a system has no goal of its own; see
``turing/TuringTest-v0`` for an env that rewards judging.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from turing.contracts.legacy import migration_hint
from turing.contracts.system import System
from turing.engine.random import Noise, stream_key
from turing.errors import UserError
from turing.integrations.contract_checks import checked_step
from turing.integrations.registry import make_system

ParamsLike = Mapping[str, Any] | Sequence[float] | np.ndarray | None


def simulation_params(system: System, params: ParamsLike, n: int, device="cpu") -> torch.Tensor:
    """Simulation parameters ``[S, n]`` from any way a user may give them.

    Args:
        system: the system.
        params: ``None`` (the genuine system), a mapping name -> value (the genuine system
            with these values, see :meth:`System.make_truth`), ``D`` model parameter values,
            or ``[n, D]`` values, one row per trial.
        n: trials.
        device: torch device.
    """
    if params is None or isinstance(params, Mapping):
        vector = torch.tensor(system.make_truth(params).simulation, dtype=torch.float32)
        return vector.reshape(-1, 1).expand(-1, n).contiguous().to(device)
    values = np.asarray(params, dtype=np.float64)
    d = len(system.parameters)
    if values.shape == (d,):
        values = np.broadcast_to(values, (n, d))
    if values.shape != (n, d):
        raise UserError(
            f"{system.name}: params must be {d} values ({', '.join(system.parameter_names)}) "
            f"or [{n}, {d}], got shape {values.shape}"
        )
    for k, p in enumerate(system.parameters):
        for value in values[:, k]:
            p.check(value, system.name)
    model = torch.as_tensor(values.T.copy(), dtype=torch.float32, device=device)
    return system.simulation_params(model, system.make_truth())


class EpisodeStreams:
    """The random streams of an env's episodes: after ``reset(seed=s)`` episode ``e`` (0
    for the seeded one, then 1, 2, ... on unseeded resets) is ``n`` trials of the key
    ``stream_key(s, "env", e)``; an env never seeded takes ``s`` from its ``np_random``."""

    def __init__(self, n: int, device: torch.device | str = "cpu"):
        self.n = n
        self.device = torch.device(device)
        self.seed: int | None = None
        self.episode = 0

    def next(self, seed: int | None, rng: np.random.Generator) -> Noise:
        if seed is not None:
            self.seed, self.episode = int(seed), 0
        elif self.seed is None:
            self.seed, self.episode = int(rng.integers(2**63 - 1)), 0
        else:
            self.episode += 1
        return Noise.for_trials(stream_key(self.seed, "env", self.episode), self.n, self.device)


def _spaces(system: System) -> tuple[spaces.Box, spaces.Box]:
    observation_low, observation_high = system.observation_bounds()
    action_low, action_high = system.action_bounds()
    observation = spaces.Box(
        low=observation_low.astype(np.float32),
        high=observation_high.astype(np.float32),
        shape=(system.observation_size,),
        dtype=np.float32,
    )
    action = spaces.Box(
        low=action_low.astype(np.float32),
        high=action_high.astype(np.float32),
        shape=(system.action_size,),
        dtype=np.float32,
    )
    return observation, action


class SystemEnv(gymnasium.Env):
    """One trial of a registered system.

    Args:
        system: registered name (or a System instance).
        params: see :func:`simulation_params`; default the genuine system.
        steps: observations per episode; default the system's trial length.
        render_mode: unused by the generic env (systems with a world of their own, such as
            the e-puck's PyBullet arena, register their own env).
        **options: the system's constructor options.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        system: str | System = "agent-inference",
        params: ParamsLike = None,
        steps: int | None = None,
        render_mode=None,
        **options,
    ):
        self.system = make_system(system, **options)
        self.steps = int(steps or self.system.default_steps)
        self.params = simulation_params(self.system, params, 1)
        self.observation_space, self.action_space = _spaces(self.system)
        self.render_mode = render_mode
        self._episodes = EpisodeStreams(1)
        self._state = None
        self._started = False
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._noise = self._episodes.next(seed, self.np_random)
        with migration_hint(self.system, "reset"):
            result = self.system.reset(self.params, self._noise.at(0))
        self._state, obs = checked_step(self.system, result, "reset", 1)
        self._started = True
        self._t = 0
        return self._observation(obs), {"t": 0}

    def step(self, action):
        if not self._started:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        action = np.asarray(action, dtype=np.float32)
        if action.size != self.system.action_size:
            raise UserError(
                f"{self.system.name}: step() takes {self.system.action_size} action values, "
                f"got shape {action.shape}"
            )
        action = torch.as_tensor(action.reshape(-1, 1))
        noise = self._noise.at(self._t + 1)
        with migration_hint(self.system, "step"):
            result = self.system.step(self._state, self.params, action, noise)
        self._state, obs = checked_step(self.system, result, "step", 1)
        self._t += 1
        truncated = self._t >= self.steps - 1
        return self._observation(obs), 0.0, False, truncated, {"t": self._t}

    @staticmethod
    def _observation(obs: torch.Tensor) -> np.ndarray:
        return obs[:, 0].detach().cpu().numpy().astype(np.float32)


class SystemVectorEnv(VectorEnv):
    """``num_envs`` trials of a registered system stepped together by its batched simulator.

    All trials start and end together; after the last observation the next ``step``
    resets them all (Gymnasium's next-step autoreset) and ignores its action.

    Args:
        num_envs: trials.
        system: registered name (or a System instance).
        params: see :func:`simulation_params` (``[num_envs, D]`` gives each trial its own).
        steps: observations per episode.
        device: torch device of the simulation.
        **options: the system's constructor options.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int = 1,
        system: str | System = "agent-inference",
        params: ParamsLike = None,
        steps: int | None = None,
        device: str = "cpu",
        max_episode_steps: int | None = None,
        render_mode=None,
        **options,
    ):
        self.system = make_system(system, **options)
        self.num_envs = int(num_envs)
        self.steps = int(steps or max_episode_steps or self.system.default_steps)
        self.device = torch.device(device)
        self.params = simulation_params(self.system, params, self.num_envs, self.device)
        self.single_observation_space, self.single_action_space = _spaces(self.system)
        self.observation_space = gymnasium.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )
        self.action_space = gymnasium.vector.utils.batch_space(
            self.single_action_space, self.num_envs
        )
        self.render_mode = render_mode
        self._episodes = EpisodeStreams(self.num_envs, self.device)
        self._state = None
        self._started = False
        self._t = 0
        self._needs_reset = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._noise = self._episodes.next(seed, self.np_random)
        with migration_hint(self.system, "reset"):
            result = self.system.reset(self.params, self._noise.at(0))
        self._state, obs = checked_step(self.system, result, "reset", self.num_envs)
        self._started = True
        self._t = 0
        self._needs_reset = False
        return self._observation(obs), {}

    def step(self, actions):
        if not self._started:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        zeros = np.zeros(self.num_envs, dtype=np.float64)
        false = np.zeros(self.num_envs, dtype=bool)
        if self._needs_reset:
            obs, info = self.reset()
            return obs, zeros, false, false, info
        actions = np.asarray(actions, dtype=np.float32)
        if actions.size != self.num_envs * self.system.action_size:
            raise UserError(
                f"{self.system.name}: step() takes [{self.num_envs}, {self.system.action_size}] "
                f"actions, got shape {actions.shape}"
            )
        action = torch.as_tensor(actions.reshape(self.num_envs, -1).T.copy(), device=self.device)
        noise = self._noise.at(self._t + 1)
        with migration_hint(self.system, "step"):
            result = self.system.step(self._state, self.params, action, noise)
        self._state, obs = checked_step(self.system, result, "step", self.num_envs)
        self._t += 1
        truncated = np.full(self.num_envs, self._t >= self.steps - 1)
        self._needs_reset = bool(truncated[0])
        return self._observation(obs), zeros, false, truncated, {}

    @staticmethod
    def _observation(obs: torch.Tensor) -> np.ndarray:
        return obs.T.detach().cpu().numpy().astype(np.float32)
