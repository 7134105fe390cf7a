"""Case study 3 as a System: infer a swarm's aggregation controller (``swarm-aggregation``).

The definition is ``docs/specs/case-study-3-swarm.md``; the simulator is
:mod:`turing.envs.swarm.sim` (torch, the reference) and ``kernel.c`` (native). What is
inferred: the four wheel speeds ``(v_l0, v_r0, v_l1, v_r1)`` (in units of 12.8 cm/s) that a
robot sets when its line-of-sight sensor sees nothing (``I = 0``) and another robot
(``I = 1``). What is simulated: 8 numbers per trial, the focal controller (rows 0-3, run by
robots ``0 .. replicas-1``) and the other robots' controller (rows 4-7). A genuine trial is
a swarm of genuine robots, ``(g, g)``; a model trial puts replicas running the model among
genuine robots, ``(m, g)``. The interrogator (or passive discriminator) sees the focal
robot's (robot 0's) linear and angular speed each step; an interrogator's action may
override that robot's sensor reading (above 1/3: it sees a robot; below -1/3: it sees none;
in between, and in the passive modes, it reads its own sensor).

A trial follows the engine's convention: ``steps`` observations (100, 10 s), ``reset`` gives
observation 0 (the robots at rest: noise only) and each ``step`` is one 0.1 s control step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from turing.contracts.presentation import Presentation
from turing.contracts.system import Parameter, System, Truth
from turing.engine import Noise
from turing.engine.native import NativeKernel
from turing.envs.swarm import sim
from turing.errors import UserError
from turing.integrations.registry import register_system

Tensor = torch.Tensor

GENUINE = (-0.7, -1.0, 1.0, -1.0)
"""Gauci et al.'s aggregation controller (IJRR 2014), the one Li et al. infer."""


