"""Where the parts of a replay frame go, and text that stays inside its box.

A replay frame (a video frame or the window's picture) is laid out, for any size, as::

    +------------------------------------------------------------+
    | trial 1 | step 61/100                    run, interrogator  |  header
    +-----------------------------+------------------------------+
    | genuine                     | model #0                     |  titles
    |        picture of the       |        picture of the        |  pictures
    |        genuine trial        |        model trial           |
    | judged genuine (0.71)  ...  | judged counterfeit (0.22) .. |  verdicts
    | judgement over the steps    | judgement over the steps     |  charts
    | actions over the steps      | actions over the steps       |
    +------------------------------------------------------------+
    | keys (window) or legend (video)                            |  footer
    +------------------------------------------------------------+

Every text is written into its own box, and boxes never overlap: a text too long for its
box is set in a smaller font, down to :data:`MIN_FONT` pixels, then cut short with an
ellipsis. So labels cannot run into each other at any frame size; at tiny sizes they get
small, never tangled.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

MIN_FONT = 7
"""Smallest font size (pixels) a text is shrunk to before it is shortened instead."""


@dataclass(frozen=True)
class Box:
    """A rectangle of pixels: ``x0 <= x < x1``, ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return max(0, self.x1 - self.x0)

    @property
    def height(self) -> int:
        return max(0, self.y1 - self.y0)

    def overlaps(self, other: Box) -> bool:
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1
        )

    def split(self, fraction: float, gap: int = 0) -> tuple[Box, Box]:
        """Left and right parts: the left takes ``fraction`` of the width (less half the gap)."""
        middle = self.x0 + round(self.width * fraction)
        half = gap // 2
        return (
            Box(self.x0, self.y0, max(self.x0, middle - half), self.y1),
            Box(min(self.x1, middle + gap - half), self.y0, self.x1, self.y1),
        )


@dataclass(frozen=True)
class Column:
    """The boxes of one trial's column."""

    title: Box
    picture: Box
    verdict: Box
    status: Box
    judgement: Box
    actions: Box


@dataclass(frozen=True)
class FrameLayout:
    """The boxes of a frame of ``size = (width, height)`` pixels with two trial columns."""

    size: tuple[int, int]
    header: Box
    caption: Box
    columns: tuple[Column, ...]
    footer: Box

    @classmethod
    def for_size(cls, size: tuple[int, int], columns: int = 2) -> FrameLayout:
        width, height = (int(v) for v in size)

        def rows(share: float, low: int, high: int) -> int:
            return max(low, min(high, round(share * height)))

        bar, title, verdict, chart = (
            rows(0.05, 8, 34),
            rows(0.045, 8, 30),
            rows(0.04, 7, 26),
            rows(0.1, 8, 96),
        )
        fixed = 2 * bar + title + verdict + 2 * chart + 2
        if fixed > height:  # a tiny frame: every row shrinks alike, nothing overlaps
            bar, title, verdict, chart = (
                int(v * (height - 2) / (fixed - 2)) for v in (bar, title, verdict, chart)
            )
        gap = max(2, round(0.015 * width))
        margin = max(1, round(0.006 * width))
        header = Box(margin, 0, width - margin, bar)
        left, right = header.split(0.45, gap)
        footer = Box(margin, height - bar, width - margin, height)
        top, bottom = header.y1, footer.y0
        picture_height = max(0, bottom - top - title - verdict - 2 * chart - 2)
        span = width - 2 * margin - (columns - 1) * gap
        boxes = []
        for k in range(columns):
            x0 = margin + k * (span // columns + gap)
            x1 = x0 + span // columns
            y = top
            title_box = Box(x0, y, x1, y + title)
            y = title_box.y1
            picture = Box(x0, y, x1, y + picture_height)
            y = picture.y1 + 1
            verdict_box, status_box = Box(x0, y, x1, y + verdict).split(0.5, gap)
            y += verdict
            judgement = Box(x0, y, x1, y + chart)
            actions = Box(x0, judgement.y1 + 1, x1, judgement.y1 + 1 + chart)
            boxes.append(Column(title_box, picture, verdict_box, status_box, judgement, actions))
        return cls((width, height), left, right, tuple(boxes), footer)

    def text_boxes(self) -> list[Box]:
        """Every box a text goes into (they never overlap one another)."""
        found = [self.header, self.caption, self.footer]
        for column in self.columns:
            found += [column.title, column.verdict, column.status]
        return found


# ----------------------------------------------------------------------------- text
@cache
def font(pixels: int, bold: bool = False):
    """DejaVu Sans (shipped with matplotlib) at ``pixels`` pixels."""
    from matplotlib import font_manager
    from PIL import ImageFont

    path = font_manager.findfont(
        font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
    )
    return ImageFont.truetype(path, max(1, int(pixels)))


def write(
    draw,
    text: str,
    box: Box,
    color=(20, 20, 20),
    bold: bool = False,
    align: str = "left",
    largest: float = 0.72,
) -> Box | None:
    """Writes ``text`` inside ``box``: as large as ``largest`` times the box's height
    allows, smaller if it is too wide, shortened with an ellipsis below :data:`MIN_FONT`.

    Returns:
        the pixels the text covers (inside ``box``), or ``None`` if nothing fits.
    """
    if not text or box.width < 4 or box.height < 4:
        return None
    pixels = max(1, min(round(largest * box.height), box.height))
    face = font(pixels, bold)
    while pixels > MIN_FONT and face.getlength(text) > box.width:
        pixels = max(MIN_FONT, min(pixels - 1, int(pixels * box.width / face.getlength(text))))
        face = font(pixels, bold)
    if face.getlength(text) > box.width:
        while len(text) > 1 and face.getlength(text + "…") > box.width:
            text = text[:-1]
        text = text.rstrip() + "…"
        if face.getlength(text) > box.width:
            return None
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=face, anchor="ls")
    if y1 - y0 > box.height:
        return None
    length = x1 - x0
    if align == "centre":
        x = box.x0 + (box.width - length) / 2 - x0
    elif align == "right":
        x = box.x1 - length - x0
    else:
        x = box.x0 - x0
    # The baseline where the text's ink sits centred in the box's height.
    y = box.y0 + (box.height - (y1 - y0)) / 2 - y0
    draw.text((x, y), text, fill=color, font=face, anchor="ls")
    return Box(round(x + x0), round(y + y0), round(x + x1), round(y + y1))


def write_parts(
    draw, parts: list[tuple[str, tuple[int, int, int]]], box: Box, largest: float = 0.8
) -> None:
    """Writes coloured ``parts`` one after the other in ``box`` (a legend), in the font
    that fits them all, dropping the last ones if even :data:`MIN_FONT` is too large."""
    gap = "   "
    while parts:
        text = gap.join(t for t, _ in parts)
        pixels = max(1, min(round(largest * box.height), box.height))
        face = font(pixels)
        while pixels > MIN_FONT and face.getlength(text) > box.width:
            pixels -= 1
            face = font(pixels)
        if face.getlength(text) <= box.width and pixels <= box.height:
            break
        parts = parts[:-1]
    if not parts or box.width < 4:
        return
    _, top, _, bottom = draw.textbbox((0, 0), "Hg", font=face, anchor="ls")
    y = box.y0 + (box.height - (bottom - top)) / 2 - top
    x = float(box.x0)
    for text, color in parts:
        draw.text((x, y), text, fill=color, font=face, anchor="ls")
        x += face.getlength(text + gap)
