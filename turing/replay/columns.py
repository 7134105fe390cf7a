"""Replay frames in two columns: the genuine trial on the left, the model on the right,
each with its title, its picture and, under it, what the interrogator makes of it
(:mod:`turing.replay.panel`), laid out by :class:`turing.replay.layout.FrameLayout`.

A scene that inherits :class:`ColumnScene` only draws each trial's world into a picture
of a given size (:meth:`ColumnScene.picture`); the titles, the step counter, the verdicts,
the charts and the key help are placed here, the same way for every system, in videos
and in the window alike.
"""

from __future__ import annotations

import numpy as np

from turing.replay.layout import Box, FrameLayout, write
from turing.replay.panel import TRIAL_COLORS, TrialHistory, action_status, chart, draw_panel

KEYS_HELP = (
    "space pause/resume   s one step   t next trial   m next model   i next interrogator   q quit"
)
"""The replay window's keys (:mod:`turing.replay.live`), shown in its footer."""
LEGEND = "left: genuine system, right: model; judgement >= 0.5 means judged genuine"
"""The videos' footer (a video has no keys)."""
BACKGROUND = (255, 255, 255)


class ColumnScene:
    """Mixin of replay scenes drawn as two columns (put it before
    :class:`~turing.replay.ReplayScene` in the bases). A scene implements
    :meth:`picture`, and may override :meth:`status` and :meth:`titles`.

    Needs ``self.system`` and ``self.options`` (set by :class:`~turing.replay.ReplayScene`).

    Attributes:
        note: a word on the replay's state written after the step counter (the window
            sets ``paused`` or ``trial over``).
    """

    note: str = ""

    def picture(self, k: int, width: int, height: int) -> np.ndarray | None:
        """Trial ``k``'s world (0 genuine, 1 model) as RGB ``[height', width', 3]``, at most
        ``width`` x ``height`` (centred in its box), or ``None`` to chart its observations."""
        return None

    def status(self, view, k: int) -> str:
        """One short line on trial ``k`` at this step (default: the inputs set next)."""
        return action_status(self.system, None if view.action is None else view.action[:, k])

    def titles(self, labels: tuple[str, str]) -> tuple[str, str]:
        """The columns' titles (default: the trials' labels)."""
        return labels

    # ------------------------------------------------------------------ ReplayScene
    def show(self, view) -> None:
        if not hasattr(self, "history"):
            self.history = TrialHistory(self.system)
        self.history.add(view, (self.status(view, 0), self.status(view, 1)))

    def frame(self, size: tuple[int, int] | None = None) -> np.ndarray:
        from PIL import Image, ImageDraw

        size = tuple(int(v) for v in (size or self.options.size))
        layout = FrameLayout.for_size(size)
        image = Image.new("RGB", size, BACKGROUND)
        draw = ImageDraw.Draw(image)
        history = getattr(self, "history", None)
        view = history.view if history is not None else None
        if view is None:
            return np.asarray(image)
        counter = f"trial {view.trial + 1}   step {view.t + 1}/{view.steps}"
        write(draw, f"{counter}   {self.note}" if self.note else counter, layout.header, bold=True)
        write(draw, getattr(view, "caption", ""), layout.caption, color=(90, 90, 90), align="right")
        footer = KEYS_HELP if self.options.gui else LEGEND
        write(draw, footer, layout.footer, color=(80, 80, 80), align="centre", largest=0.62)
        for k, (column, title) in enumerate(
            zip(layout.columns, self.titles(view.labels), strict=True)
        ):
            swatch = Box(column.title.x0, column.title.y0, column.title.x0 + column.title.height // 2,
                         column.title.y1)  # fmt: skip
            draw.rectangle((swatch.x0, swatch.y0 + swatch.height // 4, swatch.x1,
                            swatch.y1 - swatch.height // 4), fill=TRIAL_COLORS[k])  # fmt: skip
            write(draw, title, Box(swatch.x1 + max(2, swatch.width // 2), column.title.y0,
                                   column.title.x1, column.title.y1), bold=True)  # fmt: skip
            self._paste(image, draw, k, column.picture, history, view.steps)
            draw_panel(draw, column, self.system, k, history, view.steps)
        return np.asarray(image)

    def _paste(self, image, draw, k: int, box: Box, history, steps: int) -> None:
        if box.width < 4 or box.height < 4:
            return
        picture = self.picture(k, box.width, box.height)
        if picture is None:
            # No world to draw (e.g. a recorded trial): its observations over the steps.
            observation = history.observation[:, :, k]
            low = float(np.nanmin(history.observation)) if history.observation.size else 0.0
            high = float(np.nanmax(history.observation)) if history.observation.size else 1.0
            series = [(observation[:, i], (90, 90, 90), 1.0) for i in range(observation.shape[1])]
            chart(draw, box, series, low, high if high > low else low + 1.0, steps,
                  [("observations (no picture of this trial)", (90, 90, 90))])  # fmt: skip
            return
        from PIL import Image

        picture = np.ascontiguousarray(picture[: box.height, : box.width, :3], dtype=np.uint8)
        h, w = picture.shape[:2]
        image.paste(
            Image.fromarray(picture),
            (box.x0 + (box.width - w) // 2, box.y0 + (box.height - h) // 2),
        )