class SwarmAggregation(System, Presentation):
    """A swarm of e-pucks running a reactive controller on one binary sensor.

    Args:
        n_robots: robots per swarm (2 to 50).
        replicas: robots of a model trial that run the model (the focal robot and the next
            ``replicas - 1``); the others run the genuine controller.
        noise: wheel noise U[0.95, 1.05) and observation noise N(0, 0.05^2) on (the spec)
            or off (for tests).
        start_radius: radius (cm) of the disc the robots start in; default
            ``16 sqrt(n_robots)``.
    """

    name = "swarm-aggregation"
    env_id = "turing/SwarmAggregation-v0"
    description = (
        "Case study 3: infer a robot swarm's aggregation controller from one robot's motion "
        "(Li, Gauci, Gross 2016)"
    )
    parameters = tuple(
        Parameter(
            name,
            -1.0,
            1.0,
            value,
            description=f"{wheel} wheel speed (x 12.8 cm/s) while the sensor reads {state}",
        )
        for name, value, wheel, state in zip(
            ("v_l0", "v_r0", "v_l1", "v_r1"),
            GENUINE,
            ("left", "right", "left", "right"),
            ("0 (nothing ahead)", "0 (nothing ahead)", "1 (a robot)", "1 (a robot)"),
            strict=True,
        )
    )
    observation_size = 2
    observation_low = -sim.OBSERVATION_BOUND
    observation_high = sim.OBSERVATION_BOUND
    observation_names = ("linear_speed", "angular_speed")
    # Free motion reads in [-1, 1]; the bounds [-2, 2] hold pushed robots: scaled by them, the
    # signals would shrink 4 times (the learning test's controller error rose past its bound).
    scale_inputs = False
    action_size = 1
    action_low = -1.0
    action_high = 1.0
    action_names = ("sensor_override",)
    default_steps = 100
    default_generations = 300
    default_chunk_size = 5000

    def __init__(
        self,
        n_robots: int = 10,
        replicas: int = 1,
        noise: bool = True,
        start_radius: float | None = None,
    ):
        if isinstance(n_robots, bool) or not isinstance(n_robots, int | np.integer):
            raise UserError(f"{self.name}: n_robots must be an integer, got {n_robots!r}")
        if not 2 <= n_robots <= sim.MAX_ROBOTS:
            raise UserError(
                f"{self.name}: n_robots={n_robots} is outside [2, {sim.MAX_ROBOTS}]; give a "
                "swarm of 2 to 50 robots"
            )
        if isinstance(replicas, bool) or not isinstance(replicas, int | np.integer):
            raise UserError(f"{self.name}: replicas must be an integer, got {replicas!r}")
        if not 1 <= replicas <= n_robots:
            raise UserError(f"{self.name}: replicas={replicas} is outside [1, n_robots={n_robots}]")
        if not isinstance(noise, bool):
            raise UserError(f"{self.name}: noise must be true or false, got {noise!r}")
        try:
            radius = (
                sim.start_radius(int(n_robots)) if start_radius is None else float(start_radius)
            )
        except (TypeError, ValueError):
            raise UserError(
                f"{self.name}: start_radius must be a number of cm, got {start_radius!r}"
            ) from None
        # The disc must hold the bodies with room to spare for rejection sampling.
        if not math.isfinite(radius) or radius < 2 * sim.BODY_RADIUS * math.sqrt(n_robots):
            raise UserError(
                f"{self.name}: start_radius={start_radius} cm is too small for {n_robots} "
                f"robots; give at least {2 * sim.BODY_RADIUS * math.sqrt(n_robots):.1f}"
            )
        self.n_robots = int(n_robots)
        self.replicas = int(replicas)
        self.noise = noise
        self.start_radius = radius
        self._default_radius = start_radius is None

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "n_robots": self.n_robots,
            "replicas": self.replicas,
            "noise": self.noise,
        }
        if not self._default_radius:
            options["start_radius"] = self.start_radius
        return options

    # ----------------------------------------------------------------- parameters
    def simulation_params(self, params: Tensor, truth: Truth | None = None) -> Tensor:
        """Model ``[4, n]`` to ``[8, n]``: ``(m, m)`` when building the genuine system,
        ``(m, g)`` for model trials (``g``: the genuine robots' controller of ``truth``)."""
        if truth is None:
            return torch.cat([params, params])
        others = torch.tensor(truth.simulation[4:8], dtype=params.dtype, device=params.device)
        return torch.cat([params, others.reshape(4, 1).expand(4, params.shape[-1])])

    # ----------------------------------------------------------------- simulator
    def sample_starts(self, n: int, noise: Noise, device: torch.device) -> Tensor:
        """Start poses ``[3 N, n]`` (:func:`turing.envs.swarm.sim.sample_starts`)."""
        return sim.sample_starts(n, self.n_robots, self.start_radius, noise, device)

    def reset(
        self, params: Tensor, noise: Noise, start: Tensor | None = None
    ) -> tuple[tuple[Tensor, Tensor], Tensor]:
        """Places the swarms; the state is ``(pose [3, N, n], seen [N, n])`` (the readings
        the robots last acted on; at reset, what they see). Observation 0 is the robots at
        rest (only noise). Random numbers are float32 whatever ``params.dtype``."""
        n = params.shape[-1]
        if start is None:
            start = self.sample_starts(n, noise.starts(), params.device)
        pose = sim.split_start(start.to(device=params.device, dtype=params.dtype), self.n_robots)
        z = noise.normal(2).to(params.dtype) if self.noise else None
        seen = sim.line_of_sight(pose[0], pose[1], torch.cos(pose[2]), torch.sin(pose[2]))
        zero = params.new_zeros(n)
        return (pose, seen), sim.observe(zero, zero, z)

    def step(
        self, state: tuple[Tensor, Tensor], params: Tensor, action: Tensor, noise: Noise
    ) -> tuple[tuple[Tensor, Tensor], Tensor]:
        """One control step of every swarm under the interrogator's action ``[1, n]``."""
        factors = z = None
        if self.noise:
            factors, z = sim.draw_step_noise(noise, self.n_robots)
            factors, z = factors.to(params.dtype), z.to(params.dtype)
        pose, seen, obs = sim.control_step(
            state[0], params, action.to(params.dtype), self.replicas, factors, z
        )
        return (pose, seen), obs

    def native_kernel(self, steps: int) -> NativeKernel:
        """``kernel.c`` compiled for this swarm size and replica count."""
        return NativeKernel(
            Path(__file__).with_name("kernel.c"),
            (float(self.noise),),
            sim.kernel_constants(self.n_robots, self.replicas, self.start_radius),
        )

    # ----------------------------------------------------------------- passive input
    def passive_action(
        self, t: int, observation: Tensor, params: Tensor, inputs: Tensor | None
    ) -> Tensor:
        """No override: every robot reads its own sensor."""
        return torch.zeros_like(observation[:1])

    def replay_scene(self, options: Any) -> Any:
        """The genuine and the mixed swarm side by side (:mod:`turing.envs.swarm.replay`)."""
        from turing.envs.swarm.replay import SwarmReplayScene

        return SwarmReplayScene(self, options)

    # ----------------------------------------------------------------- reporting
    def metrics(self, estimate: Mapping[str, Any], truth: Truth) -> dict[str, float]:
        """``max_abs_error``: the largest of the four parameters' absolute errors."""
        errors = self.errors([estimate[n] for n in self.parameter_names], truth)
        return {"max_abs_error": max(errors.values())}

    def plot(self, result: Any, folder: Any) -> list[Path]:
        """``aggregation.png``: the dispersion over time of swarms all running the genuine
        controller and all running the inferred one (top-10 median), 16 swarms each for 20 s
        from shared start conditions (:mod:`turing.envs.swarm.aggregation`)."""
        from turing.envs.swarm.aggregation import plot_aggregation

        truth = self.make_truth(result.config.true_params)
        estimate = result.estimates.get("top10_median") or result.estimates.get("best")
        if not estimate:
            return []
        controllers = {
            "genuine": [truth.reference[n] for n in self.parameter_names],
            "inferred": [estimate[n] for n in self.parameter_names],
        }
        path = Path(folder) / "aggregation.png"
        seed = int(result.config.seed)
        return [plot_aggregation(self, controllers, path, seed=seed, swarms=16, steps=200)]


register_system(SwarmAggregation, entry_point="turing.envs.swarm.env:SwarmAggregationEnv")
