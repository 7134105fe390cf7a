"""The optional hooks of a system: how its results are summarised and shown.

The simulator contract (:class:`turing.System`) is what every method needs. These hooks
are what a run's report, its figures and ``turing replay`` may ask of a system in
addition; each has a default, so a system implements only those it wants. Inherit
:class:`Presentation` next to :class:`~turing.System` to document that it does (the
built-in systems do), or simply define the methods: :func:`presentation` finds them
either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Presentation:
    """Hooks with defaults: a system's summary numbers, figures and replay scene."""

    def metrics(self, estimate: Mapping[str, float], truth: Any) -> dict[str, Any]:
        """System-specific summary numbers of one estimate (e.g. a mean angle error), given
        the genuine system (a :class:`turing.Truth`). Scalars become ``metrics.csv``
        columns and ``result.json`` entries; lists go to ``result.json`` only."""
        return {}

    def plot(self, result: Any, folder: Any) -> list[Any]:
        """Draws system-specific figures of a finished run (a :class:`turing.Result`) into
        ``folder``; returns their paths."""
        return []

    def replay_scene(self, options: Any) -> Any | None:
        """The scene that shows ``turing replay`` of this system, or ``None`` (the default).

        A scene (a :class:`turing.replay.ReplayScene`) simulates a genuine and a model
        trial side by side in a world it can draw: a PyBullet window, frames for videos.
        Without one, a replay runs the trials on the system's own ``reset`` and ``step``
        and draws them as a chart (observations, inputs and the interrogator's judgement
        over time). Import the scene's dependencies inside this method: replays are rare,
        imports of the system are not.

        Args:
            options: a :class:`turing.replay.SceneOptions` (window or headless, frame size,
                the trials' labels).
        """
        return None


_DEFAULTS = Presentation()


class _Hooks:
    """A system's hooks: its own where it defines them, the defaults elsewhere."""

    def __init__(self, system: Any):
        self.system = system

    def __getattr__(self, name: str):
        if name not in ("metrics", "plot", "replay_scene"):
            raise AttributeError(name)
        return getattr(self.system, name, None) or getattr(_DEFAULTS, name)


def presentation(system: Any) -> Presentation:
    """The presentation hooks of ``system`` (its own methods, or the defaults)."""
    return _Hooks(system)  # type: ignore[return-value]
