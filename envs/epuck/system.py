"""Case study 2 as a System: an e-puck infers its own sensor layout (``sensor-self-id``).

The exact definition is ``docs/specs/case-study-2-sensors.md``; the simulator is
:mod:`turing.envs.epuck.sim`. What is inferred: each of the 8 IR sensors' angle ``theta_i``
(rad, periodic on [-pi, pi]) and radius ``r_i`` (cm, [0.01, 3.7]); a model's sensor ``i``
sits at ``(r_i cos theta_i, r_i sin theta_i)`` and faces ``theta_i``. What is simulated: a
layout of 24 numbers per trial (body-frame x, y and facing of each sensor), so that the
genuine robot can be the real e-puck, whose sensors face up to 7 degrees away from their
position angles and which no model can represent exactly. Errors are measured against
``theta*_i = phi_i`` and ``r*_i = |p_i|``.

A trial follows the engine's convention (:mod:`turing.engine.evaluator`): ``steps`` observations
(100 by default) and ``steps - 1`` control steps of 0.1 s; ``reset`` places the robot and
returns observation 0, and each ``step`` applies a wheel command, drives for 0.1 s and
reads the sensors. The interrogator's last output (after observation ``steps - 1``) is its
judgement and drives nothing.

Giving the genuine robot another layout (``make_truth``, ``--true-params``): named values
``theta_i`` / ``r_i`` replace sensor ``i`` by the model form (the other value of the pair
stays the reference one), and ``layout`` gives all 8 sensors at once, as a list (or a JSON
file holding one, or ``{"sensors": [...]}``) of 8 entries, each either
``{"x": cm, "y": cm, "facing": rad}`` (or ``"facing_deg"``; also ``[x, y, facing]``) or
``{"theta": rad, "r": cm}`` (or ``"theta_deg"``; also ``[theta, r]``)::

    turing run sensor-self-id --true-params layout=my_robot.json
    turing run sensor-self-id --true-params theta_0=-0.5,r_0=3.0
    turing.learn("sensor-self-id", true_params={"layout": [[3.4, -1.0, -0.3], ...]})
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from turing.contracts.presentation import Presentation
from turing.contracts.system import Parameter, System, Truth
from turing.engine.random import Noise
from turing.envs.epuck import calibration, sim
from turing.envs.epuck import constants as C
from turing.errors import UserError
from turing.integrations.registry import register_system

Tensor = torch.Tensor

N = C.N_SENSORS
_RADIUS_TOLERANCE = 1e-9  # (3.7 cos t, 3.7 sin t) must pass the (0, 3.7] check after rounding


def _wrap(angle: float) -> float:
    """``angle`` wrapped to [-pi, pi)."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


