"""``turing/SwarmAggregation-v0``: one swarm trial as a Gymnasium environment.

Observation: the focal robot's linear and angular speed over the last 0.1 s (in units of
12.8 cm/s and 5.02 rad/s, with N(0, 0.05^2) noise, clipped to [-2, 2]). Action: the
override of the focal robot's sensor in [-1, 1] (above 1/3: it reads 1; below -1/3: it
reads 0; in between it reads its own sensor; 0 is the natural, passive input). An episode
is one trial of the engine: ``reset`` gives observation 0 and the episode is truncated when
observation ``steps - 1`` is returned. The reward is always 0 (``turing/TuringTest-v0``
rewards judging). ``params`` chooses the swarm: ``None`` (all genuine), a mapping of
genuine values (``{"v_l0": -0.5}``: every robot runs that controller), or 4 model values
(the focal robot, and the first ``replicas`` robots, run them among genuine robots).

The env steps the batched torch simulator with ``n = 1`` and draws from the engine's
counter-based streams (:class:`turing.integrations.gym_envs.EpisodeStreams`): episode ``e`` after
``reset(seed=s)`` is stream 0 of the key ``stream_key(s, "env", e)``, exactly the trial the
batched simulator gives for that stream. ``render_mode="rgb_array"`` draws the swarm from
above (:mod:`turing.envs.swarm.draw`); ``info`` holds every robot's pose and reading.
"""

from __future__ import annotations

import numpy as np

from turing.envs.swarm import draw
from turing.errors import UserError
from turing.integrations.gym_envs import SystemEnv

RENDER_MODES = ("rgb_array",)


class SwarmAggregationEnv(SystemEnv):
    """One trial of case study 3's swarm.

    Args:
        system: the registered system (set by ``gymnasium.make``).
        params: the swarm's controllers (see the module docstring).
        steps: observations per episode (default 100).
        render_mode: ``None`` or ``rgb_array``.
        size: ``(width, height)`` of rendered frames.
        **options: the system's options (``n_robots``, ``replicas``, ``noise``,
            ``start_radius``).
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 10}

    def __init__(
        self,
        system: str = "swarm-aggregation",
        params=None,
        steps: int | None = None,
        render_mode: str | None = None,
        size: tuple[int, int] = (480, 480),
        **options,
    ):
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise UserError(
                f"swarm-aggregation: render_mode {render_mode!r} is not supported; use None "
                "or 'rgb_array'"
            )
        super().__init__(system, params, steps, render_mode, **options)
        self.size = (int(size[0]), int(size[1]))
        self._trail = draw.Trail()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        observation, info = super().reset(seed=seed, options=options)
        self._trail = draw.Trail()
        return observation, self._record(info)

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        return observation, reward, terminated, truncated, self._record(info)

    def _record(self, info: dict) -> dict:
        pose, seen = self._state
        pose = pose[:, :, 0].detach().cpu().numpy()
        seen = seen[:, 0].detach().cpu().numpy()
        self._trail.add(pose, seen)
        return {**info, "poses": pose.astype(np.float32), "seen": seen.astype(bool)}

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        if not self._trail.poses:
            raise UserError("call reset() before render()")
        replicas = self.system.replicas
        return draw.frame(
            [self._trail],
            [f"swarm of {self.system.n_robots}, step {len(self._trail.poses) - 1}"],
            [replicas],
            self.size,
        )
