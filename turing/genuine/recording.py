"""Recording genuine trials into the file format of ``--genuine-data`` (``turing record``).

Logged data come from wherever a researcher logged them; this module writes the same
format from any source a run can use: the system's simulator (with ``--true-params``) or a
Gymnasium environment (``--genuine``), under the system's passive input or random
piecewise-constant inputs (as the C2ST draws them). So a slow simulator or a robot can be
recorded once and identified many times, and the recorded path can be tried on a system
whose answer is known.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from turing.contracts.seeding import torch_generator
from turing.contracts.system import System
from turing.engine import PASSIVE, Engine, Fixed, Noise, stream_key
from turing.errors import UserError
from turing.genuine.batches import TrialBatch, TrialRunner
from turing.genuine.env_source import open_env_source
from turing.genuine.source import GenuineSource, SimulatorSource

INPUTS = ("passive", "random")


def record_trials(
    system: System,
    trials: int,
    steps: int | None = None,
    *,
    genuine: Any = None,
    genuine_kwargs: dict[str, Any] | None = None,
    true_params: dict[str, Any] | None = None,
    inputs: str = "passive",
    seed: int = 0,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Genuine trials of ``system`` (its simulator, or the env ``genuine``).

    Args:
        system: the model system (sizes, bounds, passive input).
        trials: how many trials.
        steps: observations per trial (default: the system's).
        genuine: a Gymnasium id, env factory or VectorEnv; ``None``: the simulator.
        genuine_kwargs: keyword arguments of the env.
        true_params: genuine values of the simulator (and of the passive controller).
        inputs: ``passive`` (the system's natural input) or ``random``.
        seed: root seed of the recording's streams.
        workers: env worker processes (default: one per core).

    Returns:
        ``(observations [trials, steps, O], actions [trials, steps - 1, A])``, float32.
    """
    if inputs not in INPUTS:
        raise UserError(f"--inputs must be one of {', '.join(INPUTS)}, got {inputs!r}")
    if trials < 1:
        raise UserError(f"--trials must be at least 1, got {trials}")
    steps = int(steps or system.default_steps)
    truth = system.make_truth(true_params or {})
    engine = Engine(system, steps, "cpu", "auto")
    source: GenuineSource
    if genuine is None:
        source = SimulatorSource(engine, truth)
    else:
        source = open_env_source(system, truth, steps, genuine, genuine_kwargs or {}, workers)
    noise = Noise.for_trials(stream_key(seed, "recording"), trials)
    given: Any = PASSIVE
    if inputs == "random":
        from turing.reports.c2st import random_inputs

        generator = torch_generator(seed, "recording-inputs")
        given = Fixed(random_inputs(system, trials, steps, generator, "cpu"))
    try:
        recorded = TrialRunner(engine, source).run(
            TrialBatch(trials, None, noise, None, given, record=True, purpose="recording")
        )
    finally:
        source.close()
    if bool(recorded.failed.any()):
        raise UserError(f"{system.name}: a recorded trial produced a non-finite observation")
    observations = recorded.observations.permute(2, 0, 1).contiguous().numpy()
    actions = recorded.actions.permute(2, 0, 1).contiguous().numpy()
    return observations.astype(np.float32), actions.astype(np.float32)


def save_recorded(path: str | Path, observations: np.ndarray, actions: np.ndarray) -> Path:
    """Writes recorded trials as ``--genuine-data`` reads them (NPZ, float32)."""
    from turing.runs.files import atomic_write_bytes

    path = Path(path)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        observations=np.asarray(observations, dtype=np.float32),
        actions=np.asarray(actions, dtype=np.float32),
    )
    atomic_write_bytes(path, buffer.getvalue())
    return path
