"""Methods: the ways of inferring a system's parameters that a run can use.

A method advances one generation (or iteration) at a time and reports the models it
currently believes in, best first. The :class:`turing.runs.runner.Runner` around it owns
everything generic: the run folder, metrics rows, estimates and errors, checkpoints,
progress and the final result. So a baseline is a small class, and every method is
compared on the same footing.

Methods are **ask/tell**: :meth:`Method.ask` says which trials the method needs next (a
list of :class:`~turing.genuine.batches.TrialBatch`: genuine trials, then model trials,
with their streams, interrogators and inputs), the run gets them (model trials from the
trial engine, genuine trials from the run's genuine source: the simulator, an environment,
recorded data), and :meth:`Method.tell` gives the method what they produced. A generation
is one or more ask/tell rounds; ``tell`` returns the generation's report after its last.
A method never simulates a genuine trial itself, so every method works with every genuine
source, and several runs' trials can be simulated as one batch
(:mod:`turing.runs.lockstep`).

Methods register by mode name with :func:`register_method`; ``turing run --mode M`` and
``turing.learn(mode=M)`` look them up here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from turing.contracts.config import RunConfig
from turing.contracts.system import System, Truth
from turing.engine import Engine, Trials
from turing.errors import UserError
from turing.genuine.batches import TrialBatch, TrialRunner
from turing.genuine.source import GenuineSource, SimulatorSource


@dataclass
class GenerationReport:
    """What a method reports after one generation.

    Attributes:
        ranked: model parameter vectors ``[K, D]``, best first (``K >= 1``); the best is the
            run's current estimate, the top 10 give the steadier median.
        metrics: method-specific numbers for ``metrics.csv`` (fitness, accuracy, losses).
        progress: short text for the progress bar.
    """

    ranked: np.ndarray
    metrics: dict[str, float] = field(default_factory=dict)
    progress: str = ""


class Method(ABC):
    """Base class of all methods.

    Args:
        system: the system being identified.
        truth: the genuine system.
        config: the run's configuration.
        source: where the genuine trials come from (default: the system's simulator with
            ``truth``'s parameters).
    """

    modes: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    default_generations: ClassVar[int | None] = None
    """Generations when neither ``--generations`` nor ``--budget`` is given; ``None``: the
    system's default."""

    live_genuine: ClassVar[bool] = False
    """The method chooses its genuine trials' inputs (interrogation): recorded trials
    cannot serve it."""

    def __init__(
        self,
        system: System,
        truth: Truth,
        config: RunConfig,
        source: GenuineSource | None = None,
    ):
        self.system = system
        self.truth = truth
        self.config = config
        self.device = torch.device(config.device)
        self.simulated_trials = 0
        self.simulated_steps = 0
        self.engine = Engine(
            system, config.steps, self.device, config.backend, config.chunk_size, config.threads
        )
        """The trial engine of the run's backend: the model trials (and the genuine ones when
        the simulator is the genuine source)."""
        self.trials = TrialRunner(self.engine, source or SimulatorSource(self.engine, truth))
        """Where the trials a method asks for come from (:class:`TrialRunner`)."""

    @classmethod
    def check_supported(cls, system: System, mode: str) -> None:
        """Raises :class:`UserError` if ``system`` cannot be identified by this method."""
        return None

    @classmethod
    def check_config(cls, config: RunConfig, system: System) -> None:
        """Raises :class:`UserError` for a configuration this method cannot run (e.g. an
        unknown ``method_options`` key); called before anything is written."""
        if config.method_options:
            raise UserError(
                f"--method-options: mode {config.mode} takes no method options, got "
                f"{', '.join(sorted(config.method_options))}"
            )

    @classmethod
    def trials_per_generation(cls, config: RunConfig, system: System) -> int:
        """Trials one generation simulates: the unit in which ``--budget`` (simulated
        trial-steps) becomes generations. A coevolution generation simulates
        ``2 x models x interrogators`` trials; baselines that match it compare at equal
        ``--generations``."""
        return 2 * config.models * config.interrogators

    def genuine_per_generation(self) -> int:
        """Genuine trials a generation uses (half of :meth:`trials_per_generation` for the
        methods that pair each model trial with a genuine one)."""
        return type(self).trials_per_generation(self.config, self.system) // 2

    @abstractmethod
    def ask(self) -> list[TrialBatch]:
        """The trials the method needs next (one or more batches)."""

    @abstractmethod
    def tell(self, trials: list[Trials]) -> GenerationReport | None:
        """What the asked batches produced, in order; returns the generation's report after
        its last round, ``None`` when the generation needs another :meth:`ask`."""

    def generation(self) -> GenerationReport:
        """Runs one generation (its ask/tell rounds) and reports."""
        while True:
            report = self.tell(self.trials.run_all(self.ask()))
            if report is not None:
                return report

    @abstractmethod
    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Everything needed to continue bit-identically: ``(arrays, json_meta)``."""

    @abstractmethod
    def load_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restores :meth:`state`."""

    def final_arrays(self) -> dict[str, np.ndarray]:
        """Arrays saved as ``populations.npz`` at the end (for replays)."""
        return {}

    def record_episodes(self, trials: int) -> dict[str, np.ndarray]:
        """Recorded trials of the final state, saved under ``episodes/`` (optional)."""
        return {}

    def _count(self, trials: int, steps: int) -> None:
        self.simulated_trials += int(trials)
        self.simulated_steps += int(trials) * int(steps)


_METHODS: dict[str, type[Method]] = {}


def register_method(cls: type[Method]) -> type[Method]:
    """Registers a Method subclass under each of its ``modes``."""
    for mode in cls.modes:
        _METHODS[mode] = cls
    return cls


def method_names() -> list[str]:
    return list(_METHODS)


def get_method(mode: str) -> type[Method]:
    if mode not in _METHODS:
        raise UserError(f"unknown mode {mode!r}; choose from {', '.join(_METHODS)}")
    return _METHODS[mode]
