"""The configuration of one run: everything that determines its result.

A :class:`RunConfig` is stored as ``config.json`` in the run folder; two runs with equal
configurations produce identical ``metrics.csv`` rows (wall times aside). Options that
change only how the run is shown (progress bars) are not part of it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from turing.errors import UserError

TOP_K = 10
"""The steadier estimate's sample: the top models of the last generation."""

LAST_WINDOW = 50
"""The other steadier estimate's window: the best model of the last generations."""


@dataclass
class RunConfig:
    """One run.

    Attributes:
        system: registered system name.
        mode: method (``interrogate``, ``passive``, ``passive-io`` and any registered baseline).
        generations: generations (or iterations) to run; ``None`` = the system's default.
        models: model population size.
        interrogators: interrogator population size.
        steps: interrogator updates per trial; ``None`` = the system's default.
        seed: root seed of every random stream.
        device: torch device.
        true_params: overrides of the genuine system (name -> value).
        system_options: keyword arguments of the system's constructor.
        checkpoint_every: generations between checkpoints.
        chunk_size: trials simulated at once; ``None`` = the system's default.
        model_sigma_init: initial model step size as a fraction of each parameter's range.
        interrogator_sigma_init: initial interrogator step size.
        init: ``zero`` (the original code's initialisation) or ``uniform``.
        hidden: hidden units of interrogators.
        threads: torch CPU threads; ``None`` = torch's default.
        compile: compile the per-step simulation with torch.compile where the system
            supports it; ``None`` = the system's default.
        method_options: options of non-evolutionary methods.
        budget: simulated trial-steps instead of ``generations``: the run gets as many
            generations as fit (at least one), each costing what the method's
            :meth:`~turing.method.Method.trials_per_generation` times ``steps``.
        c2st_trials: trials per class of the C2ST judge at the end of the run (genuine vs
            best estimate under random inputs, see :mod:`turing.c2st`); 0 skips it.
    """

    system: str
    mode: str = "interrogate"
    generations: int | None = None
    models: int = 100
    interrogators: int = 100
    steps: int | None = None
    seed: int = 0
    device: str = "cpu"
    true_params: dict[str, Any] = field(default_factory=dict)
    system_options: dict[str, Any] = field(default_factory=dict)
    checkpoint_every: int = 25
    chunk_size: int | None = None
    model_sigma_init: float = 0.1
    interrogator_sigma_init: float = 1.0
    init: str = "zero"
    hidden: int = 5
    threads: int | None = None
    compile: bool | None = None
    method_options: dict[str, Any] = field(default_factory=dict)
    budget: int | None = None
    c2st_trials: int = 1000

    def validate(self) -> RunConfig:
        """Checks sizes and choices.

        Raises:
            UserError: naming the bad field and the fix.
        """
        positive = {
            "generations": self.generations,
            "models": self.models,
            "interrogators": self.interrogators,
            "steps": self.steps,
            "checkpoint_every": self.checkpoint_every,
            "chunk_size": self.chunk_size,
            "hidden": self.hidden,
            "threads": self.threads,
            "budget": self.budget,
        }
        for name, value in positive.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                flag = "--" + name.replace("_", "-")
                raise UserError(f"{flag} must be a positive whole number, got {value!r}")
        for name in ("models", "interrogators"):
            if getattr(self, name) < 2:
                raise UserError(
                    f"--{name} must be at least 2 (the evolution strategy keeps the best half "
                    f"as parents), got {getattr(self, name)}"
                )
        if (
            isinstance(self.c2st_trials, bool)
            or not isinstance(self.c2st_trials, int)
            or not (self.c2st_trials == 0 or self.c2st_trials >= 10)
        ):
            raise UserError(
                f"--c2st-trials must be 0 (skip the C2ST) or at least 10, got {self.c2st_trials!r}"
            )
        if not isinstance(self.method_options, dict):
            raise UserError(
                f"method_options must be a dict of NAME: VALUE, got {self.method_options!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UserError(f"--seed must be a non-negative whole number, got {self.seed!r}")
        for name in ("model_sigma_init", "interrogator_sigma_init"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise UserError(
                    f"--{name.replace('_', '-')} must be a positive number, got {value!r}"
                )
        if self.init not in ("zero", "uniform"):
            raise UserError(f"--init must be 'zero' or 'uniform', got {self.init!r}")
        return self

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise UserError(
                f"config.json has unknown fields {sorted(unknown)}; it was written by another "
                "version of turing-learning"
            )
        return cls(**data)
