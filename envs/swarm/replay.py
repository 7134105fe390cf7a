"""The replay scene of case study 3 (``turing replay`` of a ``swarm-aggregation`` run).

Two swarms, each in its own picture (the columns of
:class:`turing.replay.columns.ColumnScene`), drawn from above
(:mod:`turing.envs.swarm.draw`): on the left the genuine swarm, on the right the mixed
swarm in which the focal robot (filled orange) and the other replicas (outlined in black)
run the model's controller among genuine robots. Trails are coloured by the reading each
robot acted on (red: another robot ahead; the focal robot's may be the interrogator's
override). Under each picture: the focal robot's observed speeds, the interrogator's
running judgement, and the override it sets for the next step (``I=1``, ``I=0``, or
``own``: the robot reads its own sensor), step by step. The trials run on the system's
batched torch simulator (``n = 2``), so the replay draws the same random numbers as
training would.
"""

from __future__ import annotations

import numpy as np
import torch

from turing.envs.swarm import draw, sim
from turing.replay import SceneOptions, SimulatedScene, StepView
from turing.replay.columns import ColumnScene


class SwarmReplayScene(ColumnScene, SimulatedScene):
    """The genuine swarm and the mixed swarm of a replay.

    Args:
        system: the swarm system.
        options: frame size and labels.
    """

    supports_gui = True

    def __init__(self, system, options: SceneOptions):
        super().__init__(system, options)
        self.trails = [draw.Trail(), draw.Trail()]

    def reset(self, params: torch.Tensor, noise) -> torch.Tensor:
        observation = super().reset(params, noise)
        self.trails = [draw.Trail(), draw.Trail()]
        self._record()
        return observation

    def step(self, action: torch.Tensor, noise) -> torch.Tensor:
        observation = super().step(action, noise)
        self._record()
        return observation

    def _record(self) -> None:
        pose, seen = self.state
        pose = pose.detach().cpu().numpy()
        seen = seen.detach().cpu().numpy()
        for k, trail in enumerate(self.trails):
            trail.add(pose[:, :, k], seen[:, k])

    def picture(self, k: int, width: int, height: int) -> np.ndarray:
        replicas = (0, self.system.replicas)[k]
        return draw.picture(self.trails[k], replicas, (width, height))

    def titles(self, labels: tuple[str, str]) -> tuple[str, str]:
        return f"{labels[0]} swarm", f"{labels[1]}: focal robot and replicas among genuine robots"

    def status(self, view: StepView, k: int) -> str:
        speeds = f"v {view.observation[0, k]:+.2f}  w {view.observation[1, k]:+.2f}"
        if view.action is None:
            return speeds
        return f"{speeds}   next: {override(view.action[0, k])}"


def override(action: float) -> str:
    """The override an action sets: a forced reading, or the robot's own (``own``)."""
    if action > sim.OVERRIDE_THRESHOLD:
        return "I=1"
    if action < -sim.OVERRIDE_THRESHOLD:
        return "I=0"
    return "own"
