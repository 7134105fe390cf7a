"""A session in the replay window (``turing replay --gui``): replays of one interrogator
and one model after another in the same window, as its keys ask (``m``: the next model,
``i``: the next interrogator, by rank, wrapping around to the best).

Each (interrogator, model) pair writes its own figure and episodes (and video, if one is
asked for): the run's ``plots/replay-i{I}-m{M}-seed{S}.png`` by default; with ``--figure``
or ``--video``, the first pair's files are the ones named, later pairs' get
``-i{I}-m{M}`` added to the name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from turing.replay.player import lost_message
from turing.replay.replay import Replay, ReplayResult
from turing.replay.scenes import WINDOW_SIZE, SceneOptions


def watch(
    run_dir: str | os.PathLike,
    interrogator: int = 0,
    model: int = 0,
    size: tuple[int, int] | None = None,
    figure: str | os.PathLike | None = None,
    video: str | os.PathLike | None = None,
    renderer: str = "auto",
    window: str = "auto",
    **play: Any,
) -> list[tuple[Replay, ReplayResult]]:
    """Replays a run in a window, following the window's requests for other ranks.

    Args:
        run_dir: the run folder.
        interrogator: rank of the first interrogator (0 = best).
        model: rank of the first model.
        size: window size ``(width, height)`` (default 1280x720).
        figure, video: the first pair's figure and video (see the module's docstring).
        renderer: offscreen renderer of 3-D scenes.
        window: the kind of window (``auto``, ``tk``, ``pybullet``: see
            :func:`turing.replay.window.open_window`).
        **play: the rest of :meth:`Replay.play` (``trials``, ``seed``, ``fps``).

    Returns:
        every pair played: its :class:`Replay` and :class:`ReplayResult`, in order.

    Raises:
        UserError: as :meth:`Replay.play`, and for a system whose replay has no window.
    """
    from turing.replay.window import open_window

    size = tuple(int(v) + int(v) % 2 for v in (size or WINDOW_SIZE))
    replay = Replay(run_dir, interrogator, model)
    scene = replay.scene(_options(replay, size, renderer))  # no window for a scene without one
    results = []
    try:
        with open_window(size, window) as shown:
            shown.lost_message = lambda: lost_message([], None, None)
            while True:
                first = not results
                result = replay.play(
                    gui=True,
                    size=size,
                    renderer=renderer,
                    scene=scene,
                    window=shown,
                    figure=figure if first else _ranked(figure, replay),
                    video=video if first else _ranked(video, replay),
                    **play,
                )
                results.append((replay, result))
                if result.request is None or not shown.is_open():
                    break
                scene.close()
                replay = _next(replay, result.request)
                scene = replay.scene(_options(replay, size, renderer))
    finally:
        scene.close()
    return results


def _options(replay: Replay, size, renderer: str) -> SceneOptions:
    return SceneOptions(gui=True, size=size, labels=replay.labels, renderer=renderer)


def _next(replay: Replay, request: str) -> Replay:
    """The replay of the next model (or interrogator) by rank, after the last the best."""
    interrogator, model = replay.interrogator, replay.model
    if request == "model":
        model = (model + 1) % replay.model_count
    else:
        interrogator = (interrogator + 1) % replay.interrogator_count
    return Replay(replay.run_dir.path, interrogator, model)


def _ranked(path: str | os.PathLike | None, replay: Replay) -> Path | None:
    if path is None:
        return None
    path = Path(path)
    return path.with_name(f"{path.stem}-i{replay.interrogator}-m{replay.model}{path.suffix}")
