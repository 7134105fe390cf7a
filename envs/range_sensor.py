"""Range-sensor identification: an e-puck infers the calibration of its time-of-flight sensor
(``range-sensor-id``, ``turing/RangeSensorId-v0``).

The third built-in system, small on purpose: it is the worked example of
``docs/adding-a-system.md`` and uses only the public API (``turing.System``,
``turing.Parameter``, ``turing.register_system``) and the e-puck constants of case study 2.

The world: the e-puck of case study 2 (disc body of radius 3.7 cm, wheel base 5.1 cm, wheel
speeds within +-12.8 cm/s, wheel noise U[0.95, 1.05) per control step and wheel, 0.1 s
control steps integrated in 10 substeps, penetration of a wall resolved along its normal) in
the same 50 x 50 cm arena without the cylinders. Each trial starts at a uniformly random
pose with the whole body inside the arena, and lasts 100 control steps (10 s).

The sensor: one time-of-flight range sensor on the body's front edge, looking straight
ahead. With ``x`` the distance in cm from the front edge to the wall straight ahead, it
reads::

    k * min(x / 20, 1) + b + N(0, 0.02^2)

Parameters ``k`` (gain) and ``b`` (offset), both in [0, 4]; the genuine sensor has
``k = 2``, ``b = 1`` (it reads 1 against a wall and 3 from 20 cm on).

The interrogator sees the reading (its network adds the constant bias input), sets both
wheels (commands in [-1, 1], times 12.8 cm/s) and judges. The passive input is the robot's
own wall avoidance: it drives straight at 6.4 cm/s, and turns in place (counter-clockwise)
at 8.4 cm/s per wheel while its own reading says a wall is within 5 cm. "Its own reading
says" means the robot reads its sensor through its *own* calibration: it turns while the
reading is below ``k * 5 / 20 + b``, what its sensor reads at 5 cm. So a model robot avoids
walls as well as the genuine one (up to noise; a sensor with ``k`` near 0 sees no walls and
turns at random), and a passive observer can tell models only from the readings.

Random draws (:class:`turing.Noise`): ``reset`` draws the start pose from the start stream
(``uniform(3)``: x, y, heading), then the first reading's noise (``normal(1)``); each
``step`` draws the wheel factors (``uniform(2)``), then the reading's noise (``normal(1)``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from turing.contracts.presentation import Presentation
from turing.contracts.system import Parameter, System, Truth
from turing.engine.random import Noise
from turing.envs.epuck import constants as C
from turing.integrations.registry import register_system

Tensor = torch.Tensor

SENSOR_RANGE = 20.0
"""cm: the reading rises linearly with distance up to here, then stays at ``k + b``."""
NOISE_STD = 0.02
"""Standard deviation of the reading's noise."""
CRUISE_SPEED = 6.4
"""cm/s of both wheels when the passive robot drives straight."""
TURN_SPEED = 8.4
"""cm/s of each wheel (left backwards, right forwards) when the passive robot turns."""
AVOID_DISTANCE = 5.0
"""cm: the passive robot turns while its reading says a wall is closer than this."""

_LOW = C.BODY_RADIUS
_HIGH = C.ARENA_SIZE - C.BODY_RADIUS
_SUBSTEP = C.CONTROL_STEP / C.SUBSTEPS


# ----------------------------------------------------------------------------- world
def sample_poses(n: int, noise: Noise, device: Any = "cpu", dtype=torch.float32) -> Tensor:
    """Start poses ``[3, n]`` (x, y in cm, heading in rad): the body wholly inside the empty
    arena, heading uniform in [0, 2 pi)."""
    u = noise.uniform(3).to(device=device, dtype=dtype)
    scale = torch.tensor([_HIGH - _LOW, _HIGH - _LOW, 2 * math.pi], device=device, dtype=dtype)
    offset = torch.tensor([_LOW, _LOW, 0.0], device=device, dtype=dtype)
    return u.mul_(scale.unsqueeze(1)).add_(offset.unsqueeze(1))


