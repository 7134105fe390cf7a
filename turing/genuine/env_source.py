"""Genuine trials from a Gymnasium environment (``turing run SYSTEM --genuine ENV_ID``).

Each genuine trial is one episode of its own environment: ``reset(seed=...)`` with a seed
derived from the trial's start stream (:func:`~turing.genuine.source.reset_seeds`), then one
``step`` per input, the inputs chosen by the interrogators (or by the model system's passive
controller, with the genuine parameter values, in the passive modes). The environments live
in a pool of worker processes (:mod:`turing.genuine.pool`); this process runs the
interrogators between steps on the engine's reference loop, where the environment stands
in for the simulator (:class:`EnvSystem`).

Before anything is written, :func:`open_env_source` builds one environment and checks it:
the id exists (with a did-you-mean), the keyword arguments are accepted, the observation and
action spaces are boxes of the model system's sizes, the model's action bounds lie within
the environment's, and a reset and a step return finite observations.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import pickle
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from turing.contracts.system import System, Truth
from turing.engine import JUDGE, Engine, Trials
from turing.engine.trials import default_threads
from turing.errors import GenuineSourceError, UserError
from turing.genuine.adapter import SourceSystem
from turing.genuine.pool import (
    EnvPool,
    EnvSpec,
    LocalPool,
    PoolError,
    ProcessPool,
    VectorPool,
    as_error,
)
from turing.genuine.source import GenuineSource, reset_seeds

Tensor = torch.Tensor

DEFAULT_TIMEOUT = 60.0
"""Seconds a worker may take to answer one reset or step of its trials."""


class EnvSource(GenuineSource):
    """Genuine trials from Gymnasium environments.

    Args:
        system: the run's model system.
        truth: the genuine parameter values the model system's passive controller uses when
            it drives the environment (passive modes), and the reference of errors.
        steps: observations per trial.
        spec: how to build one environment (an id and keyword arguments, or a factory).
        env: a ``gymnasium.vector.VectorEnv`` to use instead of building environments.
        workers: worker processes (0: the environments run in this process).
        timeout: seconds a reset or step may take before the run stops.
    """

    kind = "env"
    live = True
    replayable = False
    merges = False

    def __init__(
        self,
        system: System,
        truth: Truth,
        steps: int,
        spec: EnvSpec | None = None,
        env: Any = None,
        workers: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        self.system = system
        self.truth = truth
        self.steps = int(steps)
        self.spec = spec
        self.env = env
        self.workers = default_threads() if workers is None else int(workers)
        self.timeout = float(timeout)
        self.params = torch.tensor(truth.simulation, dtype=torch.float32)
        self._pool: EnvPool | None = None
        self.name = spec.name if spec is not None else type(env).__name__

    @property
    def pool(self) -> EnvPool:
        if self._pool is None:
            size = self.system.observation_size
            if self.env is not None:
                self._pool = VectorPool(self.env, size)
            elif self.workers == 0:
                self._pool = LocalPool(self.spec, size, self.timeout)
            else:
                self._pool = ProcessPool(self.spec, size, self.timeout, self.workers)
        return self._pool

    def run(
        self, noise, judge=None, inputs=JUDGE, start=None, record=False, observe=None
    ) -> Trials:
        pool = self.pool
        chunk = pool.capacity or max(1, noise.n)
        engine = Engine(EnvSystem(self, chunk), self.steps, "cpu", "eager", chunk_size=chunk,
                        align=False)  # fmt: skip
        params = self.params.reshape(-1, 1).expand(-1, noise.n)
        try:
            return engine.run(params, noise, judge, inputs, None, record, observe)
        except GenuineSourceError:
            self.close()  # a failed env leaves its workers in an unknown state
            raise

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"kind": self.kind, "env": self.name}
        if self.spec is not None and self.spec.kwargs:
            described["kwargs"] = dict(self.spec.kwargs)
        described["workers"] = 0 if self.env is not None else self.workers
        return described

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class EnvSystem(SourceSystem):
    """The environments of a batch of trials, seen by the engine's loop as a system."""

    def __init__(self, source: EnvSource, chunk_size: int):
        super().__init__(source.system, chunk_size)
        self.source = source

    def _fail(self, error: PoolError, state: dict[str, Any]) -> GenuineSourceError:
        return as_error(error, self.source.name, state["t"], state["names"])

    def _tensor(self, observations: np.ndarray, state: dict[str, Any]) -> Tensor:
        finite = np.isfinite(observations).all(1)
        if not finite.all():
            slot = int(np.flatnonzero(~finite)[0])
            raise GenuineSourceError(
                f"genuine env {self.source.name}: trial {state['names'][slot]}, step "
                f"{state['t']}: the observation is not finite ({observations[slot].tolist()})"
            )
        return torch.from_numpy(np.ascontiguousarray(observations.T))

    def reset(self, params, noise, start=None):
        seeds = reset_seeds(noise)
        state = {"t": 0, "names": [str(int(s)) for s in noise.stream.tolist()], "seeds": seeds}
        try:
            observations = self.source.pool.reset(seeds)
        except PoolError as error:
            raise self._fail(error, state) from None
        return state, self._tensor(observations, state)

    def step(self, state, params, action, noise):
        state = dict(state, t=state["t"] + 1)
        try:
            observations, ended = self.source.pool.step(action.detach().cpu().numpy().T)
        except PoolError as error:
            raise self._fail(error, state) from None
        if ended.any() and state["t"] < self.source.steps - 1:
            slot = int(np.flatnonzero(ended)[0])
            raise GenuineSourceError(
                f"genuine env {self.source.name}: trial {state['names'][slot]} ended (terminated "
                f"or truncated) at step {state['t']}, before the trial's last observation "
                f"({self.source.steps - 1}); give fewer --steps, or an env whose episodes last "
                f"{self.source.steps - 1} steps"
            )
        return state, self._tensor(observations, state)


