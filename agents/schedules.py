"""Passive inputs that do not depend on the system's output.

Case study 1's natural environment holds the light at 0 for the first ``hold`` steps, then
every ``hold`` steps switches to a new level drawn from U(0, 1).
"""

from __future__ import annotations

import torch

Tensor = torch.Tensor


def held_levels(n: int, steps: int, hold: int, generator: torch.Generator, device) -> Tensor:
    """The random levels of ``n`` schedules: ``[changes, n]`` with ``changes = (steps - 1)
    // hold`` (levels for steps ``hold, 2 hold, ...``)."""
    changes = max(0, (steps - 1) // hold)
    return torch.rand(changes, n, generator=generator, device=device)


def held_levels_at(levels: Tensor, t: int, hold: int) -> Tensor:
    """The level at step ``t`` of schedules drawn by :func:`held_levels`: 0 for ``t <
    hold``, then ``levels[t // hold - 1]``, held for ``hold`` steps."""
    k = t // hold
    if k == 0 or levels.shape[0] == 0:
        return levels.new_zeros(levels.shape[1])
    return levels[min(k, levels.shape[0]) - 1]
