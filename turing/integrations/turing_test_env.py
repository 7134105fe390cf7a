"""``turing/TuringTest-v0``: a Turing test of any registered system, as a Gymnasium env.

An interrogator is a policy: it drives a system step by step, reads its output and, at the
end, says whether it met the genuine system or a model. This env lets reinforcement-learning
libraries train such policies::

    env = gymnasium.make("turing/TuringTest-v0", system="agent-inference",
                         models=[{"a": 0.5}, {"delta": 0.6}])
    envs = gymnasium.make_vec("turing/TuringTest-v0", num_envs=256,
                              vectorization_mode="vector_entry_point", system="agent-inference")

Each episode is one trial with either the genuine system (probability
``genuine_probability``, 1/2 by default, as in the coevolution's balanced trials) or one of
the ``models`` chosen uniformly (or, with ``models=None``, a model drawn uniformly within
the parameter bounds); which one is hidden until the end.

* Observation: the system's observation (``system.observation_size`` values).
* Action: the system's action followed by a judgement in [0, 1]
  (``action_names = (*system.action_names, "judgement")``), so a policy for the system's
  own env (``turing/AgentInference-v0``) has the same layout plus one value. The system's
  part is clipped into its bounds; a judgement >= 0.5 means "genuine", as for the evolved
  interrogators.
* Episode: ``reset`` returns the trial's first observation; each of the next ``steps - 1``
  calls to ``step`` applies the system's action and returns the next observation; the
  ``steps``-th call only reads the final judgement (the system's part is ignored) and
  terminates the episode. So, like an evolved interrogator, the policy judges after seeing
  all ``steps`` observations.
* Reward: 1 at the last step if the final judgement is right, else 0; 0 at every other step.
* ``info`` at the last step reveals the truth: ``genuine`` (bool), ``model`` (index into
  ``models``; -1 for the genuine system and for randomly drawn models), ``params`` (the
  trial's parameter values), ``judged_genuine``, ``correct``, ``failed``.

:class:`TuringTestVectorEnv` (the ``vector_entry_point``) runs ``num_envs`` such trials in
one batch of the system's simulator: every trial starts and ends together, each is genuine
or a model independently, and after the last step the next ``step`` starts new trials
(Gymnasium's next-step autoreset).

A model whose simulation produces a non-finite observation is judged counterfeit whatever
the policy says (as in the evaluator), so its trial counts as judged right; its
non-finite values are shown to the policy as 0. The genuine system producing one is a
:class:`turing.SystemContractError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from turing.contracts.legacy import migration_hint
from turing.contracts.system import System
from turing.engine.random import Noise
from turing.errors import SystemContractError, UserError
from turing.integrations.model_table import ModelsLike, model_table
from turing.integrations.registry import make_system

ENV_ID = "turing/TuringTest-v0"
JUDGEMENT_THRESHOLD = 0.5


class TuringTest:
    """What both envs share: the system, the genuine values, the models, the spaces, and
    the batched trials themselves.

    Args: see :class:`TuringTestEnv`.
    """

    def __init__(
        self,
        system: str | System | None,
        models: ModelsLike,
        steps: int | None,
        true_params: Mapping[str, Any] | None,
        genuine_probability: float,
        device: str | torch.device,
        options: Mapping[str, Any],
    ):
        if system is None:
            raise UserError(
                f"{ENV_ID} needs a system: gymnasium.make({ENV_ID!r}, system=NAME) (see `turing list`)"
            )
        self.system = make_system(system, **options)
        self.truth = self.system.make_truth(true_params)
        self.models = model_table(self.system, models, self.truth.reference)
        self.steps = int(steps or self.system.default_steps)
        if self.steps < 1:
            raise UserError(f"{ENV_ID}: steps must be at least 1, got {steps}")
        if not 0.0 <= float(genuine_probability) <= 1.0:
            raise UserError(
                f"{ENV_ID}: genuine_probability must be in [0, 1], got {genuine_probability}"
            )
        self.genuine_probability = float(genuine_probability)
        self.device = torch.device(device)

        system = self.system
        observation_low, observation_high = system.observation_bounds()
        self.observation_space = spaces.Box(
            low=observation_low.astype(np.float32),
            high=observation_high.astype(np.float32),
            shape=(system.observation_size,),
            dtype=np.float32,
        )
        action_low, action_high = system.action_bounds()
        low = np.append(action_low, 0.0).astype(np.float32)
        high = np.append(action_high, 1.0).astype(np.float32)
        self.action_space = spaces.Box(low=low, high=high, dtype=np.float32)
        names = system.action_names or tuple(f"action_{k}" for k in range(system.action_size))
        self.action_names = (*names, "judgement")
        self.genuine_simulation = torch.tensor(
            self.truth.simulation, dtype=torch.float32, device=self.device
        )
        self.noise: Noise | None = None

        self.state: Any = None
        self.running = False
        self.params: torch.Tensor | None = None
        self.t = 0
        self.genuine = np.zeros(0, dtype=bool)
        self.model = np.zeros(0, dtype=np.int64)
        self.values = np.zeros((0, len(system.parameters)))
        self.failed = np.zeros(0, dtype=bool)
        self.last = np.zeros((0, system.observation_size), dtype=np.float32)

    def start(
        self, n: int, rng: np.random.Generator, options: Mapping[str, Any] | None
    ) -> np.ndarray:
        """Chooses ``n`` trials (genuine or which model) and returns their first
        observations ``[n, obs]``. Every draw comes from ``rng``, so a seeded ``rng``
        replays the same trials."""
        options = dict(options or {})
        unknown = set(options) - {"genuine", "model"}
        if unknown:
            raise UserError(
                f"{ENV_ID}: unknown reset options {sorted(unknown)}; use 'genuine' or 'model'"
            )
        key = (int(rng.integers(2**32)), int(rng.integers(2**32)))
        self.noise = Noise.for_trials(key, n, self.device)
        genuine = rng.random(n) < self.genuine_probability
        if self.models is not None:
            model = rng.integers(len(self.models), size=n)
            rows = self.models[model]
        else:
            model = np.full(n, -1)
            rows = rng.uniform(
                self.system.lows, self.system.highs, size=(n, len(self.system.parameters))
            )
        if "genuine" in options:
            genuine[:] = bool(options["genuine"])
        if "model" in options:
            index = int(options["model"])
            if self.models is None or not 0 <= index < len(self.models):
                count = 0 if self.models is None else len(self.models)
                raise UserError(
                    f"{ENV_ID}: no model {options['model']!r}; this env has {count} models"
                )
            genuine[:], model[:], rows = False, index, self.models[np.full(n, index)]
        model = np.where(genuine, -1, model)
        reference = np.array([self.truth.reference[p] for p in self.system.parameter_names])
        self.values = np.where(genuine[:, None], reference, rows)
        simulated = self.system.simulation_params(
            torch.as_tensor(rows.T.copy(), dtype=torch.float32, device=self.device), self.truth
        )
        mask = torch.as_tensor(genuine, device=self.device)
        self.params = torch.where(mask, self.genuine_simulation.reshape(-1, 1), simulated)
        self.genuine, self.model = genuine, model
        self.failed = np.zeros(n, dtype=bool)
        self.t = 0
        self.running = True
        with migration_hint(self.system, "reset"):
            result = self.system.reset(self.params, self.noise.at(0))
        self.state, obs = _pair(result, self.system, "reset")
        return self.observe(obs, "reset")

    def advance(self, actions: np.ndarray) -> np.ndarray:
        """Applies the system's part of ``actions`` ``[n, A + 1]``; returns the next
        observations ``[n, obs]``."""
        drive = np.clip(actions[:, :-1], self.action_space.low[:-1], self.action_space.high[:-1])
        action = torch.as_tensor(drive.T.copy(), device=self.device)
        noise = self.noise.at(self.t + 1)
        with migration_hint(self.system, "step"):
            result = self.system.step(self.state, self.params, action, noise)
        self.state, obs = _pair(result, self.system, "step")
        self.t += 1
        return self.observe(obs, "step")

    def judge(self, actions: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Scores the final judgements: rewards ``[n]`` and the revealed truth."""
        judged = (actions[:, -1] >= JUDGEMENT_THRESHOLD) & ~self.failed
        correct = judged == self.genuine
        self.t += 1
        self.state, self.running = None, False
        truth = {
            "genuine": self.genuine.copy(),
            "model": self.model.copy(),
            "params": self.values.copy(),
            "judged_genuine": judged,
            "correct": correct,
            "failed": self.failed.copy(),
        }
        return correct.astype(np.float64), truth

    def check_actions(self, actions: Any, n: int) -> np.ndarray:
        actions = np.asarray(actions, dtype=np.float32)
        size = self.action_space.shape[0]
        if actions.size != n * size:
            raise UserError(
                f"{ENV_ID}: each action must have {size} values ({', '.join(self.action_names)}), "
                f"got an array of shape {actions.shape}"
            )
        return actions.reshape(n, size)

    def observe(self, obs: torch.Tensor, what: str) -> np.ndarray:
        size, n = self.system.observation_size, len(self.genuine)
        if not isinstance(obs, torch.Tensor) or tuple(obs.shape) != (size, n):
            got = tuple(obs.shape) if isinstance(obs, torch.Tensor) else type(obs).__name__
            raise SystemContractError(
                f"{self.system.name}: {what} returned shape {got}, expected ({size}, {n}) "
                "(features first, trial axis last)"
            )
        values = obs.detach().T.cpu().numpy().astype(np.float32)
        finite = np.isfinite(values)
        if not finite.all():
            bad = ~finite.all(1)
            if np.any(bad & self.genuine):
                raise SystemContractError(
                    f"{self.system.name}: the genuine system produced a non-finite observation "
                    f"at step {self.t}; check its simulator (step/reset must return finite values)"
                )
            self.failed |= bad
            values = np.where(finite, values, np.float32(0.0))
        self.last = np.clip(values, self.observation_space.low, self.observation_space.high)
        return self.last.copy()


