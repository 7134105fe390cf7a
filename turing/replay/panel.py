"""What the interrogator does, drawn live under each trial: its running judgement and the
inputs it sets, step by step (the replay figure's rows, as they grow), and the one-line
verdict and status above them.

Everything here is drawn from the per-step arrays a scene is given (a
:class:`~turing.replay.StepView` per step), never from a simulator, so a trial that was
recorded elsewhere is drawn like one simulated in the scene.
"""

from __future__ import annotations

import numpy as np

from turing.replay.layout import Box, write, write_parts

TRIAL_COLORS = ((38, 115, 217), (230, 128, 26))
"""Genuine (blue) and model (orange), as the e-puck bodies."""
RIGHT = (25, 128, 25)
WRONG = (204, 26, 26)
ACTION_COLORS = ((90, 90, 90), (148, 103, 189), (23, 190, 207), (188, 189, 34), (140, 86, 75))
GRID = (190, 190, 190)
GRID_TEXT = (130, 130, 130)
FRAME = (170, 170, 170)


def verdict(judgement: float, genuine: bool) -> tuple[str, tuple[int, int, int]]:
    """The running verdict on a trial, and its colour (green if right, red if wrong)."""
    judged = judgement >= 0.5
    text = f"judged {'genuine' if judged else 'counterfeit'} ({judgement:.2f})"
    return text, RIGHT if judged == genuine else WRONG


def action_status(system, action: np.ndarray | None) -> str:
    """The inputs set for the next step, by name (``left_wheel +0.42  right_wheel -0.10``)."""
    if action is None:
        return "last step"
    names = list(getattr(system, "action_names", ()) or ())
    values = np.asarray(action, dtype=np.float64).reshape(-1)
    if len(names) != len(values):
        names = [f"input {i}" for i in range(len(values))]
    if len(values) > 4:
        return f"{len(values)} inputs, mean {values.mean():+.2f}"
    return "  ".join(f"{n} {v:+.2f}" for n, v in zip(names, values, strict=True))


def chart(
    draw,
    box: Box,
    series: list[tuple[np.ndarray, tuple[int, int, int], float]],
    low: float,
    high: float,
    steps: int,
    legend: list[tuple[str, tuple[int, int, int]]] = (),
    reference: float | None = None,
) -> None:
    """A small line chart in ``box``: a ``legend`` strip (coloured names) on top, then each
    series ``(values, colour, width)`` over the steps ``0 .. steps - 1``, y from ``low`` to
    ``high``, a dotted ``reference`` line, and a dot on each series' latest value."""
    if box.width < 8 or box.height < 6 or not high > low:
        return
    draw.rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), outline=FRAME, fill=(255, 255, 255))
    strip = max(7, min(18, round(0.24 * box.height))) if legend and box.height >= 24 else 0
    if strip:
        write_parts(draw, list(legend), Box(box.x0 + 3, box.y0 + 1, box.x1 - 3, box.y0 + strip))
    inner = Box(box.x0 + 3, box.y0 + strip + 2, box.x1 - 4, box.y1 - 4)
    if inner.height < 2:
        return
    span_x = max(1, steps - 1)

    def xy(t: np.ndarray, v: np.ndarray) -> list[tuple[float, float]]:
        x = inner.x0 + t / span_x * inner.width
        y = inner.y1 - (np.clip(v, low, high) - low) / (high - low) * inner.height
        return list(zip(x.tolist(), y.tolist(), strict=True))

    if reference is not None and low < reference < high:
        y = xy(np.array([0.0]), np.array([reference]))[0][1]
        for x in range(inner.x0, inner.x1, 6):
            draw.line((x, y, min(x + 2, inner.x1), y), fill=GRID, width=1)
    scale = max(1.0, box.height / 60)
    for values, color, width in series:
        values = np.asarray(values, dtype=np.float64)
        if not len(values):
            continue
        points = xy(np.arange(len(values), dtype=np.float64), values)
        if len(points) > 1:
            draw.line(points, fill=color, width=max(1, round(width * scale)), joint="curve")
        x, y = points[-1]
        r = max(1.5, 1.6 * width * scale)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=color)


def draw_panel(draw, column, system, k: int, history, steps: int) -> None:
    """The verdict, status and charts of trial ``k`` (0 genuine, 1 model) in ``column``
    (a :class:`~turing.replay.layout.Column`), from ``history`` (a :class:`TrialHistory`)."""
    judgement = history.judgement[:, k]
    text, color = verdict(float(judgement[-1]), k == 0)
    write(draw, text, column.verdict, color=color, bold=True)
    write(draw, history.status[k], column.status, color=(60, 60, 60), align="right")
    chart(
        draw,
        column.judgement,
        [(judgement, TRIAL_COLORS[k], 1.6)],
        0.0,
        1.0,
        steps,
        [("judgement", TRIAL_COLORS[k]), ("above the dotted line: judged genuine", GRID_TEXT)],
        reference=0.5,
    )
    low, high = float(system.action_low), float(system.action_high)
    if not (np.isfinite(low) and np.isfinite(high)):
        finite = history.action[np.isfinite(history.action)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        if not high > low:
            low, high = low - 1.0, high + 1.0
    actions = history.action[:, :, k]
    series = [
        (actions[:, i], ACTION_COLORS[i % len(ACTION_COLORS)], 1.0)
        for i in range(min(actions.shape[1], len(ACTION_COLORS)))
    ]
    legend = [("inputs", GRID_TEXT)]
    legend += [
        (name, color) for name, (_, color, _) in zip(history.action_names, series, strict=False)
    ]
    chart(
        draw, column.actions, series, low, high, steps, legend,
        reference=0.0 if low < 0 < high else None,
    )  # fmt: skip


class TrialHistory:
    """The per-step arrays of the trial pair being shown, grown one
    :class:`~turing.replay.StepView` at a time (restarted at step 0)."""

    def __init__(self, system):
        self.system = system
        names = list(getattr(system, "action_names", ()) or ())
        if len(names) != system.action_size:
            names = [f"input {i}" for i in range(system.action_size)]
        self.action_names = names
        self.clear()

    def clear(self) -> None:
        self.observation = np.zeros((0, self.system.observation_size, 2))
        self.judgement = np.zeros((0, 2))
        self.action = np.zeros((0, self.system.action_size, 2))
        self.status = ["", ""]
        self.view = None

    def add(self, view, status: tuple[str, str]) -> None:
        if view.t == 0 or self.view is None or view.trial != self.view.trial:
            self.clear()
        self.view = view
        self.observation = np.concatenate([self.observation, np.asarray(view.observation)[None]])
        self.judgement = np.concatenate([self.judgement, np.asarray(view.judgement)[None]])
        if view.action is not None:
            self.action = np.concatenate([self.action, np.asarray(view.action)[None]])
        self.status = list(status)
