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

from turing.engine import BACKENDS, ENGINE_VERSION
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
        threads: CPU threads of the simulation (the native kernels' worker threads; torch
            ops run on one thread unless this is given); ``None`` = the cores this process
            may use for native kernels, one for torch.
        backend: how trials are simulated: ``native`` (the system's C kernel), ``compiled``
            (torch.compile, with CUDA graphs on a GPU), ``eager`` (plain torch) or ``auto``
            (native on a CPU where the system has a kernel, compiled on CUDA, else eager);
            a run stores the backend ``auto`` chose. Backends agree up to float rounding.
        method_options: options of non-evolutionary methods.
        budget: simulated trial-steps instead of ``generations``: the run gets as many
            generations as fit (at least one), each costing what the method's
            :meth:`~turing.method.Method.trials_per_generation` times ``steps``.
        c2st_trials: trials per class of the C2ST judge at the end of the run (genuine vs
            best estimate under random inputs, see :mod:`turing.c2st`); 0 skips it.
        model_fitness: how interrogators' judgements reward a model: ``verdict`` (the paper:
            the fraction of interrogators that judged it genuine) or ``graded`` (their mean
            output 0 on its trials, so an almost convincing model is rewarded before it
            fools anyone).
        periodic_genes: how the models' periodic parameters (angles) mutate: ``bounded``
            (the paper's code: a mutation is redrawn until it lies within [-pi, pi]) or
            ``wrapped`` (modulo the period, so an angle can cross the seam at +-pi).
        engine: the trial engine's version (:data:`turing.engine.ENGINE_VERSION`), set when
            the run starts: runs of engines whose random streams differ do not mix.
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
    backend: str = "auto"
    method_options: dict[str, Any] = field(default_factory=dict)
    budget: int | None = None
    c2st_trials: int = 1000
    model_fitness: str = "verdict"
    periodic_genes: str = "bounded"
    engine: int | None = None

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
        if self.model_fitness not in ("verdict", "graded"):
            raise UserError(
                f"--model-fitness must be 'verdict' or 'graded', got {self.model_fitness!r}"
            )
        if self.periodic_genes not in ("bounded", "wrapped"):
            raise UserError(
                f"--periodic-genes must be 'bounded' or 'wrapped', got {self.periodic_genes!r}"
            )
        if self.backend not in ("auto", *BACKENDS):
            raise UserError(f"--backend must be auto, {', '.join(BACKENDS)}; got {self.backend!r}")
        return self

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_run_folder(cls, data: dict[str, Any], where: str = "config.json") -> RunConfig:
        """The configuration stored in a run folder's ``config.json`` (``where`` names it in
        messages).

        Raises:
            UserError: if an engine with other random streams wrote it (continuing would
                mix the two), or it is not a configuration of this version.
        """
        engine = data.get("engine") if isinstance(data, dict) else None
        if engine is None:
            raise UserError(
                f"{where} was written by turing-learning 0.1.0 (trial engine 1), whose random "
                f"streams differ from this version's (engine {ENGINE_VERSION}): continuing it "
                "would mix the two; start the run again, or finish it with 0.1.0"
            )
        if engine != ENGINE_VERSION:
            raise UserError(
                f"{where} was written by trial engine {engine}, this is engine "
                f"{ENGINE_VERSION}; their random streams differ: start the run again with this "
                "version"
            )
        return cls.from_json(data)

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
