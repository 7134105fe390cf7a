"""Replays of interrogation trials from a run folder (``turing replay``).

- :mod:`turing.replay.replay`: :class:`Replay` (an interrogator and a model of a finished
  run, played on the trial engine) and :func:`replay`;
- :mod:`turing.replay.scenes`: the scene protocol systems implement to draw a replay
  (:class:`ReplayScene`, :class:`SceneOptions`, :class:`StepView`) and the chart scene of
  systems without one;
- :mod:`turing.replay.columns`, :mod:`turing.replay.layout`, :mod:`turing.replay.panel`:
  the frames of the built-in scenes (two trial columns, the interrogator's judgement and
  inputs under each, texts that never overlap);
- :mod:`turing.replay.window`, :mod:`turing.replay.bullet_window`,
  :mod:`turing.replay.live`, :mod:`turing.replay.session`: the replay window (Tk, or
  PyBullet's GUI), its keys and pacing, and a session over several ranks;
- :mod:`turing.replay.player`: what plays a replay and draws its steps;
- :mod:`turing.replay.figure`: the replay figure and :class:`Episode`;
- :mod:`turing.replay.files`: video files and writable paths.
"""

from turing.replay.figure import Episode, draw_figure
from turing.replay.replay import Replay, ReplayResult, replay
from turing.replay.scenes import ChartScene, ReplayScene, SceneOptions, SimulatedScene, StepView

__all__ = [
    "ChartScene",
    "Episode",
    "Replay",
    "ReplayResult",
    "ReplayScene",
    "SceneOptions",
    "SimulatedScene",
    "StepView",
    "draw_figure",
    "replay",
]
