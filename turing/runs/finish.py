"""The end of a run: its ``result.json`` built, and everything written in an order that a
kill at any moment leaves resumable.

Finishing writes ``populations.npz``, ``episodes/``, the figures of ``plots/`` (each drawn
into a temporary folder and renamed into place) and, last, ``result.json``: its presence
means "finished", so it appears only when everything else is there. A run killed while
finishing has no result.json; resumed, it recomputes the last generations from its last
checkpoint and finishes again. ``result.json`` also records what the folder holds (the
digest of config.json, the rows of metrics.csv: :mod:`turing.runs.integrity`) and, where
models produced non-finite observations, in which generations and how many.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from turing.contracts.config import LAST_WINDOW
from turing.contracts.presentation import presentation
from turing.engine import default_threads
from turing.runs.convergence import assess
from turing.runs.files import atomic_write_npz
from turing.runs.integrity import RECORD, record, seal
from turing.runs.setup import versions

Runner = Any
"""A :class:`turing.runs.runner.Runner` (not imported: the runner imports this module)."""

ESTIMATES = ("best", "top10_median", "last50_median")
EPISODE_TRIALS = 4


def failed_models(history: dict[str, np.ndarray], models: int) -> dict[str, Any] | None:
    """Where models produced non-finite observations (the ``failed_models`` column), or
    ``None`` where none did."""
    counts = history.get("failed_models")
    if counts is None or counts.dtype.kind not in "fi":
        return None
    counts = np.nan_to_num(np.asarray(counts, dtype=np.float64))
    generations = [int(g) for g in np.flatnonzero(counts > 0)]
    if not generations:
        return None
    return {
        "generations": generations,
        "most": int(counts.max()),
        "models": int(models),
        "trials_failed_in": int(counts.sum()),
    }


def failed_models_text(failed: dict[str, Any]) -> str:
    """``k of M models produced NaN in generations ...`` for the summary."""
    generations = failed["generations"]
    shown = ", ".join(str(g) for g in generations[:10])
    if len(generations) > 10:
        shown += f", ... ({len(generations)} generations in all)"
    return (
        f"up to {failed['most']} of {failed['models']} models produced NaN or infinite "
        f"observations in generations {shown}; they were judged counterfeit (see the "
        "failed_models column of metrics.csv)"
    )


def result_data(runner: Runner, estimates: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The contents of ``result.json`` (without the C2ST)."""
    system, config, truth = runner.system, runner.config, runner.truth
    result: dict[str, Any] = {
        "system": system.name,
        "mode": config.mode,
        "seed": config.seed,
        "generations": config.generations,
        "true_params": truth.reference,
        "true_params_overrides": truth.spec,
        "units": {p.name: p.unit for p in system.parameters},  # for figures without the system
        "estimates": estimates,
        "abs_error": {k: system.errors(list(v.values()), truth) for k, v in estimates.items()},
        "last50_window": min(LAST_WINDOW, len(runner.best_history)),
    }
    hooks = presentation(system)
    per_estimate = {k: hooks.metrics(v, truth) for k, v in estimates.items()}
    for key in per_estimate["best"]:
        result[key] = {k: per_estimate[k][key] for k in ESTIMATES}
    result["final"] = dict(runner.last_report.metrics)
    return result


def add_run_facts(runner: Runner, result: dict[str, Any], history: dict[str, np.ndarray]) -> None:
    """Simulated work, time, device, versions, failed models and the folder's records."""
    config = runner.config
    result["simulated"] = {
        "trials": runner.method.simulated_trials,
        "steps": runner.method.simulated_steps,
    }
    result["wall_seconds"] = runner.elapsed
    result["seconds_per_generation"] = runner.elapsed / max(1, config.generations)
    result["device"] = str(runner.method.device)
    result["threads"] = {
        "simulation": int(config.threads or default_threads()),
        "torch": torch.get_num_threads(),
    }
    result["backend"] = config.backend
    trials = runner.method.trials
    result["genuine_trials"] = trials.genuine_trials
    result["genuine_trials_by_use"] = dict(trials.used)
    result["genuine_source"] = trials.source.describe()
    result["trial_seconds"] = {k: round(v, 3) for k, v in sorted(trials.seconds.items())}
    result["versions"] = versions()
    failed = failed_models(history, config.models)
    if failed:
        result["failed_models"] = failed
    result["convergence"] = assess(runner.system, history)
    header = list(history)
    result[RECORD] = record(runner.stored_config, config.generations, header, runner.run_dir)
    result["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")


def write_outputs(runner: Runner, result, plot, episodes: dict[str, np.ndarray]) -> None:
    """Writes populations, ``episodes`` (:meth:`turing.Method.record_episodes`) and the
    figures (``plot(result)``: a :class:`turing.Result` not yet saved), then ``result.json``
    last."""
    run_dir = runner.run_dir
    run_dir.check_pin()
    populations = runner.method.final_arrays()
    if populations:
        run_dir.write_populations(populations)
    if episodes:
        atomic_write_npz(run_dir.episodes_dir / "final.npz", episodes)
    run_dir.check_pin()
    plot(result)
    seal(result.data, populations, episodes)  # digests of what the folder holds, last
    run_dir.write_result(result.data)
