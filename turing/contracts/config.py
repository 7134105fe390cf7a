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

from turing.contracts import presets
from turing.engine import BACKENDS, CONTINUED, ENGINE_VERSION
from turing.errors import UserError

TOP_K = 10
"""The steadier estimate's sample: the top models of the last generation."""

LAST_WINDOW = 50
"""The other steadier estimate's window: the best model of the last generations."""


def option(default: Any = None, help: str = "", kind: str = "str", **cli: Any) -> Any:
    """A :class:`RunConfig` field: its default, its one description, and how the command
    line reads it (``kind``: ``positive_int``, ``non_negative_int``, ``positive_float``,
    ``str``, ``pairs`` (``NAME=VALUE,...`` kept as strings), ``values`` (pairs whose values
    read as numbers and booleans); ``choices``, ``metavar``, ``default_text`` to show a
    default that is resolved later). :mod:`turing.cli.options` turns these into the
    ``turing run`` / ``compare`` / ``bench`` options, so each is declared here once."""
    metadata = {"help": help, "kind": kind, **cli}
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class RunConfig:
    """One run: every field is described by its ``help`` (``RunConfig.describe(name)``,
    and ``turing run --help``)."""

    system: str = option(None, "registered system name (see `turing list`)", cli=False)
    mode: str = option(
        "interrogate",
        "interrogate (Turing Learning), passive (GAN-like: the discriminator only observes the "
        "system under its natural input), passive-io (it also sees the input); `turing list` "
        "shows every mode",
    )
    generations: int | None = option(
        None, "generations to run", "positive_int", default_text="the method's or the system's"
    )
    models: int = option(100, "model population size (mu + lambda)", "positive_int")
    interrogators: int = option(100, "interrogator population size", "positive_int")
    steps: int | None = option(
        None,
        "observations per trial (interrogator updates)",
        "positive_int",
        default_text="the system's",
    )
    seed: int = option(0, "root seed of every random stream", "non_negative_int")
    device: str = option("cpu", "torch device: cpu, cuda, cuda:N")
    true_params: dict[str, Any] = option(
        {},
        "genuine values that differ from the defaults, e.g. a=0.6,p=0.35",
        "pairs",
        metavar="NAME=VALUE,...",
    )
    system_options: dict[str, Any] = option(
        {},
        "options of the system's constructor, e.g. noise_std=0.1",
        "values",
        metavar="KEY=VALUE,...",
    )
    checkpoint_every: int = option(25, "generations between checkpoints", "positive_int")
    chunk_size: int | None = option(
        None,
        "trials the torch backends simulate at once; bounds memory without changing results",
        "positive_int",
        default_text="the system's",
    )
    model_sigma_init: float | None = option(
        None,
        "initial model step size, as a fraction of each parameter's range (the original code "
        "used 1 on [0, 1])",
        "positive_float",
        default_text="the preset's: 0.1 for paper, 0.05 for robust",
    )
    interrogator_sigma_init: float = option(1.0, "initial interrogator step size", "positive_float")
    init: str | None = option(
        None,
        "initial genes of both populations: zero (clamped into the bounds, as the original "
        "code) or uniform (models uniform within their bounds, interrogator weights in "
        "[-1, 1])",
        choices=("zero", "uniform"),
        default_text="the preset's: zero for paper, uniform for robust",
    )
    hidden: int = option(5, "hidden units of the interrogators", "positive_int")
    threads: int | None = option(
        None,
        "CPU threads of the simulation",
        "positive_int",
        default_text="every core for native kernels, which have no barriers and stay fast on "
        "a busy machine; one for torch",
    )
    backend: str = option(
        "auto",
        "how trials are simulated: native (a fused kernel generated from the system's torch "
        "methods, whole trials with the interrogators, on CPU threads or CUDA), compiled "
        "(torch.compile; CUDA graphs on a GPU), eager (plain torch); auto: native wherever "
        "the fused kernel builds, else compiled on CUDA and eager on a CPU (the run stores "
        "what auto chose)",
        choices=("auto", *BACKENDS),
    )
    method_options: dict[str, Any] = option(
        {},
        "options of a baseline mode, e.g. batch=500,hidden=32 for gan (an unknown key lists "
        "the mode's options)",
        "values",
        metavar="KEY=VALUE,...",
    )
    budget: int | None = option(
        None,
        "simulated trial-steps instead of --generations: the run gets as many generations as "
        "fit (a coevolution generation simulates 2 x models x interrogators trials of --steps "
        "observations; metric and gan cost the same per generation, sbi a round of "
        "simulations x trials)",
        "positive_int",
    )
    c2st_trials: int = option(
        1000,
        "trials per class of the C2ST judge at the end (genuine vs best estimate under random "
        "inputs; 0.5 = indistinguishable); 0 skips it",
        "non_negative_int",
    )
    preset: str = option("paper", presets.HELP, choices=tuple(presets.PRESETS))
    model_fitness: str | None = option(
        None,
        "a model's fitness: verdict (the paper: the fraction of interrogators that judge it "
        "genuine) or graded (the interrogators' mean judgement output on its trials, in [0, 1] "
        "before the 0.5 threshold: an almost convincing model is rewarded before it fools "
        "anyone) or weighted (graded, each interrogator weighted by how far its accuracy in "
        "the generation is above chance: guessing interrogators do not count)",
        choices=("verdict", "graded", "weighted"),
        default_text="the preset's: verdict for paper, graded for robust",
    )
    periodic_genes: str | None = option(
        None,
        "mutation of angle parameters: bounded (the paper's code: redrawn until in [-pi, pi]) "
        "or wrapped (modulo the period: an angle can cross the seam at +-pi)",
        choices=("bounded", "wrapped"),
        default_text="the preset's: bounded for paper, wrapped for robust",
    )
    model_strategy: str | None = option(
        None,
        "how the models evolve: es (the paper's (50+50) self-adaptive evolution strategy) or "
        "cma (CMA-ES, DEAP's covariance matrix adaptation, in coordinates scaled to each "
        "parameter's range, angles wrapped and bounded parameters mirrored into their bounds; "
        "--models offspring and half of them as parents each generation); the interrogators "
        "always use the paper's ES",
        choices=("es", "cma"),
        default_text="the preset's: es for both",
    )
    genuine: str | None = option(
        None,
        "where the genuine trials come from: a Gymnasium env id (e.g. Pendulum-v1, "
        "turing/EpuckBullet-v0, or module:EnvId), one env per genuine trial, reset with a "
        "seed from the run's streams and stepped by the interrogators' actions; its "
        "observation and action spaces must match the system's",
        metavar="ENV_ID",
        default_text="the system's own simulator with the genuine values of --true-params",
    )
    genuine_kwargs: dict[str, Any] = option(
        {},
        "keyword arguments of the --genuine env, e.g. g=6.3",
        "values",
        metavar="KEY=VALUE,...",
    )
    genuine_data: str | None = option(
        None,
        "an NPZ of recorded genuine trials: observations [trials, steps, obs] and actions "
        "[trials, steps - 1, act], float32 (actions[k, t] followed observation t); each model "
        "trial replays a recorded trial's inputs; modes passive, passive-io, metric, gan, sbi "
        "(recorded trials cannot be interrogated); the run's --steps are the recorded "
        "trials' length; the file is copied into the run folder",
        metavar="FILE.npz",
    )
    genuine_trials: int | None = option(
        None,
        "genuine trials per generation: coevolution gives each generation's genuine trials "
        "to the interrogators that have judged the fewest lately, and scores an "
        "interrogator's genuine half on its last --models genuine judgements (0.5 before "
        "its first); metric compares every model with the same genuine trials",
        "positive_int",
        metavar="K",
        default_text="one per (interrogator, model) pair, the paper's setting",
    )
    genuine_workers: int | None = option(
        None,
        "worker processes that step the --genuine envs (0: in this process)",
        "non_negative_int",
        metavar="N",
        default_text="one per core",
    )
    genuine_timeout: float = option(
        60.0,
        "seconds a --genuine env may take to answer one reset or step of its trials; then "
        "the run stops with a checkpoint to resume from",
        "positive_float",
        metavar="SECONDS",
    )
    genuine_digest: str | None = option(
        None,
        "SHA-256 of the --genuine-data file (set when the run starts; the run folder keeps a copy)",
        cli=False,
    )
    engine: int | None = option(
        None,
        "the trial engine's version (set when the run starts): runs of engines whose random "
        "streams differ do not mix",
        cli=False,
    )

    @classmethod
    def describe(cls, name: str) -> str:
        """The description of field ``name``."""
        return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}[name]

    def validate(self) -> RunConfig:
        """Checks sizes and choices.

        Raises:
            UserError: naming the bad field and the fix.
        """
        if not isinstance(self.system, str) or not self.system:
            raise UserError(f"a run needs a system (see `turing list`), got {self.system!r}")
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
        for name, example in (
            ("true_params", "{'a': 0.6}"),
            ("system_options", "{'noise_std': 0.1}"),
            ("method_options", "{'batch': 500}"),
        ):
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise UserError(
                    f"{name} must be a dict of NAME: VALUE, e.g. {example}, got {value!r}"
                )
        for name in ("genuine_trials", "genuine_workers"):
            value = getattr(self, name)
            least = 1 if name == "genuine_trials" else 0
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < least
            ):
                raise UserError(
                    f"--{name.replace('_', '-')} must be a whole number >= {least}, got {value!r}"
                )
        if not isinstance(self.genuine_kwargs, dict) or not all(
            isinstance(k, str) for k in self.genuine_kwargs
        ):
            raise UserError(
                f"genuine_kwargs must be a dict of NAME: VALUE, got {self.genuine_kwargs!r}"
            )
        timeout = self.genuine_timeout
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not (math.isfinite(timeout) and 0 < timeout <= 86_400)
        ):
            raise UserError(
                f"--genuine-timeout must be a number of seconds in (0, 86400], got {timeout!r}"
            )
        for name in ("genuine", "genuine_data"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise UserError(
                    f"--{name.replace('_', '-')} must be a non-empty string, got {value!r}"
                )
        if self.genuine is not None and self.genuine_data is not None:
            raise UserError(
                "give --genuine (a live env) or --genuine-data (recorded trials), not both"
            )
        if self.genuine_kwargs and self.genuine is None:
            raise UserError("--genuine-kwargs needs --genuine ENV_ID (the env they are for)")
        for name in ("mode", "device", "backend"):
            if not isinstance(getattr(self, name), str):
                raise UserError(
                    f"--{name.replace('_', '-')} must be a string, got {getattr(self, name)!r}"
                )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UserError(f"--seed must be a non-negative whole number, got {self.seed!r}")
        for name in ("model_sigma_init", "interrogator_sigma_init"):
            value = getattr(self, name)
            if value is None and name in presets.PRESET_OPTIONS:
                continue
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise UserError(
                    f"--{name.replace('_', '-')} must be a positive number, got {value!r}"
                )
        presets.check(self)
        if self.backend not in ("auto", *BACKENDS):
            raise UserError(f"--backend must be auto, {', '.join(BACKENDS)}; got {self.backend!r}")
        return self

    def with_preset(self) -> RunConfig:
        """This configuration with the options it leaves unset (``None``) taken from its
        preset (:mod:`turing.contracts.presets`): what a run stores and uses.

        Raises:
            UserError: for an unknown preset.
        """
        chosen = presets.preset_values(self.preset)
        unset = {k: v for k, v in chosen.items() if getattr(self, k) is None}
        return dataclasses.replace(self, **unset) if unset else self

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_run_folder(cls, data: dict[str, Any], where: str = "config.json") -> RunConfig:
        """The configuration stored in a run folder's ``config.json`` (``where`` names it in
        messages), its fields checked.

        Raises:
            UserError: if an engine with other random streams wrote it (continuing would
                mix the two), it is not a configuration of this version, a field has the
                wrong type or value, or a genuine value is a string (a run folder stores
                values, never the path of a file to read them from).
        """
        if not isinstance(data, dict):
            raise UserError(f"{where} does not hold a JSON object; the run folder is damaged")
        engine = data.get("engine")
        if engine is None:
            raise UserError(
                f"{where} was written by turing-learning 0.1.0 (trial engine 1), whose random "
                f"streams differ from this version's (engine {ENGINE_VERSION}): continuing it "
                "would mix the two; start the run again, or finish it with 0.1.0"
            )
        if engine not in (*CONTINUED, ENGINE_VERSION):  # see turing.runs.setup.check_engine
            raise UserError(
                f"{where} was written by trial engine {engine!r}, this is engine "
                f"{ENGINE_VERSION}; their random streams differ: start the run again with this "
                "version"
            )
        config = cls.from_json(data, where)
        for name, value in config.true_params.items():
            if isinstance(value, str):
                raise UserError(
                    f"{where}: genuine value {name}={value!r} is a string; a run folder stores "
                    "genuine values themselves, never a file to read them from: the folder was "
                    "edited or damaged (start the run again)"
                )
        try:
            return config.validate()
        except UserError as exc:
            raise UserError(f"{where} is not a valid configuration: {exc}") from None

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "config.json") -> RunConfig:
        """A configuration from its JSON form, each field's type checked.

        Raises:
            UserError: for unknown fields or a field of the wrong type.
        """
        if not isinstance(data, dict):
            raise UserError(f"{where} does not hold a JSON object of run settings")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise UserError(
                f"{where} has unknown fields {sorted(unknown)}; it was written by another "
                "version of turing-learning"
            )
        for f in dataclasses.fields(cls):
            if f.name in data and not _has_kind(data[f.name], f):
                raise UserError(
                    f"{where}: {f.name} is {data[f.name]!r}, not {_KIND_TEXT[_kind(f)]}; the "
                    "file was edited or damaged"
                )
        config = cls(**data)
        if config.preset not in presets.PRESETS:
            raise UserError(
                f"{where}: preset {config.preset!r} is not one of {', '.join(presets.PRESETS)}; "
                "the file was edited, or written by a later version of turing-learning"
            )
        # A folder written before an option existed ran with the paper's (its preset).
        return config.with_preset()


def _kind(f: dataclasses.Field) -> str:
    if f.name in ("system",):
        return "str"
    if f.name == "engine":
        return "non_negative_int"
    return f.metadata.get("kind", "str")


_KIND_TEXT = {
    "positive_int": "a whole number",
    "non_negative_int": "a whole number",
    "positive_float": "a number",
    "str": "a string",
    "pairs": "an object of NAME: VALUE",
    "values": "an object of NAME: VALUE",
}


def _has_kind(value: Any, f: dataclasses.Field) -> bool:
    """Whether ``value`` has the JSON type of field ``f`` (``None`` where its default is)."""
    if value is None:
        return f.default is None
    kind = _kind(f)
    if kind in ("positive_int", "non_negative_int"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "positive_float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind in ("pairs", "values"):
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    return isinstance(value, str)
