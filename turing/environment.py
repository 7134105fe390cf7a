"""Gymnasium views of a system's batched simulator.

:class:`SystemEnv` is one trial (``gymnasium.make("turing/AgentInference-v0")``) and
:class:`SystemVectorEnv` many trials stepped together by the same batched simulator
(``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``). Both draw their
randomness from a torch generator seeded by ``reset(seed=...)``, in the order the batched
simulator draws it, so a single-trial env and the simulator with ``n = 1`` and the same
seed produce the same observations step for step.

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

from turing.errors import UserError
from turing.registry import make_system
from turing.system import System

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
    return system.simulation_params(model)


def _spaces(system: System) -> tuple[spaces.Box, spaces.Box]:
    observation = spaces.Box(
        low=np.float32(system.observation_low),
        high=np.float32(system.observation_high),
        shape=(system.observation_size,),
        dtype=np.float32,
    )
    action = spaces.Box(
        low=np.float32(system.action_low),
        high=np.float32(system.action_high),
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
        self._generator = torch.Generator()
        self._seeded = False
        self._state = None
        self._started = False
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._generator.manual_seed(int(seed))
            self._seeded = True
        elif not self._seeded:
            self._generator.manual_seed(int(self.np_random.integers(2**63 - 1)))
            self._seeded = True
        self._state, obs = self.system.reset(self.params, self._generator)
        self._started = True
        self._t = 0
        return self._observation(obs), {"t": 0}

    def step(self, action):
        if not self._started:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        action = torch.as_tensor(np.asarray(action, dtype=np.float32).reshape(-1, 1))
        self._state, obs = self.system.step(self._state, self.params, action, self._generator)
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
        self._generator = torch.Generator(device=self.device)
        self._seeded = False
        self._state = None
        self._started = False
        self._t = 0
        self._needs_reset = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._generator.manual_seed(int(seed))
            self._seeded = True
        elif not self._seeded:
            self._generator.manual_seed(int(self.np_random.integers(2**63 - 1)))
            self._seeded = True
        self._state, obs = self.system.reset(self.params, self._generator)
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
        action = torch.as_tensor(
            np.asarray(actions, dtype=np.float32).reshape(self.num_envs, -1).T.copy(),
            device=self.device,
        )
        self._state, obs = self.system.step(self._state, self.params, action, self._generator)
        self._t += 1
        truncated = np.full(self.num_envs, self._t >= self.steps - 1)
        self._needs_reset = bool(truncated[0])
        return self._observation(obs), zeros, false, truncated, {}

    @staticmethod
    def _observation(obs: torch.Tensor) -> np.ndarray:
        return obs.T.detach().cpu().numpy().astype(np.float32)
