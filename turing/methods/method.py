"""Methods: the ways of inferring a system's parameters that a run can use.

A method advances one generation (or iteration) at a time and reports the models it
currently believes in, best first. The :class:`turing.runs.runner.Runner` around it owns
everything generic: the run folder, metrics rows, estimates and errors, checkpoints,
progress and the final result. So a baseline is a small class, and every method is
compared on the same footing.

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
from turing.engine import Engine
from turing.errors import UserError


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
    """

    modes: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    default_generations: ClassVar[int | None] = None
    """Generations when neither ``--generations`` nor ``--budget`` is given; ``None``: the
    system's default."""

    def __init__(self, system: System, truth: Truth, config: RunConfig):
        self.system = system
        self.truth = truth
        self.config = config
        self.device = torch.device(config.device)
        self.simulated_trials = 0
        self.simulated_steps = 0
        self.engine = Engine(
            system, config.steps, self.device, config.backend, config.chunk_size, config.threads
        )
        """The trial engine of the run's backend (the evaluator has its own, the same)."""

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

    @abstractmethod
    def generation(self) -> GenerationReport:
        """Runs one generation and reports."""

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
