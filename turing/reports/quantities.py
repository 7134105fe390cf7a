"""The quantities a comparison summarises, read from each finished run's ``result.json``:
the absolute error of every parameter for each of the three estimates
(``abs_error_<name>``), the system's own scalar metrics of each estimate, the C2ST accuracy,
and run-level numbers (wall time, simulated trials and steps); and their readable names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from turing.reports.statistics import is_number, number
from turing.runs.result import ESTIMATE_LABELS, Result

ESTIMATES = tuple(ESTIMATE_LABELS)
REFERENCE_METHOD = "interrogate"
RUN_LEVEL = ("wall_seconds", "simulated_trials", "simulated_steps")
SUMMARY_COLUMNS = (
    "method",
    "estimate",
    "quantity",
    "n",
    "median",
    "q25",
    "q75",
    "iqr",
    "p_vs_interrogate",
    "p_holm",
    "effect_size",
)

# metrics.csv columns holding per-generation errors, by estimate (the runner writes the best
# model's and the top-10 median's; the last-50 median exists only at the end of a run).
CONVERGENCE_PREFIXES = {"best": "error_best_", "top10_median": "error_top10_"}
CONVERGENCE_SUFFIXES = {"best": "_best", "top10_median": "_top10"}


@dataclass
class CellValues:
    """The summarised numbers of one finished run.

    Attributes:
        method: the run's mode.
        seed: its root seed.
        path: its run folder.
        values: ``(estimate, quantity) -> value``; estimate ``""`` for run-level numbers.
    """

    method: str
    seed: int
    path: Path
    values: dict[tuple[str, str], float]
    convergence: dict[str, Any] | None = None
    """The run's convergence verdict (:mod:`turing.runs.convergence`), if it could be judged."""


def cell_values(result: Result) -> CellValues:
    """Extracts every summarised number from one finished run."""
    data = result.data
    values: dict[tuple[str, str], float] = {}
    for estimate in ESTIMATES:
        for name, error in data["abs_error"].get(estimate, {}).items():
            values[(estimate, f"abs_error_{name}")] = number(error)
    for key, entry in data.items():
        # System metrics are stored as {estimate: value}, exactly like the estimates.
        if key in ("estimates", "abs_error", "c2st") or not isinstance(entry, dict):
            continue
        if set(entry) == set(ESTIMATES) and all(is_number(entry[k]) for k in ESTIMATES):
            for estimate in ESTIMATES:
                values[(estimate, key)] = number(entry[estimate])
    for estimate, value in c2st_values(data.get("c2st")).items():
        values[(estimate, "c2st")] = value
    simulated = data.get("simulated", {})
    values[("", "wall_seconds")] = number(data.get("wall_seconds"))
    values[("", "simulated_trials")] = number(simulated.get("trials"))
    values[("", "simulated_steps")] = number(simulated.get("steps"))
    return CellValues(
        method=result.mode,
        seed=int(result.seed),
        path=Path(result.path),
        values=values,
        convergence=result.convergence,
    )


def c2st_values(entry: Any) -> dict[str, float]:
    """The C2ST accuracies in a ``result.json`` ``c2st`` entry, by estimate.

    A plain number is the best estimate's; a mapping may be keyed by estimate, or be one
    test's record with an ``accuracy`` field (which then refers to the best estimate).
    """
    if entry is None:
        return {}
    if is_number(entry):
        return {"best": float(entry)}
    if isinstance(entry, Mapping):
        if "accuracy" in entry and is_number(entry["accuracy"]):
            return {str(entry.get("estimate", "best")): float(entry["accuracy"])}
        found = {}
        for estimate in ESTIMATES:
            value = entry.get(estimate)
            if isinstance(value, Mapping):
                value = value.get("accuracy")
            if is_number(value):
                found[estimate] = float(value)
        return found
    return {}


def quantity_label(quantity: str) -> str:
    """A readable name of a ``summary.csv`` quantity (``abs_error_a`` -> ``|error| of a``)."""
    if quantity.startswith("abs_error_"):
        return f"|error| of {quantity.removeprefix('abs_error_')}"
    return {"c2st": "C2ST accuracy"}.get(quantity, quantity.replace("_", " "))


METRIC_UNITS = {"deg": "deg", "cm": "cm", "mm": "mm", "m": "m", "s": "s", "rad": "rad"}
"""Units a system metric's name may end in (``mean_angle_error_deg``)."""


def quantity_unit(quantity: str, units: Mapping[str, str]) -> str:
    """The unit of a quantity's values: its parameter's (``units``: parameter -> unit, as
    ``result.json`` records them), a system metric's name suffix (``_deg``), ``""`` for
    dimensionless ones, or ``"?"`` where a parameter's unit was not recorded."""
    if quantity.startswith("abs_error_"):
        return units.get(quantity.removeprefix("abs_error_"), "?")
    if quantity == "c2st":
        return ""
    return METRIC_UNITS.get(quantity.rsplit("_", 1)[-1], "")


def axis_label(what: str, unit: str, log: bool) -> str:
    """A y-axis label that says the unit and whether the axis is logarithmic:
    ``|error| (cm), log scale``; ``?`` (not recorded) says "unit not recorded"."""
    if unit == "?":
        text = f"{what} (unit not recorded)"
    elif unit:
        text = f"{what} ({unit})"
    else:
        text = f"{what} (no unit)"
    return text + (", log scale" if log else "")


def recorded_units(results) -> dict[str, str]:
    """The parameters' units that the runs' ``result.json`` files record (runs written before
    0.2 record none: their parameters are left out)."""
    units: dict[str, str] = {}
    for result in results:
        entry = result.data.get("units")
        if isinstance(entry, Mapping):
            units.update({str(k): str(v) for k, v in entry.items() if isinstance(v, str)})
    return units


def parameter_units(system: str, parameters, results) -> dict[str, str]:
    """The parameters' units as the runs recorded them (``result.json``'s ``units``); for runs
    that recorded none (written before 0.2), those of the system if it is registered in this
    process (summaries never need the system's code otherwise)."""
    units = recorded_units(results)
    if all(p in units for p in parameters):
        return units
    from turing.integrations.registry import make_system, registered

    if registered(system) is None:
        return units
    try:
        known = {p.name: p.unit for p in make_system(system).parameters}
    except Exception:  # a hint for axis labels only: never fail a summary over it
        return units
    return {**known, **units}
