"""Whole swarms running one controller: how well they aggregate (dispersion over time).

What Turing Learning infers is one robot's controller; what it is for is the swarm's
behaviour. :func:`simulate_aggregation` runs homogeneous swarms (every robot on the same
controller, no interrogator) of several controllers from the same start conditions (swarm
``s`` of every controller starts from start stream ``s``) and records their dispersion
(Gauci et al.'s second moment, :func:`turing.envs.swarm.sim.dispersion`) after every control
step; :func:`aggregation_summary` reduces it to the numbers a report needs and
:func:`plot_aggregation` draws it with the swarms' final configurations. It runs the torch
simulator (the reference), so it records every robot's pose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from turing.engine import Noise, stream_key
from turing.envs.swarm import sim

AGGREGATION_STEPS = 600
"""Control steps of the figure's runs (60 s)."""


def simulate_aggregation(
    system,
    controllers: Sequence[Sequence[float]],
    swarms: int = 100,
    steps: int = AGGREGATION_STEPS,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Homogeneous swarms of each controller, from shared start conditions.

    Args:
        system: a :class:`~turing.envs.swarm.SwarmAggregation` (its swarm size, noise and
            start disc).
        controllers: ``k`` controllers, each ``(v_l0, v_r0, v_l1, v_r1)``.
        swarms: swarms per controller.
        steps: control steps (0.1 s each).
        seed: seed of the runs' random streams (``stream_key(seed, "aggregation")``).
        device: torch device.

    Returns:
        ``(dispersion, poses)``: dispersion ``[steps + 1, k, swarms]`` (row 0: the start),
        and the final poses ``[k, swarms, 3, N]`` (x, y, heading).
    """
    values = torch.tensor(np.asarray(controllers, dtype=np.float64), dtype=torch.float32)
    k = values.shape[0]
    n = k * swarms
    trial = torch.arange(n)
    params = values.T[:, trial // swarms]
    params = torch.cat([params, params]).to(device)
    key = torch.tensor(stream_key(seed, "aggregation"), dtype=torch.int64).reshape(2, 1)
    noise = Noise(key.to(device), trial.to(device), start_stream=(trial % swarms).to(device))
    rows = []
    with torch.no_grad():
        state, _ = system.reset(params, noise.at(0))
        rows.append(sim.dispersion(state[0][0], state[0][1]))
        action = torch.zeros(1, n, device=device)
        for t in range(1, steps + 1):
            state, _ = system.step(state, params, action, noise.at(t))
            rows.append(sim.dispersion(state[0][0], state[0][1]))
    dispersion = torch.stack(rows).reshape(steps + 1, k, swarms).cpu().numpy()
    poses = state[0].reshape(3, -1, k, swarms).permute(2, 3, 0, 1).cpu().numpy()
    return dispersion.astype(np.float64), poses.astype(np.float64)


def aggregation_summary(dispersion: np.ndarray, at: int) -> dict[str, np.ndarray]:
    """Per controller: the median dispersion at the start and at step ``at``, its ratio to
    the first controller's (the genuine one, by convention), and the mean at step ``at``."""
    start = np.median(dispersion[0], axis=-1)
    final = np.median(dispersion[at], axis=-1)
    mean = dispersion[at].mean(axis=-1)
    return {"start": start, "median": final, "mean": mean, "ratio": mean / mean[0]}


def plot_aggregation(
    system,
    controllers: Mapping[str, Sequence[float]],
    path: str | Path,
    seed: int = 0,
    swarms: int = 30,
    steps: int = AGGREGATION_STEPS,
    trial_steps: int | None = None,
) -> Path:
    """``path``: the dispersion over time (median and interquartile band over ``swarms``
    swarms) of each controller's swarms, and the final configuration of the first swarm of
    each; a dashed line marks the trial's length. Returns ``path``."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    labels = list(controllers)
    dispersion, poses = simulate_aggregation(
        system, [controllers[label] for label in labels], swarms, steps, seed
    )
    figure = Figure(figsize=(4.2 + 2.4 * len(labels), 3.6), dpi=110)
    grid = figure.add_gridspec(1, 1 + len(labels), width_ratios=[2.2] + [1.0] * len(labels))
    ax = figure.add_subplot(grid[0])
    time = np.arange(steps + 1) * 0.1
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]
    for k, label in enumerate(labels):
        low, mid, high = np.percentile(dispersion[:, k], [25, 50, 75], axis=-1)
        colour = colours[k % len(colours)]
        ax.plot(time, mid, color=colour, label=label)
        ax.fill_between(time, low, high, color=colour, alpha=0.2, linewidth=0)
    trial = (trial_steps or system.default_steps) * 0.1
    ax.axvline(trial, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("dispersion  sum |p - mean p|^2 / (4 r^2)")
    ax.set_yscale("log")
    ax.set_title(f"{system.n_robots} robots, {swarms} swarms each", fontsize=9)
    ax.legend(fontsize=8)
    for k, label in enumerate(labels):
        axis = figure.add_subplot(grid[1 + k])
        x, y = poses[k, 0, 0], poses[k, 0, 1]
        cx, cy = x.mean(), y.mean()
        half = max(30.0, float(np.max(np.hypot(x - cx, y - cy))) + 8.0)
        for xi, yi in zip(x, y, strict=True):
            axis.add_patch(Circle((xi, yi), sim.BODY_RADIUS, color=colours[k % len(colours)]))
        axis.set_xlim(cx - half, cx + half)
        axis.set_ylim(cy - half, cy + half)
        axis.set_aspect("equal")
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_title(f"{label} at {steps * 0.1:g} s", fontsize=9)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
