"""The replay scene of the range sensor (``turing replay`` of a ``range-sensor-id`` run).

Two empty arenas in one PyBullet world, each in its own picture (the columns of
:class:`turing.replay.columns.ColumnScene`): the genuine robot on the left, the model on
the right, both driven by the same interrogator. Each robot is case study 2's e-puck
body; its time-of-flight sensor's ray runs from the body's front edge to the wall ahead,
coloured over the sensor's 20 cm range by how near the wall is (green far .. red touching)
and faint beyond it; the wheels leave trails. Under each picture: the reading, the
interrogator's running judgement and the wheel commands it sets, step by step.

The trials run on the system's batched torch simulator (``n = 2``): the scene only draws
its poses, so the replay draws the same random numbers as training would.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from turing.envs.bullet_scene import BulletScene
from turing.envs.bullet_view import BulletView, Camera, color_scale
from turing.envs.epuck import constants as C
from turing.envs.epuck import sim
from turing.envs.epuck.bullet import TRAIL_COLORS, WALL_THICKNESS, EpuckWorld
from turing.replay import SceneOptions, SimulatedScene, StepView
from turing.replay.columns import ColumnScene

SPACING = 300.0
"""cm between the arenas' origins: far enough that an arena's picture never shows the other."""
PITCH = -80.0
BEYOND_RANGE = (0.72, 0.72, 0.72)
"""Colour of the ray past the sensor's range (it reads the same there)."""


class RangeSensorReplayScene(BulletScene, ColumnScene, SimulatedScene):
    """Two empty arenas, the genuine robot and a model side by side.

    Args:
        system: the ``range-sensor-id`` system.
        options: frame size, labels, renderer.
        front_distance: the system's geometry: poses ``[3, n]`` to the distance (cm) from
            the body's front edge to the wall ahead (passed in: the system's module imports
            this one).
        sensor_range: cm up to which the reading rises with the distance.
    """

    supports_gui = True

    def __init__(self, system, options: SceneOptions, front_distance, sensor_range: float):
        SimulatedScene.__init__(self, system, options)
        self.front_distance = front_distance
        self.sensor_range = float(sensor_range)
        self.view = BulletView(False, options.size, options.renderer)
        self.world = EpuckWorld(self.view, arenas=2, spacing=SPACING, cylinders=False)
        layout = sim.genuine_layout(1, dtype=torch.float64)[:, 0]
        self.robots = [self.world.add_robot(k, layout) for k in range(2)]
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

    def reset(self, params: torch.Tensor, noise) -> torch.Tensor:
        self.view.clear()
        self.trails = [[], [], [], []]
        return super().reset(params, noise)

    def draw(self, view: StepView) -> None:
        pose = self.state.detach().cpu().to(torch.float64)
        distance = self.front_distance(pose).numpy()
        pose = pose.numpy()
        z = C.SENSOR_HEIGHT
        for k, robot in enumerate(self.robots):
            robot.place(pose[:, k])
            x, y, heading = pose[:, k]
            ux, uy = math.cos(heading), math.sin(heading)
            front = (x + C.BODY_RADIUS * ux, y + C.BODY_RADIUS * uy)
            seen = min(distance[k], self.sensor_range)

            def at(d: float, front=front, ux=ux, uy=uy, arena=robot.arena) -> list[float]:
                return arena.to_world(front[0] + d * ux, front[1] + d * uy, z)

            nearness = 1.0 - seen / self.sensor_range
            self.view.line(f"ray{k}", at(0.0), at(seen), color_scale(nearness), 3.0)
            self.view.line(f"beyond{k}", at(seen), at(distance[k]), BEYOND_RANGE, 1.0)
            for w, point in enumerate(robot.wheel_positions()):
                trail = self.trails[2 * k + w]
                trail.append(point)
                if len(trail) > 1:
                    self.view.polyline(f"trail{k}-{w}", trail, TRAIL_COLORS[k], 1.0)
        self.distance = distance

    def status(self, view: StepView, k: int) -> str:
        # The wheel commands are in the chart under it; the wall is what the reading is about.
        wall = float(np.asarray(self.distance)[k])
        return f"reads {view.observation[0, k]:.2f}   wall {wall:.0f} cm ahead"