def _pair(result: Any, system: System, what: str) -> tuple[Any, torch.Tensor]:
    if not (isinstance(result, tuple) and len(result) == 2):
        raise SystemContractError(
            f"{system.name}: {what} returned {type(result).__name__}, expected a (state, observation) pair"
        )
    return result


class TuringTestEnv(gymnasium.Env):
    """One Turing test per episode: the genuine system or a hidden model; judge which.

    Args:
        system: registered system name (see ``turing list``) or a System instance.
        models: the models to tell from the genuine system (see :func:`model_table`);
            ``None`` draws a model uniformly within the bounds for every model trial.
        steps: observations per trial; default the system's trial length.
        true_params: genuine values that differ from the defaults, name -> value.
        genuine_probability: chance that an episode is a genuine trial.
        render_mode: not supported (``None``).
        **options: the system's constructor options.

    Raises:
        UserError: for bad arguments.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        system: str | System | None = None,
        models: ModelsLike = None,
        steps: int | None = None,
        true_params: Mapping[str, Any] | None = None,
        genuine_probability: float = 0.5,
        render_mode: str | None = None,
        **options: Any,
    ):
        if render_mode is not None:
            raise UserError(f"{ENV_ID} draws nothing; use render_mode=None")
        self.test = TuringTest(
            system, models, steps, true_params, genuine_probability, "cpu", options
        )
        self.system, self.steps, self.models = self.test.system, self.test.steps, self.test.models
        self.observation_space = self.test.observation_space
        self.action_space = self.test.action_space
        self.action_names = self.test.action_names
        self.render_mode = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Starts a trial.

        Args:
            seed: reseeds the env (the choice of system and the simulation's randomness).
            options: ``{"genuine": True}`` forces a genuine trial, ``{"genuine": False}`` a
                model trial, ``{"model": j}`` a trial of model ``j`` (for balanced
                evaluations); by default the choice is random.

        Returns:
            ``(observation, {"t": 0})``.
        """
        super().reset(seed=seed)
        return self.test.start(1, self.np_random, options)[0], {"t": 0}

    def step(self, action):
        """Applies the system's part of ``action``; at the last step, scores the judgement.

        Returns:
            ``(observation, reward, terminated, truncated, info)``.
        """
        if not self.test.running:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        actions = self.test.check_actions(action, 1)
        if self.test.t + 1 < self.steps:
            return self.test.advance(actions)[0], 0.0, False, False, {"t": self.test.t}
        reward, truth = self.test.judge(actions)
        info = {"t": self.test.t, **{k: _scalar(v[0]) for k, v in truth.items() if k != "params"}}
        info["params"] = dict(
            zip(self.system.parameter_names, map(float, truth["params"][0]), strict=True)
        )
        return self.test.last[0].copy(), float(reward[0]), True, False, info


