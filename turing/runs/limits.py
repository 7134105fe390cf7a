"""Sizes this machine can run, estimated before anything starts.

A run whose populations, trials or memory exceed the machine (``--models 100000000000``)
would hang building its populations or be killed by the OS hours later; a replay of a
billion trials would never end. :func:`check_run_size` and :func:`check_replay_size`
estimate the work and the memory from the sizes alone and refuse, in one line with the
estimate, what cannot finish: more memory than the machine has, or more trial-steps in one
generation than a fast machine simulates in a day.
"""

from __future__ import annotations

import dataclasses
import os

from turing.contracts.config import RunConfig
from turing.contracts.system import System
from turing.errors import UserError

MAX_TRIAL_STEPS_PER_GENERATION = 2 * 10**12
"""About a day of simulation per generation at 20 million trial-steps per second (case
study 1's speed on one core); the paper's sizes simulate 2 million."""

MAX_REPLAY_STEPS = 10**8
"""Replayed steps (trial pairs x steps): at least hours, drawn one step at a time."""

STEPS_PER_SECOND = 2 * 10**7

MAX_GENERATIONS = 10**9
"""Generations a run may ask for (counters and checkpoints hold them as 64-bit numbers;
a billion generations of the smallest run take weeks)."""


def machine_memory() -> int | None:
    """Bytes of physical memory, or ``None`` where the OS does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def _gigabytes(value: float) -> str:
    return f"{value / 2**30:,.3g} GB"


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:,.3g} minutes"
    if seconds < 86400 * 3:
        return f"{seconds / 3600:,.3g} hours"
    if seconds < 86400 * 365 * 3:
        return f"{seconds / 86400:,.3g} days"
    return f"{seconds / (86400 * 365):,.3g} years"


def run_estimate(config: RunConfig, system: System) -> tuple[int, int, float]:
    """``(trials, trial_steps, bytes)`` of one generation of the resolved ``config``."""
    from turing.engine.evaluator import COEVOLUTION_MODES, interrogator_shape
    from turing.methods.method import get_method

    trials = int(get_method(config.mode).trials_per_generation(config, system))
    steps = int(config.steps or system.default_steps)
    genes = len(system.parameters)
    weights = 0
    if config.mode in COEVOLUTION_MODES:
        weights = interrogator_shape(system, config.mode, config.hidden).n_weights
    simulation = max(genes, 1) * 4  # simulation parameters are at least as many, float32
    # Parents and offspring as DEAP individuals (a Python float per gene, its step size).
    populations = 2 * (config.models * (genes * 48 + 400) + config.interrogators * (weights * 48 + 400))
    # A generation's trials: parameters, streams, judges, verdicts, with temporaries.
    batch = trials * 3 * (simulation + 48)
    chunk = min(trials, int(config.chunk_size or system.default_chunk_size))
    width = system.observation_size + system.action_size + 2 * config.hidden + 64
    working = chunk * (width * 4 * 12 + weights * 4)
    recorded = 2 * config.c2st_trials * steps * (system.observation_size + system.action_size) * 8
    return trials, trials * steps, float(populations + batch + working + recorded)


def _largest_part(config: RunConfig, system: System) -> str:
    """The flags behind most of the memory estimate (for the message)."""
    total = run_estimate(config, system)[2]
    for flag, smaller in (
        (f"--steps {config.steps}", {"steps": system.default_steps}),
        (f"--hidden {config.hidden}", {"hidden": 5}),
        (f"--c2st-trials {config.c2st_trials}", {"c2st_trials": 0}),
    ):
        reduced = run_estimate(dataclasses.replace(config, **smaller), system)[2]
        if total - reduced > total / 2:
            return flag
    return f"--models {config.models} --interrogators {config.interrogators}"


MAX_SIGMA_INIT = 1e6
"""Initial step sizes above this overflow the evolution strategy within a few generations
(step sizes grow by random log-normal factors; 1e308 is infinite after one)."""


def thread_limit() -> int:
    """The most ``--threads`` a run may ask for: 4 per core, at least 64 (torch crashed with
    70,000 on a 2-core machine; more threads than cores only slow a run down)."""
    from turing.engine import default_threads

    return max(64, 4 * default_threads())


def check_threads(threads: int | None, flag: str = "--threads") -> None:
    """Refuses a thread count far above the cores.

    Raises:
        UserError: naming the cores and the limit.
    """
    if threads is not None and not isinstance(threads, bool) and threads > thread_limit():
        from turing.engine import default_threads

        raise UserError(
            f"{flag} {threads} is far above this machine's {default_threads()} cores; give at "
            f"most {thread_limit()} (threads beyond the cores only slow a run down)"
        )


def check_values(config: RunConfig) -> None:
    """Refuses values the parser accepts but a run cannot survive.

    Raises:
        UserError: for thread counts far above the cores, or initial step sizes that
            overflow.
    """
    check_threads(config.threads)
    for name, default in (("model_sigma_init", "0.1, a tenth of each parameter's range"),
                          ("interrogator_sigma_init", "1.0")):  # fmt: skip
        value = getattr(config, name)
        if isinstance(value, int | float) and value > MAX_SIGMA_INIT:
            raise UserError(
                f"--{name.replace('_', '-')} {value:g} would overflow the evolution strategy "
                f"(step sizes grow by random factors every generation); give at most "
                f"{MAX_SIGMA_INIT:g} (the default is {default})"
            )


def check_run_size(config: RunConfig, system: System) -> None:
    """Refuses a run whose generations this machine cannot simulate, or whose values it
    cannot survive (:func:`check_values`).

    Raises:
        UserError: with the estimate, for too much memory or too many trial-steps per
            generation.
    """
    check_values(config)
    if config.generations is not None and config.generations > MAX_GENERATIONS:
        raise UserError(
            f"--generations {config.generations}: a run may have at most {MAX_GENERATIONS:,} "
            "generations (the paper's runs have 1000); choose fewer"
        )
    trials, trial_steps, needed = run_estimate(config, system)
    sizes = f"--models {config.models} --interrogators {config.interrogators} --steps {config.steps}"
    have = machine_memory()
    if have is not None and needed > 0.9 * have:
        raise UserError(
            f"{_largest_part(config, system)} ({config.mode}, {trials:,} trials per "
            f"generation): the run would need about {_gigabytes(needed)} of memory, this "
            f"machine has {_gigabytes(have)}; choose smaller sizes"
        )
    if trial_steps > MAX_TRIAL_STEPS_PER_GENERATION:
        raise UserError(
            f"{sizes} ({config.mode}): a generation would simulate {trial_steps:.3g} "
            f"trial-steps, about {_duration(trial_steps / STEPS_PER_SECOND)} at "
            f"{STEPS_PER_SECOND // 10**6} million steps per second; choose smaller sizes"
        )


def check_replay_size(trials: int, steps: int, system: System) -> None:
    """Refuses a replay that cannot end in reasonable time or memory.

    Raises:
        UserError: with the estimate.
    """
    replayed = int(trials) * int(steps)
    needed = replayed * 2 * (system.observation_size + system.action_size + 2) * 8 * 4
    have = machine_memory()
    if replayed > MAX_REPLAY_STEPS or (have is not None and needed > 0.5 * have):
        raise UserError(
            f"--trials {trials}: replaying {trials:,} trial pairs of {steps} steps, one step at "
            f"a time, would take at least {_duration(replayed * 1e-4)} and about "
            f"{_gigabytes(needed)} of memory; replay fewer trials (a figure shows at most 4)"
        )
