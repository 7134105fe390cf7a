"""Replay scenes: a system's view of a replay (a genuine and a model trial side by side in
a world it can draw), what is shown at each step, and the chart scene of systems without a
world of their own."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch

from turing.engine.random import Noise
from turing.replay.figure import Episode, draw_figure

Tensor = torch.Tensor

VIDEO_SIZE = (960, 540)
"""Default frame size of videos (pixels)."""
WINDOW_SIZE = (1280, 720)
"""Default size of the replay window (pixels)."""


@dataclass(frozen=True)
class SceneOptions:
    """How a scene is shown.

    Attributes:
        gui: the frames are shown in the replay window (:mod:`turing.replay.window`),
            which adds its key help to them; scenes render the same pictures either way.
        size: ``(width, height)`` of frames, pixels.
        labels: names of the two trials (``genuine``, ``model #0``).
        renderer: offscreen renderer for frames (``auto``, ``tiny``, ``egl``; see
            :class:`turing.envs.bullet_view.BulletView`).
    """

    gui: bool = False
    size: tuple[int, int] = VIDEO_SIZE
    labels: tuple[str, str] = ("genuine", "model")
    renderer: str = "auto"


@dataclass
class StepView:
    """What a scene shows at one step of one trial pair (arrays ``[..., 2]``: genuine, model).

    Attributes:
        trial: index of the pair in the replay.
        t: step (observation index), ``0 .. steps - 1``.
        steps: observations per trial.
        observation: ``[obs, 2]`` observation ``t``.
        judgement: ``[2]`` the interrogator's output 0 after reading it (>= 0.5: genuine).
        action: ``[act, 2]`` the input that produces observation ``t + 1`` (``None`` at the
            last step).
        labels: names of the two trials.
        caption: what is replayed (system, mode, interrogator), for the frame's header.

    A scene draws from these arrays only what it cannot simulate itself: a trial recorded
    elsewhere reaches it as the same views, one per step.
    """

    trial: int
    t: int
    steps: int
    observation: np.ndarray
    judgement: np.ndarray
    action: np.ndarray | None
    labels: tuple[str, str]
    caption: str = ""


class ReplayScene(ABC):
    """A system's view of a replay: simulates a genuine and a model trial side by side
    (trial axis last, ``n = 2``) and draws them.

    Subclasses implement :meth:`reset` and :meth:`step` (as :meth:`turing.System.reset` and
    :meth:`turing.System.step` for the two trials, drawing from the same noise),
    :meth:`show` and :meth:`frame`. The built-in scenes inherit
    :class:`turing.replay.columns.ColumnScene`, which gives ``show`` and ``frame`` (titles,
    verdicts, the interrogator's charts) and asks them only for each trial's picture.

    Args:
        system: the system.
        options: how to show it.

    Attributes:
        supports_gui: whether the replay window may show the scene (``--gui``).
    """

    supports_gui: bool = False

    def __init__(self, system, options: SceneOptions):
        self.system = system
        self.options = options

    @abstractmethod
    def reset(self, params: Tensor, noise: Noise) -> Tensor:
        """Starts the two trials with simulation parameters ``[S, 2]``, drawing from
        ``noise`` as :meth:`turing.System.reset` does; returns observation 0, ``[obs, 2]``."""

    @abstractmethod
    def step(self, action: Tensor, noise: Noise) -> Tensor:
        """Applies ``action`` ``[act, 2]``; returns the next observation ``[obs, 2]``."""

    @abstractmethod
    def show(self, view: StepView) -> None:
        """Draws the current step (after every observation, when a window or a video shows
        the replay)."""

    @abstractmethod
    def frame(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """The current picture, RGB ``[height, width, 3]`` uint8, of ``size = (width,
        height)`` (default: the options' size; the window asks for its own)."""

    def close(self) -> None:  # noqa: B027 (optional hook: most scenes hold nothing)
        """Releases clients."""


class SimulatedScene(ReplayScene):
    """A scene whose trials run on the system's own batched simulator (``n = 2``); the
    simulator's state is kept in :attr:`state` for drawing."""

    def reset(self, params: Tensor, noise: Noise) -> Tensor:
        self.params = params
        self.state, observation = self.system.reset(params, noise)
        return observation

    def step(self, action: Tensor, noise: Noise) -> Tensor:
        self.state, observation = self.system.step(self.state, self.params, action, noise)
        return observation


class ChartScene(SimulatedScene):
    """The scene of systems without one: the replay figure of the current trial, drawn up
    to the current step (videos only)."""

    def reset(self, params: Tensor, noise: Noise) -> Tensor:
        self._rows: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
        return super().reset(params, noise)

    def show(self, view: StepView) -> None:
        if view.t == 0:
            self._rows = []
        self._rows.append((view.observation, view.judgement, view.action))
        self._view = view

    def frame(self, size: tuple[int, int] | None = None) -> np.ndarray:
        view = self._view
        observation = np.stack([r[0] for r in self._rows])
        judgement = np.stack([r[1] for r in self._rows])
        actions = [r[2] for r in self._rows if r[2] is not None]
        action = np.stack(actions) if actions else np.zeros((0, self.system.action_size, 2))
        episode = Episode(observation, judgement, action, judgement[-1] >= 0.5)
        width, height = size or self.options.size
        dpi = 100
        fig = draw_figure(
            self.system, [episode], view.labels, view.steps, figsize=(width / dpi, height / dpi)
        )
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
        fig.set_dpi(dpi)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()
