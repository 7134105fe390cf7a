"""A system's contract tried on a few trials before a run writes anything.

Registration checks what needs no simulation (:mod:`turing.integrations.contract_checks`);
what does (the shapes ``reset``, ``step`` and ``passive_action`` return, passive actions
within the action bounds, finite observations of the genuine system) would otherwise first
fail inside the first generation, after the run folder was created. :func:`preflight`
simulates two genuine trials of the run's length under the passive input on the reference
(eager) engine, from a stream of its own that no run uses, and raises the first problem
as a :class:`~turing.errors.SystemContractError` naming the system, the step and the
values.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from turing.contracts.system import System, Truth, values_text
from turing.engine import PASSIVE, Engine, Noise, stream_key
from turing.errors import SystemContractError

TRIALS = 2
TOLERANCE = 1e-5
"""Relative slack of the action bounds (float32 rounding of a clipped action)."""


def preflight(system: System, truth: Truth, steps: int, backend: str = "eager") -> None:
    """Simulates two genuine trials of ``steps`` observations under the passive input.

    Args:
        backend: the run's backend (resolved); the watched trials run on the reference loop.

    Raises:
        SystemContractError: for a wrong shape, dtype or device (the engine's checks), a
            passive action outside ``[action_low, action_high]``, or a non-finite
            observation of the genuine system, naming the step and the values.
    """
    params = torch.tensor(truth.simulation, dtype=torch.float32).reshape(-1, 1)
    params = params.expand(-1, TRIALS).contiguous()
    noise = Noise.for_trials(stream_key(0, "preflight"), TRIALS, "cpu")
    noise.input_stream = torch.arange(TRIALS) // 2
    lows, highs = system.action_bounds()
    slacks = TOLERANCE * np.maximum(1.0, highs - lows)

    def observe(t, observation, outputs, action) -> None:
        if not bool(torch.isfinite(observation).all()):
            raise SystemContractError(
                f"{system.name}: the genuine system produced a non-finite observation at "
                f"step {t} (parameters {values_text(system, truth.simulation)}); check its "
                "simulator (reset and step must return finite values)"
            )
        if action is None:
            return
        if not bool(torch.isfinite(action).all()):
            raise SystemContractError(
                f"{system.name}: passive_action returned a non-finite action at step {t}; "
                "return actions within the action bounds"
            )
        values = action.detach().double().cpu().numpy()
        outside = (values < (lows - slacks)[:, None]) | (values > (highs + slacks)[:, None])
        if outside.any():
            k = int(np.argwhere(outside)[0, 0])
            low, high, bad = float(lows[k]), float(highs[k]), float(values[outside][0])
            raise SystemContractError(
                f"{system.name}: passive_action returned {bad:.6g} at step {t}, outside the "
                f"action bounds [{low:g}, {high:g}]; keep it within them (e.g. "
                f"action.clamp({low:g}, {high:g}))"
            )

    largest = torch.zeros(system.observation_size)

    def watch(t, observation, outputs, action) -> None:
        observe(t, observation, outputs, action)
        largest.copy_(torch.maximum(largest, observation.abs().amax(1).float()))

    # Watched step by step, the trials run on the reference loop whatever the backend (the
    # engine of the run's backend is the one the run builds too).
    engine = Engine(system, steps, "cpu", backend=backend)
    engine.run(params, noise, None, PASSIVE, observe=watch)
    warn_unscaled(system, largest.numpy())


UNSCALED_LIMIT = 10.0
"""An unbounded observation larger than this saturates an interrogator's sigmoid units."""


def warn_unscaled(system: System, largest: np.ndarray) -> None:
    """Warns when an observation without bounds (read unscaled) is far from [0, 1]."""
    low, high = system.observation_bounds()
    unbounded = ~(np.isfinite(low) & np.isfinite(high))
    far = np.flatnonzero(unbounded & (largest > UNSCALED_LIMIT))
    if far.size:
        k = int(far[0])
        warnings.warn(
            f"{system.name}: observation {k} reaches {largest[k]:.3g} and has no bounds, so "
            "interrogators read it unscaled and their units saturate; declare "
            "observation_low/observation_high (they scale what interrogators read to [0, 1])",
            RuntimeWarning,
            stacklevel=3,
        )
