"""``turing/EpuckBullet-v0``: the e-puck as a physical PyBullet robot, one trial per episode.

The "real robot" of the reality-gap study (issue 15): the same interface as
``turing/SensorSelfId-v0`` (8 proximity readings in [0, 1]; left and right wheel commands
in [-1, 1], times 12.8 cm/s; 0.1 s control steps; an episode is truncated when observation
``steps - 1`` is returned), but its motion and its readings come from PyBullet's physics
(:mod:`turing.envs.epuck.physics`) and a sensor model of its own
(:mod:`turing.envs.epuck.infrared`), not from the fast simulator. It is deliberately *not*
tuned to match the fast simulator; ``docs/specs/epuck-bullet.md`` lists every difference.

Randomness: everything comes from the env's ``np_random``, seeded by ``reset(seed=...)``,
in a fixed order: the start pose (uniform over the places where the body overlaps nothing,
heading uniform), then per step the two wheel-noise factors and the sensors' noise. The
world is restored from a saved state at every reset, so an episode depends on its seed
alone: ``reset(seed=s)`` gives the same trial in any env, after any other episodes.

``info`` holds the step ``t``, the body's ``pose`` (x, y in cm, heading in rad), the wheels'
rim speeds (``wheel_speeds``, cm/s) and the torques their motors applied
(``motor_torques``, N m): what a reality-gap study compares, and what a real robot filmed
from above would give.
"""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

from turing.envs.epuck import constants as C
from turing.envs.epuck.infrared import InfraredModel
from turing.envs.epuck.physics import PhysicalWorld, RobotPhysics
from turing.envs.epuck.physics_arena import sample_start
from turing.errors import UserError

ENV_ID = "turing/EpuckBullet-v0"
RENDER_MODES = ("human", "rgb_array")
M = C.METRES_PER_CM
DEFAULT_PHYSICS = RobotPhysics()
DEFAULT_INFRARED = InfraredModel()


