"""The System contract: what a system under investigation must provide.

A *system* is the thing Turing Learning identifies (an agent, a robot's sensors, ...). Its
single source of truth is a batched torch simulator that advances ``n`` independent trials
at once; the genuine system and every model are the same simulator with different
parameter rows. Gymnasium environments, replays and baselines are all views of it.

Layout convention: **the trial axis is last**. Parameters are ``[S, n]``, observations
``[obs_size, n]`` and actions ``[action_size, n]``, so that ``a, b = params`` unpacks rows
and elementwise kernels vectorise over trials (which is what makes a 20,000-trial
generation fast on a CPU).

Two parameter vectors are involved:

* the *model* parameters (``D`` of them, :attr:`System.parameters`): what is inferred, with
  bounds, units and genuine (reference) values;
* the *simulation* parameters (``S`` of them): what the simulator runs with. They are the
  model parameters mapped by :meth:`System.simulation_params` (the identity by default).
  A genuine system may lie outside the model space (the real e-puck's sensors face slightly
  away from their position angles), so the genuine trials run with a :class:`Truth` that
  carries its own simulation vector and the reference values that errors are measured
  against.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from turing.contracts import legacy
from turing.engine.random import Noise
from turing.errors import UserError

Tensor = torch.Tensor


@dataclass(frozen=True)
class Parameter:
    """One inferred parameter of a system.

    Args:
        name: identifier used on the command line and in files (``a``, ``theta_3``).
        low: lower bound (inclusive).
        high: upper bound (inclusive).
        genuine: the genuine (true) value by default; errors are measured against it.
        unit: unit for display (``cm``, ``rad``); empty for dimensionless values.
        description: one line for ``turing list``.
        periodic: an angle whose range is one period; errors wrap around it and medians are
            taken on the circle.
    """

    name: str
    low: float
    high: float
    genuine: float
    unit: str = ""
    description: str = ""
    periodic: bool = False

    @property
    def width(self) -> float:
        return self.high - self.low

    def check(self, value: Any, system: str) -> float:
        """Returns ``value`` as a float, or raises :class:`UserError` if it is not a number in
        bounds."""
        try:
            if isinstance(value, bool) or (isinstance(value, str) and not value.isascii()):
                raise ValueError("not a number written with ASCII digits")
            number = float(value)
        except (TypeError, ValueError):
            raise UserError(
                f"{system}: parameter {self.name}={value!r} is not a number; "
                f"give a value in [{self.low:g}, {self.high:g}]"
            ) from None
        if not math.isfinite(number) or not self.low <= number <= self.high:
            raise UserError(
                f"{system}: parameter {self.name}={value} is outside its bounds "
                f"[{self.low:g}, {self.high:g}]{' ' + self.unit if self.unit else ''}; "
                "give a value within them"
            )
        return number

    def error(self, estimate: np.ndarray | float, truth: float) -> np.ndarray:
        """Absolute error, wrapped to ``[0, width / 2]`` for periodic parameters."""
        diff = np.abs(np.asarray(estimate, dtype=np.float64) - truth)
        if self.periodic:
            diff = np.mod(diff, self.width)
            diff = np.minimum(diff, self.width - diff)
        return diff

    def median(self, values: np.ndarray) -> float:
        """Median of ``values``; on the circle for periodic parameters (taken relative to the
        circular mean, so that values either side of the seam are not averaged to the
        opposite side)."""
        values = np.asarray(values, dtype=np.float64)
        if not self.periodic:
            return float(np.median(values))
        scale = 2 * math.pi / self.width
        centre = math.atan2(np.sin(values * scale).mean(), np.cos(values * scale).mean()) / scale
        offsets = np.mod(values - centre + self.width / 2, self.width) - self.width / 2
        value = centre + float(np.median(offsets))
        return float(np.mod(value - self.low, self.width) + self.low)


@dataclass(frozen=True)
class Truth:
    """The genuine system of a run.

    Attributes:
        reference: the value of each model parameter that errors are measured against.
        simulation: the simulation vector the genuine trials run with (length ``S``).
        spec: the JSON-serialisable overrides that recreate this truth with
            :meth:`System.make_truth` (stored in ``config.json``).
    """

    reference: dict[str, float]
    simulation: tuple[float, ...]
    spec: dict[str, Any] = field(default_factory=dict)


class System(ABC):
    """Base class of every system: the simulator contract. Subclass it, set the class
    attributes, implement :meth:`reset`, :meth:`step` and :meth:`passive_action`, and
    register it with :func:`turing.register_system` (``docs/adding-a-system.md`` walks
    through one). How a system's results are summarised and shown (metrics, figures, a
    replay scene) is not part of it: see :class:`turing.Presentation`.

    Conventions: the trial axis is last; every random number is drawn from the
    ``noise`` argument (:class:`turing.Noise`, per-trial counter-based streams), in a fixed
    order; tensors are created on ``params.device``
    with ``params.dtype``. :func:`turing.register_system` checks the declarations below
    (bounds, genuine values, sizes) and the evaluator checks the outputs of the first step
    (shapes, dtype, device), each failure naming the system. A model whose simulation
    yields a non-finite observation is judged counterfeit; the genuine system yielding one
    is an error.

    Class attributes:
        name: the CLI name (``agent-inference``).
        env_id: the Gymnasium id (``turing/AgentInference-v0``).
        description: one line for ``turing list``.
        parameters: the model parameters (what is inferred).
        observation_size, observation_low, observation_high: one step's observation and its
            bounds (one number for every dimension, or a sequence of ``observation_size``).
            Interrogators read each dimension scaled to [0, 1] by its bounds,
            ``(x - low) / (high - low)``; a dimension with an infinite bound is read as it is
            (declare bounds when observations are far from [0, 1], or the networks saturate).
        action_size, action_low, action_high: one step's action and its bounds (a number, or a
            sequence of ``action_size``); an interrogator's sigmoid output ``o`` in [0, 1]
            becomes ``low + o * (high - low)``, and a ``passive-io`` discriminator reads the
            input scaled back to [0, 1].
        scale_inputs: scale what interrogators read by the bounds (the default). A system whose
            observations are already of order 1 and whose bounds are much wider than its
            signals (they also bound the Gymnasium space, and so hold every model's outputs
            and their noise) may set it ``False``: scaling would shrink its signals several
            times and slow its interrogators down (the built-in range sensor and swarm).
        default_steps: interrogator updates (= observations) per trial.
        default_generations: the default budget of ``turing run``.
        default_chunk_size: trials the torch backends simulate together on a CPU; bounds
            memory.
    """

    name: ClassVar[str]
    env_id: ClassVar[str]
    description: ClassVar[str] = ""
    parameters: tuple[Parameter, ...]
    observation_size: int
    observation_low: float | Sequence[float] = -math.inf
    observation_high: float | Sequence[float] = math.inf
    action_size: int
    action_low: float | Sequence[float] = 0.0
    action_high: float | Sequence[float] = 1.0
    observation_names: tuple[str, ...] = ()
    action_names: tuple[str, ...] = ()
    scale_inputs: ClassVar[bool] = True
    default_steps: ClassVar[int] = 100
    default_generations: ClassVar[int] = 300
    default_chunk_size: ClassVar[int] = 20_000

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A subclass written for turing-learning 0.1 (its reset, step, ... take a torch
        # generator) is adapted to run, with a deprecation warning.
        legacy.adapt(cls, System)

    # ----------------------------------------------------------------- parameters
    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def lows(self) -> np.ndarray:
        return np.array([p.low for p in self.parameters], dtype=np.float64)

    @property
    def highs(self) -> np.ndarray:
        return np.array([p.high for p in self.parameters], dtype=np.float64)

    @property
    def genuine(self) -> np.ndarray:
        return np.array([p.genuine for p in self.parameters], dtype=np.float64)

    def observation_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)``: the observation bounds per dimension, ``[observation_size]``."""
        return per_dimension(self.observation_low, self.observation_high, self.observation_size)

    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)``: the action bounds per dimension, ``[action_size]``."""
        return per_dimension(self.action_low, self.action_high, self.action_size)

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise UserError(
            f"{self.name} has no parameter {name!r}; its parameters are "
            f"{', '.join(self.parameter_names)} (see `turing list`)"
        )

    def simulation_params(self, params: Tensor, truth: Truth | None = None) -> Tensor:
        """Maps model parameters ``[D, n]`` to simulation parameters ``[S, n]``.

        Args:
            params: model parameters ``[D, n]``.
            truth: the run's genuine system, for systems whose model trials also involve
                it (a swarm of genuine robots with model replicas among them); ``None`` when
                the genuine system itself is being built (:meth:`make_truth`).
        """
        return params

    def make_truth(self, overrides: Mapping[str, Any] | None = None) -> Truth:
        """The genuine system: default genuine values with ``overrides`` (name -> value).

        Raises:
            UserError: for an unknown name or a value that is not a number in bounds.
        """
        overrides = dict(overrides or {})
        values = {p.name: p.genuine for p in self.parameters}
        spec = {}
        for name, value in overrides.items():
            parameter = self.parameter(name)
            values[name] = parameter.check(value, self.name)
            spec[name] = values[name]
        vector = torch.tensor([[values[n]] for n in self.parameter_names], dtype=torch.float64)
        simulation = tuple(float(v) for v in self.simulation_params(vector)[:, 0])
        return Truth(reference=values, simulation=simulation, spec=spec)

    # ----------------------------------------------------------------- simulator
    def native_kernel(self, steps: int) -> Any:
        """The system's native kernel (a :class:`turing.engine.native.NativeKernel`: a C file
        implementing :meth:`reset`, :meth:`step` and :meth:`passive_action` on lane vectors,
        and the constants it needs for trials of ``steps`` observations), or ``None`` (the
        default: the engine simulates with torch, eagerly or compiled)."""
        return None

    @abstractmethod
    def reset(self, params: Tensor, noise: Noise, start: Any = None) -> tuple[Any, Tensor]:
        """Starts ``n = params.shape[-1]`` trials on ``params.device``.

        Args:
            params: simulation parameters ``[S, n]``.
            noise: the trials' random numbers at step 0 (:class:`turing.Noise`: draw with
                ``noise.uniform(k)`` / ``noise.normal(k)``, ``[k, n]``, always in the same
                order); the only source of randomness. A system with random start conditions
                draws them from ``noise.starts()`` (see :meth:`sample_starts`).
            start: explicit start conditions of the ``n`` trials, as :meth:`sample_starts`
                returns them (trial axis last), or ``None``: draw them from
                ``noise.starts()``. Only a system that implements :meth:`sample_starts` is
                given one (e.g. by the engine's ``start=``, to start trials alike); others
                may leave the argument out of their signature.

        Returns:
            ``(state, observation)``: any state object the simulator needs, and the first
            observation ``[observation_size, n]``.
        """

    @abstractmethod
    def step(self, state: Any, params: Tensor, action: Tensor, noise: Noise) -> tuple[Any, Tensor]:
        """Advances every trial by one step.

        Args:
            state: what :meth:`reset` or the previous step returned.
            params: simulation parameters ``[S, n]`` (the same as at reset).
            action: ``[action_size, n]``, within ``[action_low, action_high]``.
            noise: the trials' random numbers at this step (a fresh :class:`turing.Noise`
                each step: the same calls in the same order give each step its own numbers).

        Returns:
            ``(state, observation)``, the observation ``[observation_size, n]``.
        """

    # ----------------------------------------------------------------- passive input
    def passive_inputs(
        self, n: int, steps: int, noise: Noise, device: torch.device
    ) -> Tensor | None:
        """Exogenous randomness of the passive input for ``n`` trials (last axis ``n``), or
        ``None``. ``noise`` draws from each trial's input stream, which the genuine and the
        model trial of one (interrogator, model) pair share: they receive the same inputs."""
        return None

    @abstractmethod
    def passive_action(
        self, t: int, observation: Tensor, params: Tensor, inputs: Tensor | None
    ) -> Tensor:
        """The action at step ``t`` when no interrogator acts (the system's natural input,
        used by the ``passive`` modes).

        Args:
            t: the step (0 for the action that follows the first observation): an int, or a
                0-dim int64 tensor in compiled simulation (write it with tensor operations,
                or ignore it).
            observation: the observation of step ``t``, ``[observation_size, n]`` (for a
                system that reacts to its own output, such as a robot's own controller).
            params: simulation parameters ``[S, n]`` (a model drives itself as it is).
            inputs: what :meth:`passive_inputs` drew for these trials, or ``None``.

        Returns:
            the action ``[action_size, n]``.
        """

    def sample_starts(self, n: int, noise: Noise, device: torch.device) -> Any:
        """The random start conditions of ``n`` trials (e.g. start poses, trial axis last), or
        ``None`` (the default) when every trial starts alike.

        A system whose trials start at random implements this, drawing from ``noise`` (each
        trial's start stream, ``reset``'s ``noise.starts()``), and accepts a draw as
        ``reset(params, noise, start=...)``. Trials with the same start stream start alike:
        the ``metric`` baseline starts a model trial where its genuine twin started, to
        compare outputs under identical inputs.
        """
        return None

    def initial_action(self, n: int, device: torch.device) -> Tensor:
        """The input that produced the first observation (seen by ``passive-io``
        discriminators at step 0): zero, clipped into the action bounds."""
        low, high = self.action_bounds()
        value = np.minimum(np.maximum(0.0, low), high)
        if np.all(value == value[0]):
            return torch.full((self.action_size, n), float(value[0]), device=device)
        column = torch.tensor(value, dtype=torch.float32, device=device).reshape(-1, 1)
        return column.expand(-1, n).contiguous()

    # ----------------------------------------------------------------- errors
    def errors(self, estimate: Sequence[float] | np.ndarray, truth: Truth) -> dict[str, float]:
        """Absolute error of each parameter of ``estimate`` against ``truth``."""
        return {
            p.name: float(p.error(value, truth.reference[p.name]))
            for p, value in zip(self.parameters, estimate, strict=True)
        }

    def options(self) -> dict[str, Any]:
        """Constructor options that recreate this instance (stored in ``config.json``)."""
        return {}


def per_dimension(low: Any, high: Any, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds declared as numbers or sequences, as two float64 arrays of ``size``."""
    return (
        np.broadcast_to(np.asarray(low, dtype=np.float64), (size,)).copy(),
        np.broadcast_to(np.asarray(high, dtype=np.float64), (size,)).copy(),
    )


def values_text(system: System, vector: Sequence[float]) -> str:
    """``a=0.8, b=0.2`` for a vector of model parameters; the numbers themselves for a
    simulation vector of another length (for messages)."""
    values = [float(v) for v in vector]
    if len(values) == len(system.parameters):
        return ", ".join(
            f"{n}={v:.6g}" for n, v in zip(system.parameter_names, values, strict=True)
        )
    return "simulation parameters [" + ", ".join(f"{v:.6g}" for v in values) + "]"
