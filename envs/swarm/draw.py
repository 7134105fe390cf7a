"""2-D drawings of swarms (matplotlib): the Gymnasium env's frames and the replay scene's.

A swarm is drawn from above around its centroid: each robot a disc with a tick towards
its heading, the robots running the focal controller outlined (the focal robot, whose
motion the interrogator sees, filled orange), and every robot's trail coloured by the
reading its controller acted on at that step (grey: nothing ahead, red: a robot ahead, with
a red dot where it happened, since the genuine robots then turn on the spot). A robot that
sees another draws its line of sight.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from turing.envs.swarm import sim

SEES = "#d62728"
CLEAR = "#9a9a9a"
FOCAL = "#ff7f0e"
GENUINE_BODY = "#4c72b0"
VIEW_HALF_WIDTH = 90.0
"""cm shown either side of the centroid (at least: a wider swarm widens the view)."""


@dataclass
class Trail:
    """What one swarm did so far: poses ``[T, 3, N]`` and readings ``[T, N]`` (the reading
    acted on in the step that led to each pose; at reset, what the robots see)."""

    poses: list[np.ndarray] = field(default_factory=list)
    seen: list[np.ndarray] = field(default_factory=list)

    def add(self, pose: np.ndarray, seen: np.ndarray) -> None:
        self.poses.append(np.asarray(pose, dtype=np.float64))
        self.seen.append(np.asarray(seen, dtype=bool))


def draw_swarm(ax, trail: Trail, replicas: int, title: str = "", tail: int = 100) -> None:
    """Draws a swarm's last pose and its trail (the last ``tail`` steps) into ``ax``."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Circle

    poses = np.stack(trail.poses[-tail - 1 :])  # [T, 3, N]
    seen = np.stack(trail.seen[-tail - 1 :])  # [T, N]
    x, y, heading = poses[-1]
    cx, cy = float(x.mean()), float(y.mean())
    half = max(VIEW_HALF_WIDTH, float(np.max(np.hypot(x - cx, y - cy))) + 10.0)
    if len(poses) > 1:
        start = poses[:-1, :2].transpose(0, 2, 1).reshape(-1, 2)
        end = poses[1:, :2].transpose(0, 2, 1).reshape(-1, 2)
        colours = np.where(seen[1:].reshape(-1), SEES, CLEAR)
        ax.add_collection(
            LineCollection(np.stack([start, end], axis=1), colors=colours, linewidths=1.2)
        )
        # A robot that sees another turns on the spot: mark where, the segment is short.
        hits = seen[1:].reshape(-1)
        ax.scatter(end[hits, 0], end[hits, 1], s=6, color=SEES, zorder=2, linewidths=0)
    r = sim.BODY_RADIUS
    for i in range(len(x)):
        focal = i == 0
        body = FOCAL if focal else (GENUINE_BODY if i >= replicas else "#dd8452")
        ax.add_patch(
            Circle(
                (x[i], y[i]),
                r,
                facecolor=body,
                edgecolor="black" if i < replicas else "white",
                linewidth=1.2,
                zorder=3,
            )
        )
        ux, uy = np.cos(heading[i]), np.sin(heading[i])
        ax.plot([x[i], x[i] + r * ux], [y[i], y[i] + r * uy], color="black", lw=1.0, zorder=4)
        if seen[-1, i]:
            ax.plot(
                [x[i] + r * ux, x[i] + 2 * half * ux],
                [y[i] + r * uy, y[i] + 2 * half * uy],
                color=SEES,
                lw=0.6,
                alpha=0.5,
                zorder=2,
            )
    ax.set_xlim(cx - half, cx + half)
    ax.set_ylim(cy - half, cy + half)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def render(figure) -> np.ndarray:
    """The figure's pixels, RGB ``[height, width, 3]`` uint8."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def frame(
    trails: list[Trail],
    titles: list[str],
    replicas: list[int],
    size: tuple[int, int],
    caption: str = "",
) -> np.ndarray:
    """One picture of swarms side by side, ``size = (width, height)`` pixels."""
    from matplotlib.figure import Figure

    dpi = 100
    figure = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    axes = figure.subplots(1, len(trails), squeeze=False)[0]
    for ax, trail, title, k in zip(axes, trails, titles, replicas, strict=True):
        draw_swarm(ax, trail, k, title)
    if caption:
        # A character is about 0.6 em wide: shrink the caption to the frame's width.
        fontsize = max(4.0, min(8.0, size[0] / (0.85 * len(caption))))
        figure.text(0.5, 0.01, caption, ha="center", va="bottom", fontsize=fontsize)
    figure.tight_layout(rect=(0, 0.05 if caption else 0, 1, 1))
    return render(figure)


def picture(trail: Trail, replicas: int, size: tuple[int, int]) -> np.ndarray:
    """One swarm alone (no title), ``size = (width, height)`` pixels: a replay's column."""
    from matplotlib.figure import Figure

    dpi = 100
    figure = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    ax = figure.add_axes((0.005, 0.005, 0.99, 0.99))  # the frame's lines stay in
    draw_swarm(ax, trail, replicas)
    ax.set_anchor("C")
    return render(figure)
