"""Summaries of finished runs: :func:`summarise_results` (from their results) and
:func:`summarise_cells` (from their numbers, e.g. ``cells.csv``), giving a
:class:`turing.reports.summary.Summary`; p-values Holm-corrected across a table's
parameters."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from turing.reports.quantities import REFERENCE_METHOD, CellValues, cell_values, parameter_units
from turing.reports.statistics import holm, mann_whitney, quartiles, rank_biserial
from turing.reports.summary import Summary
from turing.runs.result import Result


def summarise_results(
    results: Iterable[Result],
    *,
    methods: Sequence[str],
    planned: Mapping[str, int] | None = None,
    title: str = "",
    reference: str = REFERENCE_METHOD,
    label: Callable[[Result], str] | None = None,
) -> Summary:
    """Summarises finished runs (without writing anything).

    Args:
        results: the finished runs, any order; runs of methods not in ``methods`` are ignored.
        methods: the methods in the order of the tables.
        planned: runs in the grid per method (for "finished/planned" counts).
        title: the heading of ``summary.md``.
        reference: the method the p-values test every other against.
        label: a run's "method" (default its mode); e.g. a variant's name, to compare
            variants of one mode.

    Returns:
        the :class:`Summary`.
    """
    methods = list(methods)
    label = label or (lambda r: r.mode)
    results = [r for r in results if label(r) in methods]
    cells = [dataclasses.replace(cell_values(r), method=label(r)) for r in results]
    system = results[0].system if results else ""
    summary = summarise_cells(
        system,
        cells,
        methods=methods,
        planned=planned,
        title=title,
        reference=reference,
        label=label,
    )
    summary.units = parameter_units(system, summary.parameters, results)
    return summary


def summarise_cells(
    system: str,
    cells: Iterable[CellValues],
    *,
    methods: Sequence[str],
    planned: Mapping[str, int] | None = None,
    title: str = "",
    reference: str = REFERENCE_METHOD,
    label: Callable[[Result], str] | None = None,
) -> Summary:
    """Summarises the numbers of finished runs (see :func:`summarise_results`)."""
    methods = list(methods)
    cells = sorted(
        (c for c in cells if c.method in methods), key=lambda c: (methods.index(c.method), c.seed)
    )
    parameters: list[str] = []
    for cell in cells:
        for estimate, quantity in cell.values:
            name = quantity.removeprefix("abs_error_")
            if estimate == "best" and quantity.startswith("abs_error_") and name not in parameters:
                parameters.append(name)
    keys: list[tuple[str, str]] = []
    for cell in cells:
        keys += [k for k in cell.values if k not in keys]
    samples = {
        (m, k): [c.values[k] for c in cells if c.method == m and k in c.values]
        for m in methods
        for k in keys
    }
    rows = []
    for method in methods:
        for estimate, quantity in keys:
            sample = samples[(method, (estimate, quantity))]
            if not sample:
                continue
            median, q25, q75 = quartiles(sample)
            p_value = effect = math.nan
            if method != reference and reference in methods:
                baseline = samples[(reference, (estimate, quantity))]
                p_value = mann_whitney(baseline, sample)
                effect = rank_biserial(baseline, sample)
            rows.append(
                {
                    "method": method,
                    "estimate": estimate,
                    "quantity": quantity,
                    "n": sum(1 for v in sample if math.isfinite(v)),
                    "median": median,
                    "q25": q25,
                    "q75": q75,
                    "iqr": q75 - q25,
                    "p_vs_interrogate": p_value,
                    "p_holm": math.nan,
                    "effect_size": effect,
                }
            )
    _correct(rows)
    return Summary(
        system=system,
        methods=methods,
        parameters=parameters,
        cells=cells,
        planned=dict(planned or {m: sum(1 for c in cells if c.method == m) for m in methods}),
        rows=rows,
        title=title,
        reference=reference,
        label=label,
    )


def _correct(rows: list[dict[str, Any]]) -> None:
    """Holm-corrects the p-values of each method and estimate across its parameters (the
    family of a "better on which parameters?" question); other quantities keep NaN."""
    families: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        if row["quantity"].startswith("abs_error_"):
            families.setdefault((row["method"], row["estimate"]), []).append(row)
    for family in families.values():
        for row, adjusted in zip(
            family, holm([r["p_vs_interrogate"] for r in family]), strict=True
        ):
            row["p_holm"] = adjusted