class EpuckBulletEnv(gymnasium.Env):
    """One trial of the physical e-puck in case study 2's arena.

    Args:
        layout: the sensors: ``None`` (the real e-puck's layout) or anything
            :func:`turing.envs.epuck.parse_layout` reads (8 sensors as ``[x, y, facing]``,
            ``[theta, r]`` or dicts, ``{"sensors": [...]}``, a JSON file's path).
        noise: wheel and sensor noise on (default) or off.
        steps: observations per episode (the trial length; default 100).
        render_mode: ``None``, ``human`` (PyBullet GUI) or ``rgb_array``.
        size: ``(width, height)`` of rendered frames.
        renderer: offscreen renderer: ``auto``, ``tiny`` or ``egl``.
        mass, wheel_mass, wheel_radius_cm, max_wheel_torque, wheel_friction, skid_friction,
        body_friction, wheel_noise, timestep, solver_iterations: the robot's physics
            (:class:`turing.envs.epuck.physics.RobotPhysics`, whose defaults these are).
        ir_gain, ir_decay_cm, ir_range_cm, ir_beam_deg, ir_noise, ir_gain_noise: the
            sensors' response (:class:`turing.envs.epuck.infrared.InfraredModel`).

    Raises:
        UserError: a bad layout, render mode or setting (one line naming it).
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": round(1 / C.CONTROL_STEP)}

    def __init__(
        self,
        layout=None,
        noise: bool = True,
        steps: int = C.TRIAL_STEPS,
        render_mode: str | None = None,
        size: tuple[int, int] = (480, 480),
        renderer: str = "auto",
        mass: float = DEFAULT_PHYSICS.mass,
        wheel_mass: float = DEFAULT_PHYSICS.wheel_mass,
        wheel_radius_cm: float = DEFAULT_PHYSICS.wheel_radius_cm,
        max_wheel_torque: float = DEFAULT_PHYSICS.max_wheel_torque,
        wheel_friction: float = DEFAULT_PHYSICS.wheel_friction,
        skid_friction: float = DEFAULT_PHYSICS.skid_friction,
        body_friction: float = DEFAULT_PHYSICS.body_friction,
        wheel_noise: float = DEFAULT_PHYSICS.wheel_noise,
        timestep: float = DEFAULT_PHYSICS.timestep,
        solver_iterations: int = DEFAULT_PHYSICS.solver_iterations,
        ir_gain: float = DEFAULT_INFRARED.gain,
        ir_decay_cm: float = DEFAULT_INFRARED.decay_cm,
        ir_range_cm: float = DEFAULT_INFRARED.range_cm,
        ir_beam_deg: float = DEFAULT_INFRARED.beam_deg,
        ir_noise: float = DEFAULT_INFRARED.noise,
        ir_gain_noise: float = DEFAULT_INFRARED.gain_noise,
    ):
        from turing.envs.epuck.system import SensorSelfId, parse_layout

        if render_mode is not None and render_mode not in RENDER_MODES:
            raise UserError(
                f"{ENV_ID}: render_mode {render_mode!r} is unknown; choose from "
                f"{', '.join(RENDER_MODES)} or None"
            )
        if not isinstance(noise, bool):
            raise UserError(f"{ENV_ID}: noise must be true or false, got {noise!r}")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise UserError(f"{ENV_ID}: steps must be a whole number >= 1, got {steps!r}")
        self.physics = RobotPhysics(
            mass=mass,
            wheel_mass=wheel_mass,
            wheel_radius_cm=wheel_radius_cm,
            max_wheel_torque=max_wheel_torque,
            wheel_friction=wheel_friction,
            skid_friction=skid_friction,
            body_friction=body_friction,
            wheel_noise=wheel_noise,
            timestep=timestep,
            solver_iterations=solver_iterations,
        )
        self.infrared = InfraredModel(
            gain=ir_gain,
            decay_cm=ir_decay_cm,
            range_cm=ir_range_cm,
            beam_deg=ir_beam_deg,
            noise=ir_noise,
            gain_noise=ir_gain_noise,
        )
        if layout is None:
            truth = SensorSelfId(noise=False).make_truth()
            n = C.N_SENSORS
            self.sensors = [
                (truth.simulation[i], truth.simulation[n + i], truth.simulation[2 * n + i])
                for i in range(n)
            ]
        else:
            self.sensors = parse_layout(layout, ENV_ID)
        self.noise = noise
        self.steps = steps
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, shape=(C.N_SENSORS,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        from turing.envs.bullet_view import BulletView, Camera

        self._view = BulletView(render_mode == "human", size, renderer)
        self._world = PhysicalWorld(self._view, self.sensors, self.physics, self.infrared)
        centre = M * C.ARENA_SIZE / 2
        self._view.set_camera(
            Camera(target=(centre, centre, 0.0), distance=1.05, yaw=0.0, pitch=-89.0, fov=33.0)
        )
        self._t = -1

    # ------------------------------------------------------------------ gymnasium
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        x, y, heading = sample_start(self.np_random)
        self._world.reset(x, y, heading)
        self._t = 0
        return self._observe(), self._info()

    def step(self, action):
        if self._t < 0:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        command = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0)
        if command.shape != (2,) or not np.all(np.isfinite(command)):
            raise UserError(
                f"{ENV_ID}: step() takes 2 finite wheel commands, got {np.asarray(action)!r}"
            )
        speeds = command * C.MAX_WHEEL_SPEED
        if self.noise and self.physics.wheel_noise > 0:
            speeds = speeds * (1.0 + self.physics.wheel_noise * self.np_random.standard_normal(2))
        self._world.command(float(speeds[0]), float(speeds[1]))
        self._world.advance()
        self._t += 1
        truncated = self._t >= self.steps - 1
        return self._observe(), 0.0, False, truncated, self._info()

    def render(self):
        """The current frame (``rgb_array``), or ``None``."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "render() was called without a render_mode; pass render_mode='rgb_array' or 'human'"
            )
            return None
        return self._view.frame() if self.render_mode == "rgb_array" else None

    def close(self):
        if self._view is not None:
            self._view.close()
            self._view = None

    # ------------------------------------------------------------------ helpers
    def _observe(self) -> np.ndarray:
        rng = self.np_random if self.noise else None
        return self._world.sense(rng).astype(np.float32)

    def _info(self) -> dict:
        speeds, torques = self._world.wheels()
        return {
            "t": self._t,
            "pose": self._world.pose(),
            "wheel_speeds": speeds,
            "motor_torques": torques,
        }


def register() -> None:
    """Registers ``turing/EpuckBullet-v0`` with Gymnasium (``import turing`` does)."""
    gymnasium.registry.pop(ENV_ID, None)  # re-registration without Gymnasium's warning
    gymnasium.register(id=ENV_ID, entry_point=f"{__name__}:EpuckBulletEnv")
