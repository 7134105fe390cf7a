"""Statistics, tables and figures of a comparison, computed from its run folders alone.

A comparison (see :mod:`turing.comparisons.comparison`) is a grid of finished runs, one per (method,
seed). This module turns their ``result.json`` and ``metrics.csv`` files into:

* ``cells.csv``: one row per finished run with every number summarised below, so that any
  statistic can be recomputed elsewhere;
* ``summary.csv``: one row per (method, estimate, quantity) with the number of seeds, the
  median and the interquartile range (25th and 75th percentiles, numpy's linear
  interpolation), and the two-sided Mann-Whitney U p-value of ``interrogate`` against that
  method (scipy; exact for small samples without ties);
* ``summary.md``: the same as readable tables;
* ``plots/``: box plots of the absolute errors with one box per method and one panel per
  parameter (the paper's figures), and convergence plots (median over seeds per
  generation, interquartile band).

Quantities: the absolute error of every parameter for each of the runner's three estimates
(``abs_error_<name>``), the system's own scalar metrics of each estimate (e.g.
``mean_angle_error_deg``), the C2ST accuracy where runs recorded one (``c2st``; 0.5 means
the model cannot be told from the genuine system), wall time and simulated trials and steps
(the estimate column is empty for these run-level numbers). Only the run folders are read:
summarising needs neither the process that ran them nor the system's code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from turing.reports.formatting import fmt as _fmt
from turing.reports.formatting import fmt_count as _fmt_count
from turing.reports.formatting import fmt_p as _fmt_p
from turing.reports.formatting import md_table as _md_table
from turing.reports.quantities import (
    ESTIMATES,
    REFERENCE_METHOD,
    CellValues,
    quantity_label,
)
from turing.reports.statistics import (
    few_seeds_note,
)
from turing.runs.result import ESTIMATE_LABELS, Result


@dataclass
class Summary:
    """The summary of a comparison's finished runs.

    Attributes:
        system: the system compared on.
        methods: the methods in the grid, in order.
        parameters: the system's parameter names, in order.
        cells: the finished runs' numbers.
        planned: runs in the grid per method (finished or not).
        rows: ``summary.csv`` as dicts (see :data:`SUMMARY_COLUMNS`).
        title: one line describing the comparison.
        path: the comparison folder the files were written to (None if not written).
        files: the files written.
        failures: cells that raised while running, name -> one-line message.
        units: each parameter's unit (``""`` dimensionless), for the figures' axes.
    """

    system: str
    methods: list[str]
    parameters: list[str]
    cells: list[CellValues]
    planned: dict[str, int]
    rows: list[dict[str, Any]]
    title: str = ""
    path: Path | None = None
    files: list[Path] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    reference: str = REFERENCE_METHOD
    """The method every other is tested against (``interrogate``; a comparison of variants
    names its own)."""
    label: Callable[[Result], str] | None = field(default=None, repr=False)
    """A run's "method" in this summary (default its mode)."""

    def method_of(self, result: Result) -> str:
        """The "method" ``result`` counts under."""
        return self.label(result) if self.label else result.mode

    def value(
        self, method: str, quantity: str, estimate: str = "best", stat: str = "median"
    ) -> float:
        """One number of ``summary.csv`` (``stat``: n, median, q25, q75, iqr, p_vs_interrogate)."""
        for row in self.rows:
            if (row["method"], row["estimate"], row["quantity"]) == (method, estimate, quantity):
                return row[stat]
        raise KeyError(
            f"no summary row for method {method!r}, estimate {estimate!r}, quantity {quantity!r}"
        )

    def unconverged(self) -> list[CellValues]:
        """The finished runs whose own verdict is that they did not converge."""
        return [c for c in self.cells if c.convergence and not c.convergence["converged"]]

    def convergence_lines(self) -> list[str]:
        """Which runs look unconverged, and why (one line each), or that none does."""
        judged = [c for c in self.cells if c.convergence]
        if not judged:
            return []
        flagged = self.unconverged()
        if not flagged:
            return [f"Every run looks converged ({len(judged)} judged)."]
        lines = [
            f"{len(flagged)} of {len(judged)} runs look NOT CONVERGED (run them longer, or "
            "trust the seeds that agree):"
        ]
        for cell in flagged:
            lines.append(
                f"- `{cell.method}` seed {cell.seed}: " + "; ".join(cell.convergence["reasons"])
            )
        return lines

    def finished(self, method: str) -> int:
        return sum(1 for c in self.cells if c.method == method)

    def table(self, estimate: str = "best") -> str:
        """Plain-text table of one estimate's absolute errors, median [IQR] per method, with
        a row of Mann-Whitney p-values (``interrogate`` vs that method) under each method."""
        quantities = [f"abs_error_{p}" for p in self.parameters] + self.metric_names(estimate)
        header = ["method", "runs", *self.parameters, *self.metric_names(estimate)]
        rows = [header]
        for method in self.methods:
            row = [method, f"{self.finished(method)}/{self.planned.get(method, 0)}"]
            rows.append(row + [self.cell_text(method, estimate, q) for q in quantities])
            if method != self.reference and self._reference_present() and self.finished(method):
                pvalues = [self._stat(method, estimate, q, "p_vs_interrogate") for q in quantities]
                rows.append(["  p", "", *[_fmt_p(v) for v in pvalues]])
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        label = ESTIMATE_LABELS.get(estimate, estimate)
        note = (
            f"; p: Mann-Whitney U, {self.reference} vs method" if self._reference_present() else ""
        )
        title = f"absolute error of the {label} estimate, median [25th, 75th percentile] over seeds"
        few = self.few_seeds_note()
        return f"{title}{note}\n" + "\n".join(lines) + (f"\n{few}" if few else "")

    def few_seeds_note(self) -> str:
        """With fewer than 5 runs of a method, the smallest p-value its tests can reach
        (empty otherwise, or without the reference method)."""
        if not self._reference_present():
            return ""
        others = {m: self.finished(m) for m in self.methods if m != self.reference}
        return few_seeds_note(
            self.reference, self.finished(self.reference), others, len(self.parameters)
        )

    def markdown(self) -> str:
        """The whole summary as Markdown (what ``summary.md`` holds)."""
        out = [f"# {self.title or 'Comparison on ' + self.system}", ""]
        out.append(
            "Median [25th, 75th percentile] over seeds. p: two-sided Mann-Whitney U test of "
            f"`{self.reference}` against each method on the same quantity; Holm: corrected "
            "across a method's parameters; r: rank-biserial effect size."
        )
        if self.few_seeds_note():
            out += ["", self.few_seeds_note()]
        out.append("")
        for estimate in ESTIMATES:
            quantities = [f"abs_error_{p}" for p in self.parameters] + self.metric_names(estimate)
            if not any(self.has(m, estimate, q) for m in self.methods for q in quantities):
                continue
            out += [f"## Absolute error, {ESTIMATE_LABELS[estimate]} estimate", ""]
            labels = self.parameters + self.metric_names(estimate)
            out += _md_table(
                ["method", "runs", *labels],
                [
                    [
                        f"`{m}`",
                        f"{self.finished(m)}/{self.planned.get(m, 0)}",
                        *[self.cell_text(m, estimate, q) for q in quantities],
                    ]
                    for m in self.methods
                ],
            )
            if self._reference_present():
                out += [
                    "",
                    f"`{self.reference}` vs each method: p-value (Holm-corrected across the "
                    "parameters; effect size r: +1 when every seed of "
                    f"`{self.reference}` has the smaller error, 0 for no tendency):",
                    "",
                ]
                out += _md_table(
                    ["method", *labels],
                    [
                        [f"`{m}`", *[self.test_text(m, estimate, q) for q in quantities]]
                        for m in self.methods
                        if m != self.reference
                    ],
                )
            out.append("")
        has_c2st = any(self.has(m, "best", "c2st") for m in self.methods)
        out += ["## C2ST and cost" if has_c2st else "## Cost", ""]
        header = [
            "method",
            "runs",
            *(["C2ST (best)", "p"] if has_c2st else []),
            "wall time (s)",
            "simulated trials",
            "simulated steps",
        ]
        body = []
        for m in self.methods:
            row = [f"`{m}`", f"{self.finished(m)}/{self.planned.get(m, 0)}"]
            if has_c2st:
                row += [
                    self.cell_text(m, "best", "c2st"),
                    _fmt_p(self._stat(m, "best", "c2st", "p_vs_interrogate")),
                ]
            row += [
                self.cell_text(m, "", "wall_seconds"),
                _fmt_count(self._stat(m, "", "simulated_trials", "median")),
                _fmt_count(self._stat(m, "", "simulated_steps", "median")),
            ]
            body.append(row)
        out += _md_table(header, body)
        if not self._reference_present():
            out += [
                "",
                f"No p-values: `{self.reference}` has no finished run in this comparison.",
            ]
        verdicts = self.convergence_lines()
        if verdicts:
            out += ["", "## Convergence", "", *verdicts]
        missing = {m: self.planned.get(m, 0) - self.finished(m) for m in self.methods}
        missing = {m: k for m, k in missing.items() if k > 0}
        if missing:
            text = ", ".join(f"{m}: {k}" for m, k in missing.items())
            out += ["", f"Unfinished runs (not summarised): {text}."]
        figures = [f for f in self.files if f.suffix == ".png"]
        if figures and self.path is not None:
            out += ["", "## Figures", ""]
            out += [f"![{f.stem}]({f.relative_to(self.path).as_posix()})" for f in figures]
        return "\n".join(out) + "\n"

    def recorded(self, quantity: str, estimate: str = "best") -> bool:
        """Whether any finished run recorded ``quantity`` (e.g. ``c2st``) for ``estimate``."""
        return any(self.has(m, estimate, quantity) for m in self.methods)

    def headline(self, quantities: Sequence[str], estimate: str = "best") -> str:
        """A compact Markdown table: one row per method, median [IQR] of each quantity and,
        after it, the Mann-Whitney p-value against ``interrogate``.

        Args:
            quantities: ``summary.csv`` quantity names (``abs_error_a``, ``c2st``,
                ``mean_angle_error_deg``, ...); those no run recorded are left out. An
                absolute error's column is headed by its parameter's name.
            estimate: which estimate's numbers.

        Returns:
            the table's lines joined by newlines.
        """
        present = [q for q in quantities if any(self.has(m, estimate, q) for m in self.methods)]
        with_p = self._reference_present() and estimate != ""  # no test of run costs
        header = ["method", "runs"]
        for quantity in present:
            # Markdown tables cannot hold "|": an error column is named by its parameter.
            label = (
                quantity.removeprefix("abs_error_") if quantity.startswith("abs_error_") else None
            )
            header += [label or quantity_label(quantity)] + (["p-value"] if with_p else [])
        body = []
        for method in self.methods:
            row = [f"`{method}`", f"{self.finished(method)}/{self.planned.get(method, 0)}"]
            for quantity in present:
                row.append(self.cell_text(method, estimate, quantity))
                if with_p:
                    row.append(_fmt_p(self._stat(method, estimate, quantity, "p_vs_interrogate")))
            body.append(row)
        return "\n".join(_md_table(header, body))

    def metric_names(self, estimate: str) -> list[str]:
        """The system's own metrics recorded for ``estimate`` (e.g. ``mean_angle_error_deg``)."""
        names: list[str] = []
        for cell in self.cells:
            for est, quantity in cell.values:
                if (
                    est == estimate
                    and not quantity.startswith("abs_error_")
                    and quantity != "c2st"
                    and quantity not in names
                ):
                    names.append(quantity)
        return names

    # ------------------------------------------------------------------ helpers
    def _stat(self, method: str, estimate: str, quantity: str, stat: str) -> float:
        try:
            return self.value(method, quantity, estimate, stat)
        except KeyError:
            return math.nan

    def has(self, method: str, estimate: str, quantity: str) -> bool:
        """Whether a finished run of ``method`` recorded ``quantity`` for ``estimate``."""
        n = self._stat(method, estimate, quantity, "n")
        return not math.isnan(n) and n > 0

    def cell_text(self, method: str, estimate: str, quantity: str) -> str:
        median = self._stat(method, estimate, quantity, "median")
        if math.isnan(median):
            return "-"
        q25, q75 = (
            self._stat(method, estimate, quantity, "q25"),
            self._stat(method, estimate, quantity, "q75"),
        )
        if quantity.startswith("simulated_"):  # a budget: a count, equal over seeds
            count = _fmt_count(median)
            return (
                count if q25 == q75 == median else f"{count} [{_fmt_count(q25)}, {_fmt_count(q75)}]"
            )
        return f"{_fmt(median)} [{_fmt(q25)}, {_fmt(q75)}]"

    def test_text(self, method: str, estimate: str, quantity: str) -> str:
        p = self._stat(method, estimate, quantity, "p_vs_interrogate")
        holm = self._stat(method, estimate, quantity, "p_holm")
        effect = self._stat(method, estimate, quantity, "effect_size")
        if math.isnan(holm):
            return _fmt_p(p) if math.isnan(effect) else f"{_fmt_p(p)} (r {effect:+.2f})"
        return f"{_fmt_p(p)} (Holm {_fmt_p(holm)}; r {effect:+.2f})"

    def _reference_present(self) -> bool:
        return self.reference in self.methods and self.finished(self.reference) > 0
