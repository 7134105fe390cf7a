"""Replays of runs whose genuine system lies outside turing (``--genuine ENV``,
``--genuine-data FILE``): the recorded genuine trial beside a live model trial.

Such a system cannot be asked for a trial again (a robot, someone else's env), so a replay
does not simulate the genuine side: it plays back the genuine trials the run recorded at
its end (``episodes/final.npz``: the best interrogator against the genuine system, as many
trials as the run's episodes), observation by observation, while the model trial runs live
beside it. The interrogator is the one that drove those trials (rank 0, the best), so in
``interrogate`` its outputs on the recorded observations are the inputs it gave the
genuine system; in the passive modes any interrogator may read them.

The genuine column is drawn as charts of its observations (the recording holds readings,
not the world's state); the model column keeps the system's picture where it has one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from turing.engine import Noise
from turing.errors import UserError
from turing.replay.columns import ColumnScene
from turing.replay.scenes import ReplayScene

Tensor = torch.Tensor


def external_genuine(config) -> str | None:
    """What the run's genuine trials came from, if not the system's own simulator."""
    if getattr(config, "genuine_data", None):
        return f"recorded trials {Path(config.genuine_data).name}"
    if getattr(config, "genuine", None):
        return str(config.genuine)
    return None


def load_recorded(run_dir, steps: int, obs_size: int) -> np.ndarray:
    """The genuine trials of ``episodes/final.npz``, ``[trials, steps, obs]`` float32.

    Raises:
        UserError: no episodes, or episodes of the wrong shape (a damaged folder).
    """
    path = Path(run_dir.path) / "episodes" / "final.npz"
    if not path.is_file():
        raise UserError(
            f"{run_dir.path} recorded no genuine trials to replay (episodes/final.npz is "
            "missing): its genuine system is outside turing and cannot be replayed"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            observation = np.asarray(data["observation"])
            is_model = np.asarray(data["is_model"])
    except (OSError, KeyError, ValueError) as exc:
        raise UserError(f"{path} cannot be read ({exc}); the run folder is damaged") from None
    if (
        observation.ndim != 3
        or observation.shape[:2] != (steps, obs_size)
        or observation.dtype.kind != "f"
        or is_model.shape != observation.shape[2:]
        or is_model.dtype != np.bool_
        or not np.isfinite(observation).all()
    ):
        raise UserError(
            f"{path} does not hold trials of {steps} steps of {obs_size} observations; the "
            "run folder is damaged"
        )
    genuine = observation[:, :, ~is_model]
    if genuine.shape[2] == 0:
        raise UserError(f"{path} holds no genuine trial; the run folder is damaged")
    return np.ascontiguousarray(genuine.transpose(2, 0, 1), dtype=np.float32)


class RecordedGenuineScene(ColumnScene, ReplayScene):
    """A scene whose genuine trial (column 0) plays back recorded observations and whose
    model trial (column 1) is simulated by ``inner`` (the system's scene).

    Each :meth:`reset` starts the next recorded trial (in the order recorded, round again
    after the last).

    Args:
        inner: the system's own scene (it also simulates column 0, which is replaced).
        recorded: ``[trials, steps, obs]`` recorded genuine observations.
        source: what the genuine trials came from, for the column's title.
    """

    def __init__(self, inner: ReplayScene, recorded: np.ndarray, source: str):
        ReplayScene.__init__(self, inner.system, inner.options)
        self.supports_gui = inner.supports_gui
        self.inner, self.source = inner, source
        self.recorded = torch.from_numpy(recorded)
        self.index, self.t = -1, 0

    def reset(self, params: Tensor, noise: Noise) -> Tensor:
        self.index = (self.index + 1) % len(self.recorded)
        self.t = 0
        return self._splice(self.inner.reset(params, noise))

    def step(self, action: Tensor, noise: Noise) -> Tensor:
        self.t += 1
        return self._splice(self.inner.step(action, noise))

    def _splice(self, observation: Tensor) -> Tensor:
        observation = observation.clone()
        recorded = self.recorded[self.index, self.t]
        observation[:, 0] = recorded.to(device=observation.device, dtype=observation.dtype)
        return observation

    def picture(self, k: int, width: int, height: int) -> np.ndarray | None:
        if k == 1 and isinstance(self.inner, ColumnScene):
            return self.inner.picture(1, width, height)
        return None

    def titles(self, labels: tuple[str, str]) -> tuple[str, str]:
        return (f"{labels[0]} trial {self.index + 1}", labels[1])

    def show(self, view) -> None:
        ColumnScene.show(self, view)
        self.inner.show(view)

    def close(self) -> None:
        self.inner.close()
