"""One generation as a ``metrics.csv`` row and as the progress bar's text.

A row holds the generation, the best model's and the top-10 median's parameters and their
errors, the system's summary numbers of both (its ``metrics`` hook), and the method's own
numbers (fitness, accuracy, failed models, losses); the runner adds the simulated trials
and the wall times.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from turing.contracts.config import TOP_K
from turing.contracts.presentation import presentation
from turing.contracts.system import System, Truth
from turing.methods.method import GenerationReport


def as_dict(system: System, vector: np.ndarray) -> dict[str, float]:
    return {n: float(v) for n, v in zip(system.parameter_names, vector, strict=True)}


def median(system: System, rows: np.ndarray) -> dict[str, float]:
    """The per-parameter median of ``rows`` (on the circle for periodic parameters)."""
    rows = np.asarray(rows).reshape(-1, len(system.parameters))
    return {p.name: p.median(rows[:, k]) for k, p in enumerate(system.parameters)}


def metrics_row(
    system: System, truth: Truth, generation: int, ranked: np.ndarray, report: GenerationReport
) -> dict[str, Any]:
    """The row of ``generation`` (without the simulated trials and the wall times)."""
    row: dict[str, Any] = {"generation": generation}
    best = as_dict(system, ranked[0])
    top = median(system, ranked[:TOP_K])
    names = system.parameter_names
    for name in names:
        row[f"best_{name}"] = best[name]
    for name in names:
        row[f"top10_{name}"] = top[name]
    errors_best = system.errors(list(best.values()), truth)
    errors_top = system.errors(list(top.values()), truth)
    for name in names:
        row[f"error_best_{name}"] = errors_best[name]
    for name in names:
        row[f"error_top10_{name}"] = errors_top[name]
    hooks = presentation(system)
    for key, value in hooks.metrics(best, truth).items():
        if isinstance(value, int | float):
            row[f"{key}_best"] = float(value)
    for key, value in hooks.metrics(top, truth).items():
        if isinstance(value, int | float):
            row[f"{key}_top10"] = float(value)
    row.update(report.metrics)
    return row


def progress_text(system: System, truth: Truth, report: GenerationReport) -> str:
    """The progress bar's text: the best model's errors (or the system's numbers) and the
    method's progress."""
    best = as_dict(system, np.asarray(report.ranked)[0])
    errors = system.errors(list(best.values()), truth)
    metrics = {
        k: v
        for k, v in presentation(system).metrics(best, truth).items()
        if isinstance(v, float | int)
    }
    if metrics:
        text = " ".join(f"{k} {v:.3g}" for k, v in metrics.items())
    elif len(errors) <= 6:
        text = "err " + " ".join(f"{k} {v:.3f}" for k, v in errors.items())
    else:
        text = f"mean err {np.mean(list(errors.values())):.3f}"
    return f"{text} | {report.progress}" if report.progress else text