def drive(pose: Tensor, v_left: Tensor, v_right: Tensor) -> Tensor:
    """One control step (0.1 s in 10 substeps) of the differential drive in the empty arena.

    Wheel speeds are constant over the step, so each substep follows the exact arc: a chord
    of length ``2 v sin(w dt / 2) / w`` in the direction ``heading + w dt / 2`` (the
    integration of case study 2's simulator). After each substep a body that entered a wall
    is moved back out along the wall's normal, which in a square arena is a clamp.

    Args:
        pose: ``[3, n]`` (x, y, heading).
        v_left, v_right: wheel speeds ``[n]`` in cm/s.

    Returns:
        the new pose ``[3, n]``, heading wrapped to [-pi, pi).
    """
    x, y, heading = pose[0], pose[1], pose[2]
    v = 0.5 * (v_left + v_right)
    turn = (v_right - v_left) * (_SUBSTEP / C.WHEEL_BASE)
    half = 0.5 * turn
    sinc = torch.where(half.abs() > 1e-4, torch.sin(half) / half, torch.ones_like(half))
    chord = v * _SUBSTEP * sinc
    # Substep k's chord points at heading + (k + 1/2) turn: rotate (cos, sin) by `turn`
    # after each substep instead of evaluating the trigonometry ten times.
    c, s = torch.cos(heading + half), torch.sin(heading + half)
    cos_turn, sin_turn = torch.cos(turn), torch.sin(turn)
    for _ in range(C.SUBSTEPS):
        x = torch.addcmul(x, chord, c).clamp_(_LOW, _HIGH)
        y = torch.addcmul(y, chord, s).clamp_(_LOW, _HIGH)
        c, s = c * cos_turn - s * sin_turn, s * cos_turn + c * sin_turn
    heading = torch.remainder(heading + C.SUBSTEPS * turn + math.pi, 2 * math.pi) - math.pi
    return torch.stack([x, y, heading])


def front_distance(pose: Tensor) -> Tensor:
    """Distance ``[n]`` in cm from the body's front edge to the wall straight ahead."""
    cos_h, sin_h = torch.cos(pose[2]), torch.sin(pose[2])
    # The front edge is inside the arena (the body is), so both distances are >= 0; a
    # direction parallel to a wall never meets it (infinite distance).
    front_x = pose[0] + C.BODY_RADIUS * cos_h
    front_y = pose[1] + C.BODY_RADIUS * sin_h
    to_x = torch.where(cos_h > 0, C.ARENA_SIZE - front_x, front_x) / cos_h.abs()
    to_y = torch.where(sin_h > 0, C.ARENA_SIZE - front_y, front_y) / sin_h.abs()
    return torch.minimum(to_x, to_y).clamp_min(0.0)


def response(distance: Tensor, k: Tensor | float, b: Tensor | float) -> Tensor:
    """The noise-free reading at ``distance`` cm: ``k * min(distance / 20, 1) + b``."""
    return k * (distance / SENSOR_RANGE).clamp(max=1.0) + b


