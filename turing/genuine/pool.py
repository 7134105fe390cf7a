"""Gymnasium environments that run genuine trials, one environment per trial in flight.

An :class:`EnvPool` holds the environments of the trials the engine runs at once and steps
them in lockstep: :meth:`EnvPool.reset` starts ``k`` trials (one seed each) and returns
their first observations, :meth:`EnvPool.step` applies one action per trial and returns
the next observations. Three kinds, one interface:

* :class:`ProcessPool`: the environments live in worker processes (``spawn``), a block of
  trials per worker, so that several cores step them while this process runs the
  interrogators and the model trials. Workers die with their parent (``PR_SET_PDEATHSIG``
  where Linux offers it, and a watcher thread everywhere), and a worker that does not answer
  within ``timeout`` seconds is killed with the others: the run stops with one line naming
  the trials and the step, and resumes from its checkpoint.
* :class:`LocalPool`: the environments in this process (``--genuine-workers 0``; any
  factory, picklable or not).
* :class:`VectorPool`: a ``gymnasium.vector.VectorEnv`` the user built (its own workers,
  if any); trials run in batches of its ``num_envs``.

What an environment returns is checked at every step: the observation's shape, finite
values, and no end of the episode before the trial's last observation.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np

from turing.errors import GenuineSourceError

STARTUP_SECONDS = 120.0
"""How long worker processes may take to start (import torch and turing)."""


@dataclass(frozen=True)
class EnvSpec:
    """How to build one environment: a Gymnasium id with keyword arguments, or a factory
    (a callable of no arguments returning a ``gymnasium.Env``).

    Attributes:
        env_id: the registered id (``Pendulum-v1``, ``turing/EpuckBullet-v0``).
        kwargs: keyword arguments of ``gymnasium.make``.
        factory: a callable instead of an id.
        modules: modules a worker imports before building (plugins that register ids).
        paths: folders a worker puts on its import path first (``module:EnvId`` ids).
    """

    env_id: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    factory: Callable[[], Any] | None = None
    modules: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    def build(self):
        if self.factory is not None:
            return self.factory()
        import gymnasium

        return gymnasium.make(self.env_id, **self.kwargs)

    @property
    def name(self) -> str:
        if self.env_id is not None:
            return self.env_id
        return getattr(self.factory, "__qualname__", type(self.factory).__name__)


# ---------------------------------------------------------------------------- one env


def _observation(value: Any, size: int) -> np.ndarray:
    observation = np.asarray(value, dtype=np.float32)
    if observation.shape != (size,):
        raise ValueError(
            f"returned an observation of shape {observation.shape}, expected ({size},)"
        )
    return observation


def reset_env(env, seed: int, size: int) -> np.ndarray:
    result = env.reset(seed=int(seed))
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ValueError("reset did not return (observation, info)")
    return _observation(result[0], size)


def step_env(env, action: np.ndarray, size: int) -> tuple[np.ndarray, bool]:
    result = env.step(action)
    if not (isinstance(result, tuple) and len(result) == 5):
        raise ValueError(
            "step did not return (observation, reward, terminated, truncated, info) "
            "(a Gymnasium >= 0.26 env)"
        )
    observation, _, terminated, truncated, _ = result
    return _observation(observation, size), bool(terminated or truncated)


class _Envs:
    """The environments of one worker (or of a local pool): built on first use, reused
    across trials (each trial starts with a seeded reset)."""

    def __init__(self, spec: EnvSpec, observation_size: int):
        self.spec = spec
        self.size = observation_size
        self.envs: list[Any] = []

    def reset(self, seeds: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        while len(self.envs) < len(seeds):
            self.envs.append(self.spec.build())
        observations = np.empty((len(seeds), self.size), dtype=np.float32)
        for slot, seed in enumerate(seeds):
            observations[slot] = _guarded(
                slot, "reset", reset_env, self.envs[slot], seed, self.size
            )
        return observations, np.zeros(len(seeds), dtype=bool)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        observations = np.empty((len(actions), self.size), dtype=np.float32)
        done = np.zeros(len(actions), dtype=bool)
        for slot, action in enumerate(actions):
            observations[slot], done[slot] = _guarded(
                slot, "step", step_env, self.envs[slot], action, self.size
            )
        return observations, done

    def close(self) -> None:
        for env in self.envs:
            try:
                env.close()
            except Exception:  # closing is best effort
                pass
        self.envs = []


class _SlotError(Exception):
    def __init__(self, slot: int, message: str):
        super().__init__(message)
        self.slot, self.message = slot, message


def _guarded(slot: int, what: str, call, *args):
    try:
        return call(*args)
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise _SlotError(slot, f"{what} raised {type(exc).__name__}: {text}".rstrip(": ")) from None


# ---------------------------------------------------------------------------- pools


class EnvPool:
    """Environments of up to ``capacity`` trials in flight (see the module docstring)."""

    capacity: int | None = None
    """The most trials run at once (``None``: any number)."""

    def __init__(self, spec: EnvSpec, observation_size: int, timeout: float):
        self.spec = spec
        self.size = int(observation_size)
        self.timeout = float(timeout)

    def reset(self, seeds: np.ndarray) -> np.ndarray:
        """Starts ``len(seeds)`` trials; returns their first observations ``[k, O]``."""
        raise NotImplementedError

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step of every trial in flight: ``(observations [k, O], ended [k])``."""
        raise NotImplementedError

    def close(self) -> None:
        """Ends the environments (and the workers)."""


