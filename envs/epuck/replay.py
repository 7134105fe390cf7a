"""The replay scene of case study 2 (``turing replay`` of a ``sensor-self-id`` run).

One PyBullet view with two arenas: the genuine e-puck on the left, the model on the
right, each with its own sensor layout, both driven by the same interrogator. Every
sensor's three rays are drawn from the sensor to what they hit (or to their 12 cm range),
coloured by the sensor's reading (green 0 .. red 1); the wheels leave trails; texts give
the step and the interrogator's running judgement of each robot.

The trials run in the PyBullet world (:mod:`turing.envs.epuck.bullet`) with the torch
simulator's random draws (the same :class:`turing.Noise` calls: start poses from the start
streams, the IR noise of each reading, the wheel factors of each step), so a replay is
what the torch simulator would compute for the same streams, up to the geometry engines'
rounding.
"""

from __future__ import annotations

import torch

from turing.engine.random import Noise
from turing.envs.bullet_view import BulletScene, BulletView, Camera
from turing.envs.epuck import constants as C
from turing.envs.epuck import sim
from turing.envs.epuck.bullet import ARENA_SPACING, TRAIL_COLORS, EpuckWorld
from turing.replay import ReplayScene, SceneOptions, StepView

M = C.METRES_PER_CM
LABEL_ABOVE = 9.0
"""cm above the arenas' far wall: the trials' labels and, between them, the step."""
JUDGEMENT_BELOW = 6.0
"""cm below the near wall: each trial's running judgement."""
KEYS_BELOW = 13.0
"""cm below the near wall: the window's key help, centred between the arenas."""


class EpuckReplayScene(BulletScene, ReplayScene):
    """Two arenas, the genuine e-puck and a model side by side.

    Args:
        system: the ``sensor-self-id`` system (its ``noise`` option is honoured).
        options: window or headless, frame size, labels.
    """

    supports_gui = True

    def __init__(self, system, options: SceneOptions):
        ReplayScene.__init__(self, system, options)
        self.noise = bool(getattr(system, "noise", True))
        self.view = BulletView(options.gui, options.size, options.renderer)
        self.world = EpuckWorld(self.view, arenas=2)
        genuine = sim.genuine_layout(1, dtype=torch.float64)[:, 0]
        self.robots = [self.world.add_robot(k, genuine) for k in range(2)]
        middle = (ARENA_SPACING + C.ARENA_SIZE) / 2
        # Both arenas and every text (from the key help below them to the step counter
        # above) in view, from the first frame on (the GUI applies it once it is up).
        self.view.set_camera(
            Camera(
                target=(M * middle, M * (C.ARENA_SIZE + LABEL_ABOVE - KEYS_BELOW) / 2, 0.0),
                distance=1.75,
                yaw=0.0,
                pitch=-80.0,
                fov=30.0,
            )
        )
        self.trails: list[list[list[float]]] = []

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
            centre = robot.arena.to_world(C.ARENA_SIZE / 2, 0.0)
            self.view.text(
                f"label{k}",
                view.labels[k],
                robot.arena.to_world(C.ARENA_SIZE / 2, C.ARENA_SIZE + LABEL_ABOVE),
                (0.1, 0.1, 0.1),
                1.0,
            )
            judged = view.judgement[k] >= 0.5
            verdict = "genuine" if judged else "counterfeit"
            self.view.text(
                f"judgement{k}",
                f"judged {verdict} ({view.judgement[k]:.2f})",
                [centre[0], centre[1] - M * JUDGEMENT_BELOW, 0.0],
                (0.1, 0.5, 0.1) if judged == (k == 0) else (0.8, 0.1, 0.1),
                0.9,
            )
        middle = (ARENA_SPACING + C.ARENA_SIZE) / 2
        self.view.text(
            "step",
            f"step {view.t + 1}/{view.steps}",
            [M * middle, M * (C.ARENA_SIZE + LABEL_ABOVE), 0.0],
            (0.1, 0.1, 0.1),
            1.0,
        )
        # Below the arenas, where no other text is (window only: videos have no keys).
        self.show_key_help([M * middle, -M * KEYS_BELOW, 0.0])