class TuringTestVectorEnv(VectorEnv):
    """``num_envs`` Turing tests in one batch of the system's simulator.

    Every trial starts and ends together; each is genuine or a model independently. The
    info of the last step holds arrays (``genuine``, ``model``, ``params [n, D]``,
    ``judged_genuine``, ``correct``, ``failed``); the next ``step`` starts new trials and
    ignores its actions (next-step autoreset).

    Args:
        num_envs: trials per batch.
        system, models, steps, true_params, genuine_probability: as :class:`TuringTestEnv`.
        device: torch device of the simulation (observations are returned as numpy).
        **options: the system's constructor options.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int = 1,
        system: str | System | None = None,
        models: ModelsLike = None,
        steps: int | None = None,
        true_params: Mapping[str, Any] | None = None,
        genuine_probability: float = 0.5,
        device: str = "cpu",
        render_mode: str | None = None,
        **options: Any,
    ):
        if render_mode is not None:
            raise UserError(f"{ENV_ID} draws nothing; use render_mode=None")
        self.test = TuringTest(
            system, models, steps, true_params, genuine_probability, device, options
        )
        self.system, self.steps, self.models = self.test.system, self.test.steps, self.test.models
        self.num_envs = int(num_envs)
        self.single_observation_space = self.test.observation_space
        self.single_action_space = self.test.action_space
        self.observation_space = gymnasium.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )
        self.action_space = gymnasium.vector.utils.batch_space(
            self.single_action_space, self.num_envs
        )
        self.action_names = self.test.action_names
        self.render_mode = None
        self._needs_reset = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Starts ``num_envs`` new trials (``options`` as :meth:`TuringTestEnv.reset`, for
        all of them)."""
        super().reset(seed=seed)
        self._needs_reset = False
        return self.test.start(self.num_envs, self.np_random, options), {}

    def step(self, actions):
        if not self.test.running and not self._needs_reset:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        zeros = np.zeros(self.num_envs)
        false = np.zeros(self.num_envs, dtype=bool)
        if self._needs_reset:
            obs, info = self.reset()
            return obs, zeros, false, false, info
        actions = self.test.check_actions(actions, self.num_envs)
        if self.test.t + 1 < self.steps:
            return self.test.advance(actions), zeros, false, false, {}
        rewards, truth = self.test.judge(actions)
        self._needs_reset = True
        info: dict[str, Any] = {}
        for key, value in truth.items():
            info[key] = value
            info["_" + key] = np.ones(self.num_envs, dtype=bool)
        return self.test.last.copy(), rewards, ~false, false, info


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


gymnasium.registry.pop(ENV_ID, None)
gymnasium.register(
    id=ENV_ID,
    entry_point="turing.integrations.turing_test_env:TuringTestEnv",
    vector_entry_point="turing.integrations.turing_test_env:TuringTestVectorEnv",
)
