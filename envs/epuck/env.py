"""``turing/SensorSelfId-v0``: one e-puck trial as a Gymnasium environment.

Observation: the 8 normalised IR readings in [0, 1]. Action: the left and right wheel
commands in [-1, 1] (x 12.8 cm/s). An episode is one trial of the engine: ``reset`` gives
observation 0 and the episode is truncated when observation ``steps - 1`` is returned
(``steps - 1`` control steps of 0.1 s). The reward is always 0: the robot has no goal of its
own (``turing/TuringTest-v0`` rewards judging).

Two backends simulate the same world from the same constants:

* ``bullet`` (default): the PyBullet world of :mod:`turing.envs.epuck.bullet` (rays by
  ``rayTestBatch``, contacts resolved by PyBullet's contact queries);
* ``torch``: the batched simulator used for training, with ``n = 1``.

Both draw their randomness from the engine's counter-based streams seeded by
``reset(seed=...)`` (:class:`turing.integrations.gym_envs.EpisodeStreams`), with the torch simulator's
calls (the start pose, then the IR noise; per step the wheel factors, then the IR noise):
with the same seed they start from the same pose and apply the same noise, so their
readings differ only by the geometry engines' rounding (about 1e-4, see
``tests/test_epuck_bullet.py``).

``render_mode="human"`` opens the PyBullet GUI; ``"rgb_array"`` makes :meth:`render` return
frames (TinyRenderer, or EGL where its plugin loads and a GPU is present). Rays are drawn
coloured by reading, and the wheels leave trails. With the torch backend the PyBullet world
is built only for rendering, and shows the torch simulator's pose.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces

from turing.envs.epuck import constants as C
from turing.envs.epuck import sim
from turing.errors import UserError
from turing.integrations.gym_envs import EpisodeStreams
from turing.integrations.registry import make_system

BACKENDS = ("bullet", "torch")
RENDER_MODES = ("human", "rgb_array")
M = C.METRES_PER_CM


class SensorSelfIdEnv(gymnasium.Env):
    """One trial of the e-puck of case study 2.

    Args:
        sensors: the robot's sensor layout: ``None`` (the real e-puck), anything
            :func:`turing.envs.epuck.parse_layout` reads (8 sensors as ``[x, y, facing]``,
            ``[theta, r]`` or dicts; ``{"sensors": [...]}``; a JSON file's path), or a
            mapping of ``--true-params`` form (``{"theta_0": ..., "r_0": ...}``,
            ``{"layout": ...}``).
        backend: ``bullet`` (PyBullet world) or ``torch`` (the training simulator).
        noise: IR and wheel noise on (the spec) or off.
        steps: observations per episode (default 100).
        render_mode: ``None``, ``human`` (PyBullet GUI) or ``rgb_array``.
        size: ``(width, height)`` of rendered frames and of the window.
        renderer: offscreen renderer for ``rgb_array``: ``auto``, ``tiny`` or ``egl``.
        system: the registered system (set by ``gymnasium.make``).

    Raises:
        UserError: an unknown backend or render mode, or a bad layout.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": round(1 / C.CONTROL_STEP)}

    def __init__(
        self,
        sensors: Any = None,
        backend: str = "bullet",
        noise: bool = True,
        steps: int | None = None,
        render_mode: str | None = None,
        size: tuple[int, int] = (480, 480),
        renderer: str = "auto",
        system: str = "sensor-self-id",
    ):
        if backend not in BACKENDS:
            raise UserError(f"backend {backend!r} is unknown; choose from {', '.join(BACKENDS)}")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise UserError(
                f"render_mode {render_mode!r} is unknown; choose from {', '.join(RENDER_MODES)} or None"
            )
        self.system = make_system(system, noise=noise)
        self.backend = backend
        self.noise = bool(noise)
        self.steps = int(steps or self.system.default_steps)
        if self.steps < 1:
            raise UserError(f"steps must be at least 1, got {steps}")
        self.render_mode = render_mode
        self.size = size
        self.renderer = renderer
        truth = self.system.make_truth(
            sensors if sensors is None or isinstance(sensors, Mapping) else {"layout": sensors}
        )
        self.layout = torch.tensor(truth.simulation, dtype=torch.float32).reshape(-1, 1)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(C.N_SENSORS,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._episodes = EpisodeStreams(1)
        self._noise = None
        self._pose: torch.Tensor | None = None
        self._readings: torch.Tensor | None = None
        self._t = 0
        self._view = None
        self._world = None
        self._robot = None
        self._trails: list[list[list[float]]] = [[], []]
        if backend == "bullet" or render_mode is not None:
            self._build_world()

    # ------------------------------------------------------------------ gymnasium
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._noise = self._episodes.next(seed, self.np_random)
        noise = self._noise.at(0)
        with self._batch():
            if self.backend == "torch":
                self._pose, readings = self.system.reset(self.layout, noise)
            else:
                # The torch simulator's draws: the start pose, then the IR noise.
                self._pose = sim.sample_start_poses(1, noise.starts())
                self._world.place(self._pose)
                readings = self._world.readings(self._ir_noise(noise))
            self._t = 0
            if self._view is not None:
                self._view.clear()
            self._trails = [[], []]
            observation = self._observe(readings)
        return observation, {"t": 0, "pose": self._pose_info()}

    def step(self, action):
        if self._pose is None:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        command = torch.as_tensor(np.asarray(action, dtype=np.float32).reshape(2, 1))
        noise = self._noise.at(self._t + 1)
        with self._batch():
            if self.backend == "torch":
                self._pose, readings = self.system.step(self._pose, self.layout, command, noise)
            else:
                factors = sim.draw_wheel_factors(noise) if self.noise else None
                self._world.drive(command, factors)
                self._pose = self._world.poses().to(torch.float32)
                readings = self._world.readings(self._ir_noise(noise))
            self._t += 1
            observation = self._observe(readings)
        truncated = self._t >= self.steps - 1
        return observation, 0.0, False, truncated, {"t": self._t, "pose": self._pose_info()}

    def render(self):
        """The current frame (``rgb_array``), or ``None`` (``human``: the window is live)."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "render() was called without a render_mode; pass render_mode='rgb_array' or 'human'"
            )
            return None
        if self._pose is None:
            return self._view.frame() if self.render_mode == "rgb_array" else None
        self._draw()
        return self._view.frame() if self.render_mode == "rgb_array" else None

    def close(self):
        if self._view is not None:
            self._view.close()
            self._view = None
            self._world = None

    # ------------------------------------------------------------------ world
    def _build_world(self) -> None:
        from turing.envs.bullet_view import BulletView, Camera
        from turing.envs.epuck.bullet import EpuckWorld

        self._view = BulletView(self.render_mode == "human", self.size, self.renderer)
        self._world = EpuckWorld(self._view, arenas=1)
        self._robot = self._world.add_robot(0, self.layout[:, 0])
        centre = M * C.ARENA_SIZE / 2
        self._view.set_camera(
            Camera(target=(centre, centre, 0.0), distance=1.05, yaw=0.0, pitch=-89.0, fov=33.0)
        )

    def _ir_noise(self, noise) -> torch.Tensor | None:
        return sim.draw_ir_noise(noise) if self.noise else None

    def _observe(self, readings: torch.Tensor) -> np.ndarray:
        self._readings = readings.detach().to(torch.float32)
        if self.render_mode is not None:
            if self.backend == "torch":
                # The PyBullet world only shows the torch simulator's pose.
                self._world.place(self._pose.to(torch.float64))
            for trail, point in zip(self._trails, self._robot.wheel_positions(), strict=True):
                trail.append(point)
            if self.render_mode == "human":
                self._draw()
        return self._readings[:, 0].cpu().numpy()

    def _batch(self):
        # In the GUI every PyBullet call waits for the window's next frame: one redraw per
        # step instead of one per substep's contact query and per drawn ray.
        return self._view.batch() if self._view is not None else contextlib.nullcontext()

    def _draw(self) -> None:
        with self._batch():
            self._draw_items()

    def _draw_items(self) -> None:
        from turing.envs.epuck.bullet import TRAIL_COLORS

        self._world.ray_distances()
        self._world.draw_rays(self._readings)
        for w, trail in enumerate(self._trails):
            if len(trail) > 1:
                self._view.polyline(f"trail{w}", trail, TRAIL_COLORS[0], 1.0)
        self._view.text(
            "step",
            f"step {self._t + 1}/{self.steps}",
            (M * C.ARENA_SIZE / 2, M * (C.ARENA_SIZE + 3), 0.0),
            (0.1, 0.1, 0.1),
        )

    def _pose_info(self) -> np.ndarray:
        return self._pose[:, 0].detach().to(torch.float64).cpu().numpy()