class LocalPool(EnvPool):
    """The environments in this process."""

    def __init__(self, spec: EnvSpec, observation_size: int, timeout: float = 0.0):
        super().__init__(spec, observation_size, timeout)
        self.envs = _Envs(spec, self.size)

    def reset(self, seeds):
        return _local(self.envs.reset, [int(s) for s in seeds])[0]

    def step(self, actions):
        return _local(self.envs.step, np.asarray(actions, dtype=np.float32))

    def close(self):
        self.envs.close()


def _local(call, argument):
    try:
        return call(argument)
    except _SlotError as error:
        raise PoolError(error.slot, error.message) from None


class PoolError(Exception):
    """An environment failed: ``slot`` is the trial's position in the batch in flight."""

    def __init__(self, slot: int | None, message: str):
        super().__init__(message)
        self.slot, self.message = slot, message


class ProcessPool(EnvPool):
    """The environments in ``workers`` processes, a contiguous block of trials each."""

    def __init__(self, spec: EnvSpec, observation_size: int, timeout: float, workers: int):
        super().__init__(spec, observation_size, timeout)
        self.workers = max(1, int(workers))
        self.processes: list[Any] = []
        self.connections: list[Connection] = []
        self.blocks: list[tuple[int, int]] = []
        context = multiprocessing.get_context("spawn")
        for _ in range(self.workers):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_worker,
                args=(theirs, spec, self.size, os.getpid()),
                daemon=True,
                name="turing-genuine-env",
            )
            process.start()
            theirs.close()
            self.processes.append(process)
            self.connections.append(ours)
        self._started = False

    def _wait_until_started(self) -> None:
        """Waits for every worker's imports (not counted against ``timeout``: importing torch
        takes seconds on a busy machine)."""
        deadline = time.monotonic() + max(STARTUP_SECONDS, self.timeout)
        waiting = list(self.connections)
        while waiting:
            ready = wait(waiting, timeout=max(0.0, deadline - time.monotonic()))
            if not ready:
                self.close()
                raise PoolError(
                    None, f"its worker processes did not start within {STARTUP_SECONDS} s"
                )
            for connection in ready:
                try:
                    answer = connection.recv()
                except (EOFError, OSError):
                    self.close()
                    raise PoolError(None, "a worker process died while starting") from None
                if answer[0] == "error":
                    self.close()
                    raise PoolError(None, answer[2])
                waiting.remove(connection)
        self._started = True

    def _exchange(self, command: str, parts: list[Any], what: str) -> list[Any]:
        if not self._started:
            self._wait_until_started()
        busy = []
        for connection, part in zip(self.connections, parts, strict=False):
            if part is not None:
                connection.send((command, part))
                busy.append(connection)
        answers: dict[int, Any] = {}
        deadline = time.monotonic() + self.timeout
        while len(answers) < len(busy):
            left = deadline - time.monotonic()
            ready = wait([c for c in busy if id(c) not in answers], timeout=max(0.0, left))
            if not ready:
                self.close()
                raise PoolError(
                    None, f"no answer within {self.timeout:g} s ({what}; the env hangs)"
                )
            for connection in ready:
                try:
                    answers[id(connection)] = connection.recv()
                except (EOFError, OSError):
                    worker = self.connections.index(connection)
                    self.close()
                    raise PoolError(
                        self.blocks[worker][0], f"its worker process died during {what}"
                    ) from None
        results = []
        for worker, connection in enumerate(self.connections):
            if id(connection) not in answers:
                continue
            answer = answers[id(connection)]
            if answer[0] == "error":
                _, slot, message = answer
                raise PoolError(self.blocks[worker][0] + slot, message)
            results.append(answer[1])
        return results

    def _split(self, values: np.ndarray) -> list[Any]:
        k = len(values)
        bounds = np.linspace(0, k, self.workers + 1).round().astype(int)
        self.blocks = [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
        return [values[a:b] if b > a else None for a, b in self.blocks]

    def reset(self, seeds):
        parts = self._split(np.asarray(seeds, dtype=np.int64))
        return np.concatenate([o for o, _ in self._exchange("reset", parts, "reset")])

    def step(self, actions):
        actions = np.asarray(actions, dtype=np.float32)
        parts = [actions[a:b] if b > a else None for a, b in self.blocks]
        answers = self._exchange("step", parts, "step")
        return np.concatenate([o for o, _ in answers]), np.concatenate([d for _, d in answers])

    def close(self):
        for connection in self.connections:
            try:
                connection.send(("close", None))
            except (OSError, ValueError):
                pass
        for process in self.processes:
            process.join(timeout=2.0)
            if process.is_alive():
                process.kill()
                process.join(timeout=2.0)
        for connection in self.connections:
            connection.close()
        self.processes, self.connections = [], []


class VectorPool(EnvPool):
    """A ``gymnasium.vector.VectorEnv``: trials in batches of its ``num_envs``."""

    def __init__(self, env, observation_size: int):
        super().__init__(EnvSpec(factory=lambda: env), observation_size, 0.0)
        self.env = env
        self.capacity = int(env.num_envs)
        self.k = 0

    def reset(self, seeds):
        self.k = len(seeds)
        padded = list(int(s) for s in seeds) + [0] * (self.capacity - self.k)
        try:
            observations, _ = self.env.reset(seed=padded)
        except Exception as exc:
            raise PoolError(None, f"reset raised {type(exc).__name__}: {exc}") from None
        return _rows(observations, self.capacity, self.size)[: self.k]

    def step(self, actions):
        actions = np.asarray(actions, dtype=np.float32)
        padded = np.concatenate([actions, np.repeat(actions[:1], self.capacity - self.k, axis=0)])
        try:
            observations, _, terminated, truncated, _ = self.env.step(padded)
        except Exception as exc:
            raise PoolError(None, f"step raised {type(exc).__name__}: {exc}") from None
        ended = np.asarray(terminated, dtype=bool) | np.asarray(truncated, dtype=bool)
        return _rows(observations, self.capacity, self.size)[: self.k], ended[: self.k]

    def close(self):
        pass  # the user's env: theirs to close


def _rows(observations: Any, n: int, size: int) -> np.ndarray:
    observations = np.asarray(observations, dtype=np.float32)
    if observations.shape != (n, size):
        raise PoolError(
            None, f"returned observations of shape {observations.shape}, expected ({n}, {size})"
        )
    return observations


# ---------------------------------------------------------------------------- workers


def _worker(connection: Connection, spec: EnvSpec, size: int, parent: int) -> None:
    """A worker process: builds environments, answers reset/step/close until told to stop
    or its parent dies."""
    _die_with_parent(parent)
    import sys

    sys.path[:0] = [p for p in spec.paths if p not in sys.path]
    try:
        import turing.envs  # noqa: F401  (the built-in systems and their Gymnasium ids)
        from turing.integrations.plugins import load_plugins, load_system_module

        load_plugins()  # installed plugins' systems and ids
        for module in spec.modules:  # plugins given with --system-module
            load_system_module(module)
    except Exception as exc:
        connection.send(("error", 0, f"its worker could not import turing or a plugin: {exc}"))
        return
    connection.send(("ready",))
    envs = _Envs(spec, size)
    while True:
        try:
            command, argument = connection.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            break
        if command == "close":
            break
        try:
            if command == "reset":
                connection.send(("ok", envs.reset([int(s) for s in argument])))
            else:
                connection.send(("ok", envs.step(argument)))
        except _SlotError as error:
            connection.send(("error", error.slot, error.message))
        except Exception as exc:  # a bug here, not in the env: say where
            where = traceback.extract_tb(exc.__traceback__)[-1]
            connection.send(
                ("error", 0, f"{type(exc).__name__}: {exc} ({where.filename}:{where.lineno})")
            )
    envs.close()


def _die_with_parent(parent: int) -> None:
    try:  # Linux: the kernel kills this process when its parent dies
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def as_error(error: PoolError, source: str, step: int, trials: Sequence[str]) -> GenuineSourceError:
    """The one-line error of a failed pool call, naming the source, the trial and the step."""
    if error.slot is None or error.slot >= len(trials):
        which = f"trials {trials[0]}..{trials[-1]}" if len(trials) > 1 else f"trial {trials[0]}"
    else:
        which = f"trial {trials[error.slot]}"
    return GenuineSourceError(f"genuine env {source}: {which}, step {step}: {error.message}")
