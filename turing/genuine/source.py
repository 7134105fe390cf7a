"""The genuine-source contract: where a run's genuine trials come from.

Turing Learning compares a system's *genuine* trials with its models' trials. The models
are always the run's :class:`turing.System` (its batched simulator with each model's
parameters). The genuine trials come from a :class:`GenuineSource`:

* :class:`SimulatorSource`: the same simulator with the genuine parameters (the default,
  and what every run did before sources existed: its trials are exactly those);
* :class:`turing.genuine.env_source.EnvSource`: any Gymnasium environment (someone else's
  simulator, a higher-fidelity one, a real robot wrapped as an env), one env per trial in a
  pool of worker processes, stepped by the interrogators' actions;
* :class:`turing.genuine.data_source.DataSource`: trials recorded earlier (an NPZ file),
  which can be judged but not interrogated.

A source runs a batch of genuine trials as :meth:`turing.engine.Engine.run` runs model
trials, with the same arguments but no parameters: the same trial semantics (observation
0 from the reset; the judge reads each observation; the input source chooses the next
input), the same :class:`~turing.engine.Trials` back. Every trial's randomness comes from
its :class:`~turing.engine.Noise` streams; a source that is not a simulator derives each
trial's reset seed from its start stream (:func:`reset_seeds`), so a deterministic
environment gives reproducible runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch

from turing.contracts.system import Truth
from turing.engine import JUDGE, Engine, Noise, Trials
from turing.engine.trials import InputSource, Judge

Tensor = torch.Tensor

RESET_SEED_PHASE = 0x5EED
"""Philox phase of the words that seed a genuine environment's reset (no system draws in it)."""


class GenuineSource(ABC):
    """Where a run's genuine trials come from (see the module docstring).

    Attributes:
        kind: ``simulator``, ``env`` or ``data`` (recorded in ``result.json``).
        live: its inputs can be chosen step by step (an interrogator can act on it).
        replayable: its trials can be simulated again from the run's seed alone, so the run
            folder need not record them.
        merges: its trials can be simulated in one batch with the model trials (the
            simulator: one engine call for both).
    """

    kind: str = ""
    live: bool = True
    replayable: bool = False
    merges: bool = False

    @abstractmethod
    def run(
        self,
        noise: Noise,
        judge: Judge | None = None,
        inputs: InputSource = JUDGE,
        start: Any = None,
        record: bool = False,
        observe=None,
    ) -> Trials:
        """Runs ``noise.n`` genuine trials (see :meth:`turing.engine.Engine.run`)."""

    def describe(self) -> dict[str, Any]:
        """What the source is, as JSON (for ``result.json`` and messages)."""
        return {"kind": self.kind}

    def close(self) -> None:  # noqa: B027  (most sources hold nothing)
        """Releases what the source holds (worker processes, open environments)."""


class SimulatorSource(GenuineSource):
    """The run's own simulator with the genuine parameters.

    Args:
        engine: the run's trial engine (the models' engine: same backend and threads).
        genuine: the genuine system (a :class:`turing.Truth`), or its simulation
            parameters ``[S]``.
    """

    kind = "simulator"
    live = True
    replayable = True
    merges = True

    def __init__(self, engine: Engine, genuine: Truth | Tensor):
        self.engine = engine
        self.truth = genuine if isinstance(genuine, Truth) else None
        values = genuine.simulation if isinstance(genuine, Truth) else genuine
        self.params = torch.as_tensor(values, dtype=torch.float32).reshape(-1).to(engine.device)

    def columns(self, n: int) -> Tensor:
        """The genuine simulation parameters of ``n`` trials, ``[S, n]``."""
        return self.params.reshape(-1, 1).expand(-1, n)

    def run(self, noise, judge=None, inputs=JUDGE, start=None, record=False, observe=None):
        return self.engine.run(self.columns(noise.n), noise, judge, inputs, start, record, observe)

    def describe(self) -> dict[str, Any]:
        if self.truth is None:
            return {"kind": self.kind}
        return {"kind": self.kind, "parameters": dict(self.truth.reference)}


def reset_seeds(noise: Noise) -> np.ndarray:
    """The reset seed of each trial, ``[n]`` int64 in ``[0, 2**63)``: a pure function of the
    trial's key and start stream (trials that start alike get the same seed)."""
    seeding = Noise(noise.key, noise.start_stream, phase=RESET_SEED_PHASE)
    words = seeding.words(2).cpu().numpy().astype(np.uint64)
    return ((words[0] << np.uint64(31)) ^ words[1]).astype(np.int64) & np.int64(2**63 - 1)
