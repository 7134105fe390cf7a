"""The replay scene of case study 2 (``turing replay`` of a ``sensor-self-id`` run).

Two arenas in one PyBullet world: the genuine e-puck's and the model's, each with its own
sensor layout, both driven by the same interrogator. Every sensor's three rays are drawn
from the sensor to what they hit (or to their 12 cm range), coloured by the sensor's
reading (green 0 .. red 1), and the wheels leave trails. Each arena gets its own picture
(a camera fitted to it), in the two columns of :class:`turing.replay.columns.ColumnScene`,
which adds the titles, the interrogator's running judgement and the wheel commands it sets.

The trials run in the PyBullet world (:mod:`turing.envs.epuck.bullet`) with the torch
simulator's random draws (the same :class:`turing.Noise` calls: start poses from the start
streams, the IR noise of each reading, the wheel factors of each step), so a replay is
what the torch simulator would compute for the same streams, up to the geometry engines'
rounding.
"""

from __future__ import annotations

import torch

from turing.engine.random import Noise
from turing.envs.bullet_scene import BulletScene
from turing.envs.bullet_view import BulletView, Camera
from turing.envs.epuck import constants as C
from turing.envs.epuck import sim
from turing.envs.epuck.bullet import TRAIL_COLORS, WALL_THICKNESS, EpuckWorld
from turing.replay import ReplayScene, SceneOptions, StepView
from turing.replay.columns import ColumnScene

M = C.METRES_PER_CM
SPACING = 300.0
"""cm between the arenas' origins: far enough that an arena's picture never shows the other."""
PITCH = -80.0
"""Degrees: nearly from above, the walls and cylinders still read as solid."""


class EpuckReplayScene(BulletScene, ColumnScene, ReplayScene):
    """Two arenas, the genuine e-puck and a model side by side.

    Args:
        system: the ``sensor-self-id`` system (its ``noise`` option is honoured).
        options: frame size, labels, renderer.
    """

    supports_gui = True

    def __init__(self, system, options: SceneOptions):
        ReplayScene.__init__(self, system, options)
        self.noise = bool(getattr(system, "noise", True))
        self.view = BulletView(False, options.size, options.renderer)
        self.world = EpuckWorld(self.view, arenas=2, spacing=SPACING)
        genuine = sim.genuine_layout(1, dtype=torch.float64)[:, 0]
        self.robots = [self.world.add_robot(k, genuine) for k in range(2)]
        self.trails: list[list[list[float]]] = [[], [], [], []]

    def camera(self, k: int, size: tuple[int, int]) -> Camera:
        """Fits arena ``k``: its walls' outer corners, at the floor and at their tops."""
        arena = self.world.arenas[k]
        low, high = -WALL_THICKNESS, C.ARENA_SIZE + WALL_THICKNESS
        corners = [
            arena.to_world(x, y, z)
            for x in (low, high)
            for y in (low, high)
            for z in (0.0, C.WALL_HEIGHT)
        ]
        return self.view.fit_camera(corners, size, pitch=PITCH)

    def _draw_ir_noise(self, noise: Noise) -> torch.Tensor | None:
        return sim.draw_ir_noise(noise) if self.noise else None

    def reset(self, params: torch.Tensor, noise: Noise) -> torch.Tensor:
        for k, robot in enumerate(self.robots):
            robot.layout = params[:, k : k + 1].to(torch.float64).cpu()
        # The torch simulator's draws: start poses (float32, then widened), the IR noise.
        self.world.place(sim.sample_start_poses(2, noise.starts(), dtype=params.dtype).cpu())
        readings = self.world.readings(self._draw_ir_noise(noise))
        self.view.clear()
        self.trails = [[], [], [], []]
        return readings.to(params.dtype)

    def step(self, action: torch.Tensor, noise: Noise) -> torch.Tensor:
        factors = sim.draw_wheel_factors(noise).to(action.dtype) if self.noise else None
        self.world.drive(action.cpu(), None if factors is None else factors.cpu())
        return self.world.readings(self._draw_ir_noise(noise)).to(action.dtype)

    def draw(self, view: StepView) -> None:
        self.world.draw_rays(view.observation)
        for k, robot in enumerate(self.robots):
            for w, point in enumerate(robot.wheel_positions()):
                trail = self.trails[2 * k + w]
                trail.append(point)
                if len(trail) > 1:
                    self.view.polyline(f"trail{k}-{w}", trail, TRAIL_COLORS[k], 1.0)

    def status(self, view: StepView, k: int) -> str:
        if view.action is None:
            return "last step"
        left, right = view.action[:, k]
        return f"wheels  left {left:+.2f}  right {right:+.2f}"
