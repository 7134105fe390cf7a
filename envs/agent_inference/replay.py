"""The replay scene of case study 1 (``turing replay`` of an ``agent-inference`` run).

Two stations in one PyBullet world, each in its own picture (the two columns of
:class:`turing.replay.columns.ColumnScene`): the genuine agent on the left and the model
on the right. Each agent is a small body running along a circular track around a lamp;
the lamp and the floor it lights take the colour of the light level the interrogator (or,
in passive runs, the natural schedule) sets, from dark (0) to bright yellow (1); the body
is blue while calm and red while startled. The agent advances by its speed each step
(without the observation noise, which the interrogator sees and the charts and the
replay figure show). Under each picture: the light and the observed speed, the
interrogator's running judgement, and the light it sets, step by step.

The trials run on the agent's own batched simulator (``n = 2``), so the replay draws
the same random numbers as training would.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from turing.envs.bullet_scene import BulletScene
from turing.envs.bullet_view import BulletView, Camera, color_scale
from turing.replay import SceneOptions, SimulatedScene, StepView
from turing.replay.columns import ColumnScene

TRACK_RADIUS = 0.3
"""Radius of the track (m)."""
TRACK_WIDTH = 0.035
METRES_PER_SPEED = 0.02
"""Distance along the track per step at speed 1 (m): at most about one lap per trial."""
STATION_X = (-2.0, 2.0)
"""Centres of the genuine and the model station (m): far apart, each picture shows one."""
PITCH = -58.0
"""Degrees: from above and in front, so that the lamp on its post reads as one."""
START_ANGLE = -math.pi / 2
"""Agents start at the track's point nearest the camera and run counter-clockwise."""

DARK = (0.25, 0.25, 0.28)
BRIGHT = (1.0, 0.9, 0.2)
CALM = (0.15, 0.4, 0.85)
STARTLED = (0.9, 0.15, 0.1)


class AgentReplayScene(BulletScene, ColumnScene, SimulatedScene):
    """Case study 1's agents on their tracks under their lamps.

    Args:
        system: the agent system.
        options: frame size, labels, renderer.
    """

    supports_gui = True

    def __init__(self, system, options: SceneOptions):
        SimulatedScene.__init__(self, system, options)
        self.view = BulletView(False, options.size, options.renderer)
        pb, client = self.view.pb, self.view.id
        self.lamps, self.glows, self.agents = [], [], []
        track = _annulus(self.view, TRACK_RADIUS - TRACK_WIDTH / 2, TRACK_RADIUS + TRACK_WIDTH / 2)
        for x in STATION_X:
            pb.createMultiBody(0, -1, track, basePosition=[x, 0, 0.001], physicsClientId=client)
            glow = pb.createVisualShape(
                pb.GEOM_CYLINDER,
                radius=TRACK_RADIUS - TRACK_WIDTH,
                length=0.002,
                rgbaColor=[*DARK, 1],
                physicsClientId=client,
            )
            self.glows.append(
                pb.createMultiBody(0, -1, glow, basePosition=[x, 0, 0.0], physicsClientId=client)
            )
            post = pb.createVisualShape(
                pb.GEOM_CYLINDER,
                radius=0.006,
                length=0.2,
                rgbaColor=[0.3, 0.3, 0.3, 1],
                physicsClientId=client,
            )
            pb.createMultiBody(0, -1, post, basePosition=[x, 0, 0.1], physicsClientId=client)
            lamp = pb.createVisualShape(
                pb.GEOM_SPHERE, radius=0.045, rgbaColor=[*DARK, 1], physicsClientId=client
            )
            self.lamps.append(
                pb.createMultiBody(0, -1, lamp, basePosition=[x, 0, 0.22], physicsClientId=client)
            )
            body = pb.createVisualShapeArray(
                shapeTypes=[pb.GEOM_BOX, pb.GEOM_SPHERE],
                halfExtents=[[0.03, 0.016, 0.014], [0, 0, 0]],
                radii=[0.0, 0.013],
                rgbaColors=[[*CALM, 1], [0.1, 0.1, 0.1, 1]],
                visualFramePositions=[[0, 0, 0], [0.03, 0, 0.004]],
                physicsClientId=client,
            )
            self.agents.append(
                pb.createMultiBody(
                    0, -1, body, basePosition=[x, -TRACK_RADIUS, 0.016], physicsClientId=client
                )
            )
        self.distance = np.zeros(2)
        self.light = np.zeros(2)

    def camera(self, k: int, size: tuple[int, int]) -> Camera:
        """Fits station ``k``: its track's outer edge, on the floor, and the lamp's top."""
        x = STATION_X[k]
        edge = TRACK_RADIUS + TRACK_WIDTH
        angles = np.linspace(0, 2 * math.pi, 16, endpoint=False)
        points = [[x + edge * math.cos(a), edge * math.sin(a), 0.0] for a in angles]
        points += [[x, 0.0, 0.27]]
        return self.view.fit_camera(points, size, pitch=PITCH, fov=45.0)

    def reset(self, params: torch.Tensor, noise) -> torch.Tensor:
        self.distance = np.zeros(2)
        self.view.clear()
        return super().reset(params, noise)

    def draw(self, view: StepView) -> None:
        pb, client = self.view.pb, self.view.id
        light, startled = (np.asarray(s.detach().cpu(), dtype=np.float64) for s in self.state)
        a, b = (np.asarray(p.detach().cpu(), dtype=np.float64) for p in self.params[:2])
        # The agent's noiseless speed (system.py): b when startled, a L when calm.
        speed = np.where(startled, b, a * light)
        if view.t > 0:
            self.distance += speed
        for k, x in enumerate(STATION_X):
            lit = color_scale(light[k], DARK, BRIGHT)
            pb.changeVisualShape(self.lamps[k], -1, rgbaColor=[*lit, 1], physicsClientId=client)
            pb.changeVisualShape(self.glows[k], -1, rgbaColor=[*lit, 1], physicsClientId=client)
            angle = START_ANGLE + self.distance[k] * METRES_PER_SPEED / TRACK_RADIUS
            position = [x + TRACK_RADIUS * math.cos(angle), TRACK_RADIUS * math.sin(angle), 0.016]
            heading = pb.getQuaternionFromEuler([0, 0, angle + math.pi / 2])
            pb.resetBasePositionAndOrientation(
                self.agents[k], position, heading, physicsClientId=client
            )
            pb.changeVisualShape(
                self.agents[k],
                -1,
                rgbaColor=[*(STARTLED if startled[k] else CALM), 1],
                physicsClientId=client,
            )
        self.light = light

    def status(self, view: StepView, k: int) -> str:
        return f"light {self.light[k]:.2f}   speed seen {view.observation[0, k]:+.2f}"


def _annulus(view: BulletView, inner: float, outer: float, segments: int = 96) -> int:
    """A flat ring visual (the track), as a triangle mesh."""
    angles = np.arange(segments) * (2 * math.pi / segments)
    vertices = [[r * math.cos(t), r * math.sin(t), 0.0] for r in (inner, outer) for t in angles]
    indices = []
    for i in range(segments):
        j = (i + 1) % segments
        indices += [i, segments + i, segments + j, i, segments + j, j]
    pb = view.pb
    return pb.createVisualShape(
        pb.GEOM_MESH,
        vertices=vertices,
        indices=indices,
        rgbaColor=[0.55, 0.55, 0.58, 1],
        physicsClientId=view.id,
    )
