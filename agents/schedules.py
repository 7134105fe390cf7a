"""Passive inputs that do not depend on the system's output.

Case study 1's natural environment holds the light at 0 for the first ``hold`` steps, then
every ``hold`` steps switches to a new level drawn from U(0, 1).
"""

from __future__ import annotations

import torch

from turing.engine.random import Noise

Tensor = torch.Tensor


def held_levels(n: int, steps: int, hold: int, noise: Noise) -> Tensor:
    """The random levels of ``n`` schedules: ``[changes, n]`` with ``changes = (steps - 1)
    // hold`` (levels for steps ``hold, 2 hold, ...``), level ``j`` the ``j``-th uniform of
    each trial's input stream."""
    changes = max(0, (steps - 1) // hold)
    if changes == 0:
        return torch.zeros(0, n, device=noise.device)
    return noise.uniform(changes)


def held_levels_at(levels: Tensor, t: int | Tensor, hold: int) -> Tensor:
    """The level at step ``t`` (an int, or a 0-dim tensor in compiled loops) of schedules
    drawn by :func:`held_levels`: 0 for ``t < hold``, then ``levels[t // hold - 1]``, held
    for ``hold`` steps (the last level once the schedule has run out)."""
    changes = levels.shape[0]
    if changes == 0:
        return levels.new_zeros(levels.shape[1])
    if not isinstance(t, Tensor):
        k = int(t) // hold
        return levels.new_zeros(levels.shape[1]) if k == 0 else levels[min(k, changes) - 1]
    k = torch.div(t, hold, rounding_mode="floor")
    # index_select, not levels[k]: indexing with a tensor would read its value on the host,
    # which a compiled step cannot do.
    row = (k.clamp(max=changes) - 1).clamp(min=0).reshape(1).to(levels.device)
    level = torch.index_select(levels, 0, row)[0]
    return torch.where(k.to(levels.device) == 0, torch.zeros_like(level), level)