# ---------------------------------------------------------------------------- opening


def open_env_source(
    system: System,
    truth: Truth,
    steps: int,
    genuine: Any,
    kwargs: dict[str, Any] | None = None,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    modules: tuple[str, ...] = (),
) -> EnvSource:
    """An :class:`EnvSource` for ``genuine`` (a Gymnasium id, an env factory, or a
    ``VectorEnv``), checked against ``system`` before anything is written.

    Raises:
        UserError: for an unknown id (with a did-you-mean), keyword arguments the env
            refuses, spaces that do not match the model system's, an env whose reset or
            first step fails or returns non-finite observations, or a factory that cannot be
            sent to worker processes.
    """
    kwargs = dict(kwargs or {})
    if isinstance(genuine, str):
        paths = _check_id(genuine)
        spec = EnvSpec(env_id=genuine, kwargs=kwargs, modules=tuple(modules), paths=paths)
        source = EnvSource(system, truth, steps, spec=spec, workers=workers, timeout=timeout)
        env = _build(spec)
        try:
            _check_spaces(system, env.observation_space, env.action_space, genuine)
            _probe(system, env, genuine)
        finally:
            env.close()
        return source
    if _is_vector_env(genuine):
        if kwargs:
            raise UserError("genuine_kwargs apply to an env id or factory, not to a VectorEnv")
        _check_spaces(
            system, genuine.single_observation_space, genuine.single_action_space, "the VectorEnv"
        )
        return EnvSource(system, truth, steps, env=genuine, timeout=timeout)
    if callable(genuine):
        if kwargs:
            raise UserError("genuine_kwargs apply to an env id; give a factory that takes none")
        spec = EnvSpec(factory=genuine, modules=tuple(modules))
        name = spec.name
        if (workers is None or workers > 0) and not _picklable(genuine):
            raise UserError(
                f"the genuine env factory {name} cannot be sent to worker processes (a lambda "
                "or a function defined inside another); define it at the top level of a "
                "module, or pass genuine_workers=0 to run the envs in this process"
            )
        env = _build(spec)
        try:
            _check_spaces(system, env.observation_space, env.action_space, name)
            _probe(system, env, name)
        finally:
            env.close()
        return EnvSource(system, truth, steps, spec=spec, workers=workers, timeout=timeout)
    raise UserError(
        f"genuine= takes a Gymnasium id, an env factory or a gymnasium.vector.VectorEnv, got "
        f"{type(genuine).__name__}"
    )