class SensorSelfId(System, Presentation):
    """The e-puck of case study 2.

    Args:
        noise: IR noise N(0, 10^2) and wheel noise U[0.95, 1.05) on (the spec) or off (for
            comparing simulators and for tests).
        calibrate: also infer the 5 calibration parameters of
            :mod:`turing.envs.epuck.calibration` (motor lag, contact slip and turn, IR
            range scale and gain), for a genuine robot that is not this simulator
            (``turing/EpuckBullet-v0``, a real e-puck). Off: the spec's system, exactly.
    """

    name = "sensor-self-id"
    env_id = "turing/SensorSelfId-v0"
    description = (
        "Case study 2: an e-puck infers its 8 IR sensors' angles and radii while "
        "interrogators drive its wheels"
    )
    parameters = tuple(
        Parameter(
            f"theta_{i}",
            -math.pi,
            math.pi,
            C.REFERENCE_ANGLES[i],
            unit="rad",
            description=f"sensor {i}: angle of its position and its facing (body frame)",
            periodic=True,
        )
        for i in range(N)
    ) + tuple(
        Parameter(
            f"r_{i}",
            C.MODEL_RADIUS_MIN,
            C.BODY_RADIUS,
            C.REFERENCE_RADII[i],
            unit="cm",
            description=f"sensor {i}: distance from the body's centre",
        )
        for i in range(N)
    )
    observation_size = N
    observation_low = 0.0
    observation_high = 1.0
    observation_names = tuple(f"ir_{i}" for i in range(N))
    action_size = 2
    action_low = -1.0
    action_high = 1.0
    action_names = ("left_wheel", "right_wheel")
    default_steps = C.TRIAL_STEPS
    default_generations = 1000
    # Chunks of 5,000 trials keep a torch step's working set in the CPU's caches (the native
    # kernel works on groups of 8 or 16 trials and ignores it; on CUDA a batch is one chunk).
    default_chunk_size = 5000

    def __init__(self, noise: bool = True, calibrate: bool = False):
        for name, value in (("noise", noise), ("calibrate", calibrate)):
            if not isinstance(value, bool):
                raise UserError(f"{self.name}: {name} must be true or false, got {value!r}")
        self.noise = noise
        self.calibrate = calibrate
        if calibrate:
            self.parameters = type(self).parameters + calibration.PARAMETERS

    def options(self) -> dict[str, Any]:
        # `calibrate` only when on: run folders of the spec's system record what they did
        # before the option existed.
        return {"noise": self.noise, **({"calibrate": True} if self.calibrate else {})}

    # ----------------------------------------------------------------- parameters
    def simulation_params(self, params: Tensor, truth: Truth | None = None) -> Tensor:
        """Model ``[16, n]`` (theta_0..7, r_0..7) to layouts ``[24, n]``; calibrated, model
        ``[21, n]`` to ``[29, n]`` (the layout, then the calibration)."""
        layout = sim.layout_from_polar(params[:N], params[N : 2 * N])
        if not self.calibrate:
            return layout
        return torch.cat([layout, params[2 * N :]])

    def make_truth(self, overrides: Mapping[str, Any] | None = None) -> Truth:
        """The genuine robot: the real e-puck, or a ``layout``, with ``theta_i`` / ``r_i``
        overrides (see the module docstring).

        Raises:
            UserError: for an unknown name, a layout that is not 8 sensors, a radius outside
                (0, 3.7] or an angle outside [-pi, pi].
        """
        overrides = dict(overrides or {})
        spec: dict[str, Any] = {}
        calibrated = {p.name: p.genuine for p in calibration.PARAMETERS}
        if self.calibrate:
            for name in list(overrides):
                if name in calibrated:
                    calibrated[name] = self.parameter(name).check(overrides.pop(name), self.name)
                    spec[name] = calibrated[name]
        sensors = [
            (x, y, phi) for (x, y), phi in zip(C.SENSOR_POSITIONS, C.SENSOR_FACINGS, strict=True)
        ]
        if "layout" in overrides:
            sensors = parse_layout(overrides.pop("layout"), self.name)
            spec["layout"] = [{"x": x, "y": y, "facing": phi} for x, y, phi in sensors]
        theta = [phi for _, _, phi in sensors]
        radius = [math.hypot(x, y) for x, y, _ in sensors]
        polar: set[int] = set()
        for name, value in overrides.items():
            parameter = self.parameter(name)
            i = int(name.split("_")[1])
            if name.startswith("theta_"):
                theta[i] = parameter.check(value, self.name)
            else:
                radius[i] = _check_radius(value, f"{self.name}: parameter {name}")
            polar.add(i)
            spec[name] = theta[i] if name.startswith("theta_") else radius[i]
        for i in polar:
            sensors[i] = (radius[i] * math.cos(theta[i]), radius[i] * math.sin(theta[i]), theta[i])
        reference = {f"theta_{i}": theta[i] for i in range(N)}
        reference.update({f"r_{i}": radius[i] for i in range(N)})
        simulation = tuple(v for k in range(3) for v in (s[k] for s in sensors))
        if self.calibrate:
            reference.update(calibrated)
            simulation += tuple(calibrated[p] for p in calibration.CALIBRATION)
        return Truth(reference=reference, simulation=simulation, spec=spec)

    # ----------------------------------------------------------------- simulator
    def sample_starts(self, n: int, noise: Noise, device: torch.device) -> Tensor:
        """Start poses ``[3, n]`` (:func:`turing.envs.epuck.sim.sample_start_poses`)."""
        return sim.sample_start_poses(n, noise, device)

    def reset(
        self, params: Tensor, noise: Noise, start: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Places ``n`` robots (start poses from the trials' start streams, unless given)
        and reads their sensors. The state is the pose ``[3, n]`` (x, y, heading).

        Random numbers are drawn in float32 whatever ``params.dtype`` (then widened), so that
        a float64 simulation sees the same draws as the float32 one of training."""
        n = params.shape[-1]
        if start is None:
            start = sim.sample_start_poses(n, noise.starts(), params.device)
        pose = start.to(device=params.device, dtype=params.dtype)
        ir = sim.draw_ir_noise(noise).to(params.dtype) if self.noise else None
        if not self.calibrate:
            return pose, sim.sensor_readings(pose, params, ir)
        # The calibrated state carries the wheels' speeds: the robot starts at rest.
        readings = calibration.sensor_readings(pose, params, ir)
        return torch.cat([pose, pose.new_zeros(2, n)]), readings

    def step(
        self, state: Tensor, params: Tensor, action: Tensor, noise: Noise
    ) -> tuple[Tensor, Tensor]:
        """Drives every robot for one control step under wheel commands ``action`` ``[2, n]``
        in [-1, 1] and reads the sensors."""
        factors = ir = None
        if self.noise:
            factors = sim.draw_wheel_factors(noise).to(params.dtype)
            ir = sim.draw_ir_noise(noise).to(params.dtype)
        step = calibration.control_step if self.calibrate else sim.control_step
        return step(state, params, action.to(params.dtype), factors, ir)

    # ----------------------------------------------------------------- passive input
    def passive_action(
        self, t: int, observation: Tensor, params: Tensor, inputs: Tensor | None
    ) -> Tensor:
        """The spec's obstacle avoidance, from the robot's own readings and its own sensor
        facings (a model believes its sensors face its theta_i).

        With ``S = sum_i s_i (cos phi_i, sin phi_i)``: ``a = min(1, |S|)`` if ``S_x > 0``
        (something ahead) else 0, ``d = sign(S_y)``; left command ``(1 - a) 0.8 + d a``, right
        ``(1 - a) 0.8 - d a`` (in units of 12.8 cm/s): cruise at 80 %, turn away from the
        side that reads more, harder the closer the obstacle.
        """
        facing = sim.split_layout(params)[2]
        sx = (observation * torch.cos(facing)).sum(0)
        sy = (observation * torch.sin(facing)).sum(0)
        a = torch.where(sx > 0, torch.hypot(sx, sy).clamp_max(1.0), torch.zeros_like(sx))
        d = torch.sign(sy)
        cruise = (1 - a) * 0.8
        return torch.stack([cruise + d * a, cruise - d * a])

    def replay_scene(self, options: Any) -> Any:
        """Two arenas in one PyBullet view (:mod:`turing.envs.epuck.replay`); none when
        calibrating: that world moves and reads its robots as the spec's simulator does,
        so a calibrated model would be shown without its calibration, and the replay is
        the chart of the system's own trials instead."""
        if self.calibrate:
            return None
        from turing.envs.epuck.replay import EpuckReplayScene

        return EpuckReplayScene(self, options)

    # ----------------------------------------------------------------- reporting
    def metrics(self, estimate: Mapping[str, Any], truth: Truth) -> dict[str, Any]:
        """Angle errors in degrees (wrapped to [0, 180]) and radius errors in cm of an
        estimate: their means (``mean_angle_error_deg``, ``mean_radius_error_cm``) and the
        per-sensor lists (``angle_error_deg``, ``radius_error_cm``)."""
        angles, radii = sensor_errors(self, estimate, truth)
        return {
            "mean_angle_error_deg": float(np.mean(angles)),
            "mean_radius_error_cm": float(np.mean(radii)),
            "angle_error_deg": [float(v) for v in angles],
            "radius_error_cm": [float(v) for v in radii],
        }

    def plot(self, result: Any, folder: Any) -> list[Path]:
        """``layout.png`` (inferred over genuine layout, top view) and ``sensor_errors.png``
        (angle and radius errors per generation)."""
        from turing.envs.epuck.layout_plot import plot_errors, plot_layout

        truth = self.make_truth(result.config.true_params)
        folder = Path(folder)
        paths = [plot_layout(self, result, truth, folder / "layout.png")]
        errors = plot_errors(result, folder / "sensor_errors.png")
        if errors is not None:
            paths.append(errors)
        return paths


def sensor_errors(
    system: System, estimate: Mapping[str, Any], truth: Truth
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sensor absolute angle errors (deg, in [0, 180]) and radius errors (cm)."""
    angles = np.array(
        [
            system.parameter(f"theta_{i}").error(
                estimate[f"theta_{i}"], truth.reference[f"theta_{i}"]
            )
            for i in range(N)
        ]
    )
    radii = np.array([abs(estimate[f"r_{i}"] - truth.reference[f"r_{i}"]) for i in range(N)])
    return np.degrees(angles), radii


# ----------------------------------------------------------------------------- layouts
MAX_LAYOUT_BYTES = 1 << 20
"""A layout file is 8 sensors: a megabyte is far more than any needs."""


def parse_layout(layout: Any, system: str = SensorSelfId.name) -> list[tuple[float, float, float]]:
    """The 8 sensors ``(x, y, facing)`` (cm, cm, rad in [-pi, pi)) of a user's layout.

    Args:
        layout: a path to a JSON file (str or Path), ``{"sensors": [...]}``, or a sequence
            (list, array) of 8 sensors, each ``{"x", "y", "facing" | "facing_deg"}``,
            ``{"theta" | "theta_deg", "r"}``, ``[x, y, facing]`` or ``[theta, r]``.
        system: the system's name for messages.

    Returns:
        the sensors in order.

    Raises:
        UserError: for an unreadable file, a wrong number of sensors, a malformed entry or a
            radius outside (0, 3.7].
    """
    source = "layout"
    if isinstance(layout, str | Path):
        source = f"layout file {layout}"
        path = Path(layout)
        # Only a regular file of a sensible size: a FIFO would block the read forever and
        # /dev/zero never end. (A run stores the layout read here by value: it never reads
        # the file again.)
        if path.exists() and not path.is_file():
            raise UserError(
                f"{system}: {source} is not a regular file; give the path of a JSON file "
                "listing 8 sensors"
            )
        if path.is_file() and path.stat().st_size > MAX_LAYOUT_BYTES:
            raise UserError(
                f"{system}: {source} has {path.stat().st_size:,} bytes, far more than 8 sensors "
                "take; give the path of a JSON file listing 8 sensors"
            )
        try:
            layout = json.loads(path.read_text())
        except UnicodeDecodeError:
            raise UserError(f"{system}: {source} is not text; give a JSON file") from None
        except OSError as exc:
            raise UserError(
                f"{system}: cannot read {source} ({exc.strerror}); give the path of a JSON "
                "file listing 8 sensors"
            ) from None
        except json.JSONDecodeError as exc:
            raise UserError(f"{system}: {source} is not valid JSON ({exc}); fix the file") from None
    if isinstance(layout, Mapping):
        if "sensors" not in layout:
            raise UserError(
                f'{system}: {source} is an object without a "sensors" list; give '
                '{"sensors": [...8 sensors...]} or the list itself'
            )
        layout = layout["sensors"]
    if isinstance(layout, np.ndarray | Tensor):
        layout = np.asarray(layout, dtype=np.float64).tolist()
    if isinstance(layout, str | bytes) or not isinstance(layout, Sequence):
        raise UserError(
            f"{system}: {source} must list 8 sensors, got {type(layout).__name__}; see "
            "`turing list` and the sensor-self-id docs for the format"
        )
    if len(layout) != N:
        raise UserError(
            f"{system}: {source} has {len(layout)} sensors; the e-puck has exactly {N}, give "
            "one entry per sensor in order"
        )
    return [_parse_sensor(entry, i, system, source) for i, entry in enumerate(layout)]


def _parse_sensor(entry: Any, i: int, system: str, source: str) -> tuple[float, float, float]:
    where = f"{system}: {source}, sensor {i}"
    form = (
        "give {x, y, facing} (cm, cm, rad; or facing_deg), {theta, r} (rad, cm; or theta_deg), "
        "[x, y, facing] or [theta, r]"
    )
    if isinstance(entry, Mapping):
        keys = set(entry)
        if keys in ({"x", "y", "facing"}, {"x", "y", "facing_deg"}):
            x, y = _number(entry["x"], where), _number(entry["y"], where)
            facing = entry.get("facing")
            facing = (
                _number(facing, where)
                if facing is not None
                else math.radians(_number(entry["facing_deg"], where))
            )
            _check_radius(math.hypot(x, y), f"{where}: position ({x:g}, {y:g})")
            return x, y, _wrap(facing)
        if keys in ({"theta", "r"}, {"theta_deg", "r"}):
            theta = entry.get("theta")
            theta = (
                _number(theta, where)
                if theta is not None
                else math.radians(_number(entry["theta_deg"], where))
            )
            r = _check_radius(entry["r"], where)
            return r * math.cos(theta), r * math.sin(theta), _wrap(theta)
        raise UserError(f"{where} has keys {sorted(keys)}; {form}")
    if isinstance(entry, Sequence) and not isinstance(entry, str | bytes):
        values = [_number(v, where) for v in entry]
        if len(values) == 3:
            x, y, facing = values
            _check_radius(math.hypot(x, y), f"{where}: position ({x:g}, {y:g})")
            return x, y, _wrap(facing)
        if len(values) == 2:
            theta, r = values[0], _check_radius(values[1], where)
            return r * math.cos(theta), r * math.sin(theta), _wrap(theta)
    raise UserError(f"{where} is {entry!r}; {form}")


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise UserError(f"{where}: {value!r} is not a finite number")
    return number


def _check_radius(value: Any, where: str) -> float:
    radius = _number(value, where)
    if not 0 < radius <= C.BODY_RADIUS + _RADIUS_TOLERANCE:
        raise UserError(
            f"{where}: radius {radius:g} cm is outside (0, {C.BODY_RADIUS:g}]; a sensor sits on "
            "or inside the body"
        )
    return min(radius, C.BODY_RADIUS)


register_system(SensorSelfId, entry_point="turing.envs.epuck.env:SensorSelfIdEnv")
