"""Playing a replay: the trial engine over a scene, and every step drawn where it is
shown (the replay window, a video), paced by the window's controls."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import torch

from turing.engine import Engine, Noise
from turing.replay.figure import Episode
from turing.replay.files import open_video
from turing.replay.live import Controls
from turing.replay.scenes import ChartScene, ReplayScene, StepView

Tensor = torch.Tensor


class Player:
    """What one :meth:`turing.replay.Replay.play` holds while it plays: the engine over
    the scene, the video writer, the window and its controls; draws each step where it is
    shown.

    Args:
        replay: the :class:`~turing.replay.Replay` (its ``play_trial`` plays a pair).
        scene: the scene.
        seed: the replay's seed.
        video_path: where the video goes (``None``: no video).
        fps: frames per second of the video and pace of the window.
    """

    def __init__(self, replay, scene: ReplayScene, seed: int, video_path: Path | None, fps: float):
        self.replay, self.scene, self.seed = replay, scene, seed
        self.video_path, self.fps = video_path, fps
        self.engine = Engine(SceneSystem(scene), replay.steps, backend="eager")
        self.writer = None
        self.window = None
        self.controls = None
        self._owned: list[Any] = []

    def own(self, thing):
        self._owned.append(thing)
        return thing

    def start(self, window) -> None:
        self.window = window
        if self.video_path is not None:
            self.writer = open_video(self.video_path, self.fps)
        if window is not None:
            self.controls = Controls(window, self.fps, redraw=self.redraw, note=self.note)

    def redraw(self) -> None:
        """The current step again, at the window's (new) size."""
        if getattr(self.scene, "history", None) is not None or isinstance(self.scene, ChartScene):
            with contextlib.suppress(AttributeError):  # nothing shown yet
                self.window.show(self.scene.frame(self.window.size))

    def note(self, text: str) -> None:
        """A word on the replay's state (paused, trial over) in the window's frame."""
        if hasattr(self.scene, "note") and self.scene.note != text:
            self.scene.note = text
            self.redraw()

    def draw(self, view: StepView) -> None:
        if self.window is None and self.writer is None:
            return  # drawing is for the eyes only
        self.scene.show(view)
        shown = None
        if self.window is not None:
            shown = self.scene.frame(tuple(self.window.size))
            self.window.show(shown)
        if self.writer is not None:
            size = self.scene.options.size
            if shown is None or shown.shape[:2] != (size[1], size[0]):
                shown = self.scene.frame(size)
            self.writer.append_data(shown)
        if self.controls is not None:
            self.controls.step()

    def trial(self, index: int) -> tuple[Episode | None, str | None]:
        return self.replay.play_trial(self.engine, index, self.seed, self.draw)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        for thing in reversed(self._owned):
            thing.close()
        self._owned.clear()


def lost_message(episodes: list[Episode], figure: Path | None, data: Path | None) -> str:
    """The line said when the window is closed or its display goes away."""
    if not episodes:
        return "turing replay: the window was closed (or its display went away) before a trial ended; nothing saved"
    return (
        f"turing replay: the window was closed (or its display went away); the {len(episodes)} "
        f"trial pair(s) played to the end are saved in {figure} and {data}"
    )


class SceneSystem:
    """A replay scene as the engine's system: the scene simulates (and draws) the two
    trials; everything else (sizes, bounds, the passive controller) is the system's."""

    def __init__(self, scene: ReplayScene):
        self.scene = scene
        self.system = scene.system

    def __getattr__(self, name: str):
        return getattr(self.system, name)

    def native_kernel(self, steps: int):
        return None

    def reset(self, params: Tensor, noise: Noise, start=None):
        return None, self.scene.reset(params, noise)

    def step(self, state, params: Tensor, action: Tensor, noise: Noise):
        return None, self.scene.step(action, noise)