def _check_id(env_id: str) -> tuple[str, ...]:
    """Checks that ``env_id`` names a registered env; returns the folders a worker must put
    on its import path to find it (``module:EnvId`` with ``module`` in the current folder)."""
    import gymnasium

    if env_id in gymnasium.registry:
        return ()
    if ":" in env_id:  # "module:EnvId": the module registers EnvId when imported
        module, name = env_id.split(":", 1)
        paths: tuple[str, ...] = ()
        if importlib.util.find_spec(module) is None and Path(f"{module}.py").is_file():
            paths = (str(Path.cwd()),)  # a module beside the user, as --system-module finds it
            sys.path.insert(0, paths[0])
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise UserError(
                f"--genuine {env_id}: importing {module} failed ({type(exc).__name__}: {exc})"
            ) from None
        if name not in gymnasium.registry:
            raise UserError(f"--genuine {env_id}: importing {module} registered no env {name!r}")
        return paths
    known = list(gymnasium.registry)
    close = difflib.get_close_matches(env_id, known, n=1, cutoff=0.6)
    if not close:  # a different version or namespace of the same name
        base = env_id.split("/")[-1].split("-v")[0].lower()
        close = [k for k in known if k.split("/")[-1].split("-v")[0].lower() == base][:1]
    hint = (
        f"; did you mean {close[0]}?"
        if close
        else ('; `python -c "import gymnasium; gymnasium.pprint_registry()"` lists the ids')
    )
    raise UserError(f"--genuine: no Gymnasium environment {env_id!r} is registered{hint}")


def _build(spec: EnvSpec):
    try:
        return spec.build()
    except UserError:
        raise
    except TypeError as exc:
        raise UserError(
            f"--genuine {spec.name} refuses its keyword arguments "
            f"({', '.join(f'{k}={v!r}' for k, v in spec.kwargs.items()) or 'none'}): {exc}"
        ) from None
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UserError(
            f"--genuine {spec.name} could not be made ({type(exc).__name__}: {first})"
        ) from None


def _box(space: Any, size: int, what: str, name: str, system: System) -> None:
    shape = getattr(space, "shape", None)
    if type(space).__name__ != "Box" or shape != (size,):
        kind = type(space).__name__
        found = f"a {kind} of shape {shape}" if kind == "Box" else f"a {kind} space"
        raise UserError(
            f"--genuine {name}: its {what}s are {found}, but {system.name}'s are {size} "
            f"numbers (a Box of shape ({size},)); pair it with a model system of the same "
            "observation and action sizes"
        )


def _check_spaces(system: System, observation_space, action_space, name: str) -> None:
    _box(observation_space, system.observation_size, "observation", name, system)
    _box(action_space, system.action_size, "action", name, system)
    low, high = system.action_bounds()
    env_low = np.broadcast_to(np.asarray(action_space.low, dtype=np.float64), low.shape)
    env_high = np.broadcast_to(np.asarray(action_space.high, dtype=np.float64), high.shape)
    slack = 1e-6 * np.maximum(1.0, np.abs(high - low))
    if np.any(low < env_low - slack) or np.any(high > env_high + slack):
        raise UserError(
            f"--genuine {name}: {system.name}'s actions span [{_text(low)}, {_text(high)}] but "
            f"the env accepts [{_text(env_low)}, {_text(env_high)}]; the model system's action "
            "bounds must lie within the env's action space"
        )
    obs_low, obs_high = system.observation_bounds()
    env_obs_low = np.broadcast_to(
        np.asarray(observation_space.low, dtype=np.float64), obs_low.shape
    )
    env_obs_high = np.broadcast_to(
        np.asarray(observation_space.high, dtype=np.float64), obs_high.shape
    )
    differs = ~(np.isclose(obs_low, env_obs_low) & np.isclose(obs_high, env_obs_high))
    if differs.any():
        warnings.warn(
            f"--genuine {name}: its observation bounds [{_text(env_obs_low)}, "
            f"{_text(env_obs_high)}] differ from {system.name}'s [{_text(obs_low)}, "
            f"{_text(obs_high)}]; interrogators read observations scaled by {system.name}'s",
            RuntimeWarning,
            stacklevel=3,
        )


def _text(values: np.ndarray) -> str:
    values = np.asarray(values).reshape(-1)
    if np.all(values == values[0]):
        return f"{values[0]:g}"
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def _probe(system: System, env, name: str) -> None:
    """One reset and one step, as a genuine trial will do them."""
    from turing.genuine.pool import reset_env, step_env

    size = system.observation_size
    try:
        observation = reset_env(env, 0, size)
        low, high = system.action_bounds()
        action = np.asarray((low + high) / 2, dtype=np.float32)
        stepped, _ = step_env(env, action, size)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UserError(
            f"--genuine {name}: a test trial failed ({type(exc).__name__}: {first})"
        ) from None
    for what, value in (("reset", observation), ("step", stepped)):
        if not np.all(np.isfinite(value)):
            raise UserError(f"--genuine {name}: {what} returned a non-finite observation {value}")


def _is_vector_env(value: Any) -> bool:
    try:
        from gymnasium.vector import VectorEnv
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, VectorEnv)


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)  # what spawn does to send it; nothing is stored
    except Exception:
        return False
    return True
