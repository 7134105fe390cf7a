"""A torque-driven pendulum: gymnasium's ``Pendulum-v1`` as a batched model system, made
honest (``pendulum``, ``turing/Pendulum-v0``).

The dynamics are ``Pendulum-v1``'s (gymnasium 1.x, ``classic_control/pendulum.py``), in
its update order, generalised by two things a real pendulum has and ``Pendulum-v1`` does
not: viscous damping in the joint and the actuator's own torque limit. With ``th`` the
angle (0 upright, counter-clockwise positive), ``thdot`` its rate and ``a`` the commanded
torque, one step of ``dt = 0.05`` s is::

    u        = clip(a, -max_torque, max_torque)
    thdot'   = thdot + (3 g / (2 l) sin(th) + 3 / (m l^2) (u - damping thdot)) dt
    thdot'   = clip(thdot', -8, 8)
    th'      = th + thdot' dt

and the observation is ``[cos th', sin th', thdot']`` (float32). The rod is uniform (its
inertia about the pivot is ``m l^2 / 3``: hence the 3s), gravity acts at its middle. With
``damping = 0`` and ``max_torque = 2`` this is ``Pendulum-v1`` to float precision
(``tests/test_pendulum.py`` steps both side by side); ``Pendulum-v1``'s speed clip at 8
rad/s is kept, since the genuine environment has it. The angle is wrapped to [-pi, pi)
after each step (``Pendulum-v1`` lets it grow; only its cosine and sine are observed, and
wrapping keeps float32 trials as precise at the end as at the start). Trials start at
``th ~ U(-pi, pi)``, ``thdot ~ U(-1, 1)``, as ``Pendulum-v1.reset`` draws them.

Identifiability. The observations depend on ``g``, ``m`` and ``l`` only through the
gravity term ``3 g / (2 l)`` (1/s^2) and the torque gain ``3 / (m l^2)`` (1/(kg m^2)): with
all three free, a ridge of parameter vectors gives identical trials. So the system infers
only what is chosen with the ``infer`` option (default ``g``, ``damping`` and
``max_torque``), and the other physical constants are known values given as options
(``m = 1``, ``l = 1`` by default, ``Pendulum-v1``'s). Every estimate also reports the two
identifiable combinations and their errors (:meth:`Pendulum.metrics`), so a run that infers
``g``, ``m`` and ``l`` together can still be read: the combinations converge while the
raw parameters wander along the ridge. The damping enters as ``3 damping / (m l^2)`` and is
identifiable when ``m`` and ``l`` are known. The torque limit shows only when the command
exceeds it: its bounds stop at 2, the largest command (a limit above the largest command
would be unidentifiable).

Passive input (the system's natural input, for the ``passive`` modes): piecewise-constant
random torques, a new level every ``hold`` steps (10 steps, 0.5 s, by default), each level
uniform in [-2, 2] N m; the first level applies from the first action on.

Random draws (:class:`turing.Noise`): the start state is ``uniform(2)`` of the trial's start
stream (angle, then rate); the passive schedule's levels are ``uniform(levels)`` of its
input stream. The dynamics themselves are deterministic, as ``Pendulum-v1``'s are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from turing.contracts.presentation import Presentation
from turing.contracts.system import Parameter, System, Truth
from turing.engine.random import Noise
from turing.errors import UserError
from turing.integrations.registry import register_system

Tensor = torch.Tensor

DT = 0.05
"""Seconds per step (``Pendulum-v1``'s ``dt``)."""
MAX_SPEED = 8.0
"""rad/s: ``Pendulum-v1`` clips the rate to +-8."""
MAX_TORQUE = 2.0
"""N m: the largest command (``Pendulum-v1``'s action bound and torque limit)."""

PHYSICAL = (
    Parameter("g", 0.0, 20.0, 10.0, unit="m/s^2", description="gravitational acceleration"),
    Parameter("m", 0.1, 5.0, 1.0, unit="kg", description="mass of the rod"),
    Parameter("l", 0.1, 5.0, 1.0, unit="m", description="length of the rod"),
    Parameter(
        "damping",
        0.0,
        1.0,
        0.0,
        unit="N m s/rad",
        description="viscous friction in the joint (torque -damping * thdot)",
    ),
    Parameter(
        "max_torque",
        0.1,
        MAX_TORQUE,
        MAX_TORQUE,
        unit="N m",
        description="the actuator's torque limit (commands beyond it are clipped)",
    ),
)
"""Every physical constant of the pendulum, in the order of the simulation vector; the
genuine values are ``Pendulum-v1``'s."""
NAMES = tuple(p.name for p in PHYSICAL)
DEFAULT_INFER = ("g", "damping", "max_torque")


def parse_infer(infer: str | Sequence[str], system: str = "pendulum") -> tuple[str, ...]:
    """The inferred parameters, in the simulation vector's order, from ``"g+damping"``,
    ``"all"`` or a sequence of names.

    Raises:
        UserError: for an unknown or repeated name, or none at all.
    """
    if isinstance(infer, str):
        names = list(NAMES) if infer.strip() == "all" else infer.replace(" ", "").split("+")
    else:
        names = [str(n) for n in infer]
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names or len(set(names)) != len(names):
        raise UserError(
            f"{system}: infer={'+'.join(names)!r} must name distinct parameters among "
            f"{', '.join(NAMES)} joined by '+' (e.g. infer=g+damping), or 'all'"
        )
    return tuple(n for n in NAMES if n in names)


def pendulum_step(
    theta: Tensor, thdot: Tensor, command: Tensor, physics: Tensor
) -> tuple[Tensor, Tensor]:
    """One step of every trial (the module docstring's equations, ``Pendulum-v1``'s order).

    Args:
        theta, thdot: the state ``[n]``.
        command: the commanded torque ``[n]`` (N m).
        physics: ``[5, n]``: g, m, l, damping, max_torque.

    Returns:
        ``(theta, thdot)`` after the step, ``theta`` wrapped to [-pi, pi).
    """
    g, m, l, damping, max_torque = physics
    u = torch.minimum(torch.maximum(command, -max_torque), max_torque)
    # The operations of Pendulum-v1's `3 * g / (2 * l) * np.sin(th) + 3.0 / (m * l**2) * u`,
    # in its order, so that float64 trials equal it to the last bits; damping 0 leaves u as
    # it is (u - 0 * thdot == u exactly).
    torque = u - damping * thdot
    acceleration = 3 * g / (2 * l) * torch.sin(theta) + 3.0 / (m * l**2) * torque
    thdot = (thdot + acceleration * DT).clamp(-MAX_SPEED, MAX_SPEED)
    theta = theta + thdot * DT
    theta = torch.remainder(theta + math.pi, 2 * math.pi) - math.pi
    return theta, thdot


def observe(theta: Tensor, thdot: Tensor) -> Tensor:
    """``[cos th, sin th, thdot]``, ``[3, n]``."""
    return torch.stack([torch.cos(theta), torch.sin(theta), thdot])


class Pendulum(System, Presentation):
    """A pendulum whose gravity, damping and torque limit (by default) are inferred.

    Args:
        infer: the inferred parameters: names joined by ``+`` (``g+damping``), ``all``, or a
            sequence of names; default ``g+damping+max_torque``.
        g, m, l, damping, max_torque: the pendulum's known values (m/s^2, kg, m, N m s/rad,
            N m). A parameter that is not inferred keeps this value in every trial, genuine
            and model alike; one that is inferred takes it as its genuine value (what errors
            are measured against unless ``--true-params`` says otherwise).
        hold: steps between the passive schedule's torque changes.

    Raises:
        UserError: for an unknown name in ``infer``, a value outside its parameter's bounds,
            or ``hold < 1``.
    """

    name = "pendulum"
    env_id = "turing/Pendulum-v0"
    description = (
        "Gymnasium's Pendulum-v1 with damping and a torque limit: infer gravity, damping "
        "and the limit by applying torques"
    )
    parameters = tuple(p for p in PHYSICAL if p.name in DEFAULT_INFER)
    observation_size = 3
    # Pendulum-v1's observation space: interrogators read each dimension scaled to [0, 1].
    observation_low = (-1.0, -1.0, -MAX_SPEED)
    observation_high = (1.0, 1.0, MAX_SPEED)
    observation_names = ("cos_theta", "sin_theta", "theta_dot")
    action_size = 1
    action_low = -MAX_TORQUE
    action_high = MAX_TORQUE
    action_names = ("torque",)
    default_steps = 100
    default_generations = 100

    def __init__(
        self,
        infer: str | Sequence[str] = "+".join(DEFAULT_INFER),
        g: float = 10.0,
        m: float = 1.0,
        l: float = 1.0,
        damping: float = 0.0,
        max_torque: float = MAX_TORQUE,
        hold: int = 10,
    ):
        given = {"g": g, "m": m, "l": l, "damping": damping, "max_torque": max_torque}
        self.values = {p.name: p.check(given[p.name], self.name) for p in PHYSICAL}
        self.infer = parse_infer(infer, self.name)
        if isinstance(hold, bool) or not isinstance(hold, int) or hold < 1:
            raise UserError(f"{self.name}: hold must be a whole number >= 1, got {hold!r}")
        self.hold = hold
        self.parameters = tuple(
            Parameter(p.name, p.low, p.high, self.values[p.name], p.unit, p.description)
            for p in PHYSICAL
            if p.name in self.infer
        )

    def options(self) -> dict[str, Any]:
        return {"infer": "+".join(self.infer), **self.values, "hold": self.hold}

    # ----------------------------------------------------------------- parameters
    def simulation_params(self, params: Tensor, truth: Truth | None = None) -> Tensor:
        """Model parameters ``[D, n]`` to the physics ``[5, n]`` (g, m, l, damping,
        max_torque): the inferred rows from ``params``, the others the known values."""
        rows = []
        inferred = dict(zip(self.infer, params, strict=True))
        for name in NAMES:
            if name in inferred:
                rows.append(inferred[name])
            else:
                rows.append(torch.full_like(params[0], self.values[name]))
        return torch.stack(rows)

    # ----------------------------------------------------------------- simulator
    def sample_starts(self, n: int, noise: Noise, device: torch.device) -> Tensor:
        """Start states ``[2, n]``: angle ``U(-pi, pi)``, rate ``U(-1, 1)`` rad/s."""
        u = noise.uniform(2).to(device)
        return torch.stack([math.pi * (2 * u[0] - 1), 2 * u[1] - 1])

    def reset(self, params: Tensor, noise: Noise, start: Tensor | None = None):
        """Starts the trials (state: ``(theta, thdot)``, each ``[n]``)."""
        if start is None:
            start = self.sample_starts(params.shape[-1], noise.starts(), params.device)
        start = start.to(device=params.device, dtype=params.dtype)
        theta, thdot = start[0], start[1]
        return (theta, thdot), observe(theta, thdot)

    def step(self, state, params: Tensor, action: Tensor, noise: Noise):
        theta, thdot = pendulum_step(state[0], state[1], action[0].to(params.dtype), params)
        return (theta, thdot), observe(theta, thdot)

    # ----------------------------------------------------------------- passive input
    def passive_inputs(self, n: int, steps: int, noise: Noise, device: torch.device) -> Tensor:
        """The schedule's torque levels ``[levels, n]`` in [-2, 2] N m."""
        levels = max(1, -(-(steps - 1) // self.hold))
        return (MAX_TORQUE * (2 * noise.uniform(levels) - 1)).to(device)

    def passive_action(self, t, observation: Tensor, params: Tensor, inputs: Tensor) -> Tensor:
        """Level ``t // hold`` of the schedule."""
        if isinstance(t, Tensor):
            # index_select with a tensor index: a compiled step cannot read t on the host.
            row = torch.div(t, self.hold, rounding_mode="floor").clamp(max=inputs.shape[0] - 1)
            level = torch.index_select(inputs, 0, row.reshape(1).to(inputs.device))[0]
        else:
            level = inputs[min(int(t) // self.hold, inputs.shape[0] - 1)]
        return level.to(observation.dtype).unsqueeze(0)

    # ----------------------------------------------------------------- reporting
    def combinations(self, values: Mapping[str, float]) -> dict[str, float]:
        """The identifiable combinations of a (partial) parameter assignment, the known
        values filling in: ``gravity_term = 3 g / (2 l)``, ``torque_gain = 3 / (m l^2)``,
        ``damping_rate = 3 damping / (m l^2)``."""
        v = {**self.values, **{k: float(x) for k, x in values.items()}}
        return {
            "gravity_term": 3 * v["g"] / (2 * v["l"]),
            "torque_gain": 3 / (v["m"] * v["l"] ** 2),
            "damping_rate": 3 * v["damping"] / (v["m"] * v["l"] ** 2),
        }

    def metrics(self, estimate: Mapping[str, Any], truth: Truth) -> dict[str, float]:
        """The identifiable combinations of the estimate (:meth:`combinations`) and their
        absolute errors against the genuine pendulum's (``gravity_term_error``, ...)."""
        estimated = self.combinations({k: estimate[k] for k in self.infer})
        genuine = self.combinations(truth.reference)
        result: dict[str, float] = {}
        for key, value in estimated.items():
            result[key] = float(value)
            result[f"{key}_error"] = float(abs(value - genuine[key]))
        return result

    def plot(self, result: Any, folder: Any) -> list[Any]:
        """``combinations.png``: the identifiable combinations of the best model per
        generation against the genuine values (where ``metrics.csv`` has them)."""
        from pathlib import Path

        from matplotlib.figure import Figure

        history = getattr(result, "history", None) or {}
        # Only the combinations that involve an inferred parameter: the others are constant.
        involved = {
            "gravity_term": {"g", "l"},
            "torque_gain": {"m", "l"},
            "damping_rate": {"damping", "m", "l"},
        }
        keys = [
            k for k, names in involved.items() if names & set(self.infer) and f"{k}_best" in history
        ]
        if not keys:
            return []
        genuine = self.combinations(result.true_params)
        figure = Figure(figsize=(5.5, 1.9 * len(keys) + 0.6))
        for i, key in enumerate(keys):
            ax = figure.add_subplot(len(keys), 1, i + 1)
            for column, label, style in (
                (f"{key}_best", "best model", "-"),
                (f"{key}_top10", "top-10 median", ":"),
            ):
                if column in history:
                    values = np.asarray(history[column], dtype=np.float64)
                    ax.plot(np.arange(1, len(values) + 1), values, lw=1.2, ls=style, label=label)
            ax.axhline(genuine[key], color="k", lw=1.0, ls="--", label="genuine")
            ax.set_ylabel(key.replace("_", " "), fontsize=8)
            ax.grid(alpha=0.3)
            if i == 0:
                ax.set_title(f"{self.name}: identifiable combinations", fontsize=10)
                ax.legend(fontsize=7)
        ax.set_xlabel("generation")
        figure.tight_layout()
        path = Path(folder) / "combinations.png"
        figure.savefig(path, dpi=110)
        return [path]


register_system(Pendulum)
