"""Figures of a ``sensor-self-id`` run: the inferred sensor layout and how its errors fell.

``layout.png``: the e-puck's body seen from above (forward = up), the genuine sensors
(where they sit and where they face) and, over them, the sensors of the run's estimates
(best model, top-10 median), each numbered, so one glance shows which sensors were found
and which were confused. ``sensor_errors.png``: per generation, the angle error (deg) and
the radius error (cm) of the top-10 median, one thin line per sensor and a thick line for
the mean (and a dashed line for the best model's mean). Both are drawn from the run folder
alone.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt
import numpy as np

from turing.contracts.system import Truth
from turing.envs.epuck import constants as C

N = C.N_SENSORS
_ARROW = 1.6  # cm drawn per facing arrow
_ESTIMATES = (
    ("best", "best model", "tab:red", "o"),
    ("top10_median", "top-10 median", "tab:blue", "s"),
)


def _to_view(x: float, y: float) -> tuple[float, float]:
    # Body frame has x forward, y left; the figure shows forward up, left to the left.
    return -y, x


def _draw_sensor(ax, x, y, facing, color, marker, label, index, size=40, zorder=3, inside=0.78):
    """A sensor: a marker where it sits, an arrow where it faces, its number next to it
    (towards the body's centre, away from the arrows)."""
    px, py = _to_view(x, y)
    dx, dy = _to_view(_ARROW * math.cos(facing), _ARROW * math.sin(facing))
    ax.scatter([px], [py], s=size, color=color, marker=marker, zorder=zorder, label=label)
    ax.annotate(
        "",
        xy=(px + dx, py + dy),
        xytext=(px, py),
        arrowprops={"arrowstyle": "->", "color": color, "lw": 1.2},
        zorder=zorder,
    )
    ax.text(
        px * inside,
        py * inside,
        str(index),
        fontsize=7,
        ha="center",
        va="center",
        color=color,
        zorder=zorder,
    )


def plot_layout(system: Any, result: Any, truth: Truth, path: Path) -> Path:
    """Draws the genuine and the estimated sensor layouts on the body (top view).

    Args:
        system: the ``sensor-self-id`` system.
        result: the finished run (:class:`turing.Result`).
        truth: the run's genuine robot.
        path: where to save the PNG.

    Returns:
        ``path``.
    """
    fig, ax = plt.subplots(figsize=(5.6, 5.6))
    ax.add_patch(
        plt.Circle((0, 0), C.BODY_RADIUS, facecolor="0.93", edgecolor="0.4", lw=1.5, zorder=1)
    )
    # The direction of travel, outside the body where nothing else is drawn.
    top = C.BODY_RADIUS + _ARROW + 0.3
    ax.annotate(
        "",
        xy=(-top, 1.2),
        xytext=(-top, -1.2),
        arrowprops={"arrowstyle": "-|>", "color": "0.6", "lw": 2},
    )
    ax.text(-top + 0.25, 0, "forward", rotation=90, ha="left", va="center", fontsize=8, color="0.5")
    sim = truth.simulation
    for i in range(N):
        _draw_sensor(
            ax,
            sim[i],
            sim[N + i],
            sim[2 * N + i],
            "k",
            "D",
            "genuine" if i == 0 else None,
            i,
            size=50,
            zorder=2,
        )
    for key, label, color, marker in _ESTIMATES:
        estimate = result.estimates.get(key)
        if not estimate:
            continue
        for i in range(N):
            theta, r = estimate[f"theta_{i}"], estimate[f"r_{i}"]
            _draw_sensor(
                ax,
                r * math.cos(theta),
                r * math.sin(theta),
                theta,
                color,
                marker,
                label if i == 0 else None,
                i,
                size=28,
                inside=1.25,
            )
    metrics = system.metrics(result.estimates["best"], truth)
    ax.set_title(
        f"{result.system} | {result.mode} | seed {result.seed}\n"
        f"best model: mean angle error {metrics['mean_angle_error_deg']:.1f} deg, "
        f"radius error {metrics['mean_radius_error_cm']:.2f} cm",
        fontsize=9,
    )
    limit = C.BODY_RADIUS + _ARROW + 0.6
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xlabel("left <-  body frame (cm)  -> right")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    ax.grid(alpha=0.2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_errors(result: Any, path: Path) -> Path | None:
    """Draws the angle and radius errors per generation (from ``metrics.csv``).

    Returns:
        ``path``, or ``None`` if the run recorded no per-generation errors.
    """
    history = result.history
    if "generation" not in history or "error_top10_theta_0" not in history:
        return None
    generation = history["generation"]
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 3.8), sharex=True)
    panels = (
        (axes[0], "theta", np.degrees, "angle error (deg)", "mean_angle_error_deg"),
        (axes[1], "r", lambda v: v, "radius error (cm)", "mean_radius_error_cm"),
    )
    colors = plt.get_cmap("tab10")
    for ax, name, convert, label, mean_key in panels:
        per_sensor = np.array([convert(history[f"error_top10_{name}_{i}"]) for i in range(N)])
        for i in range(N):
            ax.plot(
                generation, per_sensor[i], lw=0.7, alpha=0.55, color=colors(i), label=f"sensor {i}"
            )
        ax.plot(generation, per_sensor.mean(0), lw=2.0, color="k", label="mean (top-10 median)")
        if f"{mean_key}_best" in history:
            ax.plot(
                generation,
                history[f"{mean_key}_best"],
                lw=1.0,
                ls="--",
                color="0.4",
                label="mean (best model)",
            )
        ax.set_ylabel(label)
        ax.set_xlabel("generation")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].set_ylim(0, 180)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(f"{result.system} | {result.mode} | seed {result.seed}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