# ----------------------------------------------------------------------------- system
class RangeSensorId(System, Presentation):
    """An e-puck with one forward time-of-flight range sensor of unknown gain and offset.

    Args:
        noise_std: standard deviation of the reading's noise.
    """

    name = "range-sensor-id"
    env_id = "turing/RangeSensorId-v0"
    description = "Infer the gain and offset of an e-puck's forward range sensor by driving it"
    parameters = (
        Parameter("k", 0.0, 4.0, 2.0, description="gain: reading rise from a wall to 20 cm away"),
        Parameter("b", 0.0, 4.0, 1.0, description="offset: reading against a wall"),
    )
    observation_size = 1
    # Readings lie in [b, k + b] within [0, 8], plus noise of 0.02: 25 standard deviations of
    # margin make the bounds exact in practice, and tell an RL policy the scale.
    observation_low = -0.5
    observation_high = 8.5
    observation_names = ("range",)
    # The genuine sensor reads 1 to 3 and the bounds hold every model's (0 to 8, with noise):
    # scaled by them, the signal would shrink 4.5 times (top-10 response error at 40
    # generations, 5 seeds: median 0.035 read as it is, 0.229 scaled).
    scale_inputs = False
    action_size = 2
    action_low = -1.0
    action_high = 1.0
    action_names = ("left_wheel", "right_wheel")
    default_steps = C.TRIAL_STEPS
    default_generations = 100

    def __init__(self, noise_std: float = NOISE_STD):
        if not noise_std >= 0:
            raise ValueError(f"noise_std must be >= 0, got {noise_std}")
        self.noise_std = float(noise_std)

    def options(self) -> dict[str, Any]:
        return {"noise_std": self.noise_std}

    # ------------------------------------------------------------------ simulator
    def sample_starts(self, n: int, noise: Noise, device: torch.device) -> Tensor:
        return sample_poses(n, noise, device)

    def reset(self, params: Tensor, noise: Noise, start: Tensor | None = None):
        n = params.shape[-1]
        if start is None:
            start = sample_poses(n, noise.starts(), params.device, params.dtype)
        pose = start.to(device=params.device, dtype=params.dtype)
        return pose, self._read(pose, params, noise)

    def step(self, state: Tensor, params: Tensor, action: Tensor, noise: Noise):
        low, high = C.WHEEL_NOISE
        factors = noise.uniform(2).to(params.dtype) * (high - low) + low
        speeds = (action * factors * C.MAX_WHEEL_SPEED).clamp(-C.MAX_WHEEL_SPEED, C.MAX_WHEEL_SPEED)
        pose = drive(state, speeds[0], speeds[1])
        return pose, self._read(pose, params, noise)

    def _read(self, pose: Tensor, params: Tensor, noise: Noise) -> Tensor:
        k, b = params
        z = noise.normal(1)[0].to(pose.dtype)
        return (response(front_distance(pose), k, b) + self.noise_std * z).unsqueeze(0)

    # ------------------------------------------------------------------ passive input
    def passive_action(
        self, t: int, observation: Tensor, params: Tensor, inputs: Tensor | None
    ) -> Tensor:
        k, b = params
        # The robot reads its sensor through its own calibration (see the module docstring):
        # a wall is within 5 cm when the reading is below what its sensor reads at 5 cm.
        threshold = response(torch.full_like(k, AVOID_DISTANCE), k, b)
        near = (observation[0] < threshold).to(observation.dtype)
        cruise = CRUISE_SPEED / C.MAX_WHEEL_SPEED
        turn = TURN_SPEED / C.MAX_WHEEL_SPEED
        return torch.stack([cruise - (cruise + turn) * near, cruise + (turn - cruise) * near])

    # ------------------------------------------------------------------ reporting
    def replay_scene(self, options: Any) -> Any:
        """Both robots in their arenas (:mod:`turing.envs.range_sensor_replay`)."""
        from turing.envs.range_sensor_replay import RangeSensorReplayScene

        return RangeSensorReplayScene(self, options, front_distance, SENSOR_RANGE)

    def metrics(self, estimate: dict[str, float], truth: Truth) -> dict[str, float]:
        """``response_error``: mean absolute difference between the estimated and the genuine
        noise-free reading over distances 0..20 cm (what the calibration is for)."""
        distance = torch.linspace(0.0, SENSOR_RANGE, 201, dtype=torch.float64)
        genuine = response(distance, truth.reference["k"], truth.reference["b"])
        estimated = response(distance, estimate["k"], estimate["b"])
        return {"response_error": float((estimated - genuine).abs().mean())}

    def plot(self, result: Any, folder: Any) -> list[Path]:
        """``response.png``: the genuine sensor's response and the estimated ones."""
        from matplotlib.figure import Figure

        distance = torch.linspace(0.0, 1.5 * SENSOR_RANGE, 301, dtype=torch.float64)
        figure = Figure(figsize=(5.5, 3.6))
        ax = figure.add_subplot()
        truth = result.true_params
        genuine = response(distance, truth["k"], truth["b"])
        ax.fill_between(
            distance,
            genuine - 2 * self.noise_std,
            genuine + 2 * self.noise_std,
            color="k",
            alpha=0.15,
            lw=0,
        )
        ax.plot(
            distance,
            genuine,
            color="k",
            lw=2,
            label=f"genuine (k={truth['k']:.3g}, b={truth['b']:.3g})",
        )
        styles = {"best": ("tab:blue", "--"), "top10_median": ("tab:orange", ":")}
        estimates = getattr(result, "data", {}).get("estimates", {})
        for key, (color, style) in styles.items():
            if key in estimates:
                e = estimates[key]
                label = f"{key.replace('_', ' ')} (k={e['k']:.3g}, b={e['b']:.3g})"
                ax.plot(
                    distance,
                    response(distance, e["k"], e["b"]),
                    color=color,
                    ls=style,
                    lw=1.5,
                    label=label,
                )
        ax.axvline(AVOID_DISTANCE, color="tab:red", lw=0.8, ls="-.", label="passive robot turns")
        ax.set_xlabel("distance from the front edge to the wall (cm)")
        ax.set_ylabel("reading")
        ax.set_title(f"{self.name}: sensor response", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        figure.tight_layout()
        path = Path(folder) / "response.png"
        figure.savefig(path, dpi=110)
        return [path]


register_system(RangeSensorId)
