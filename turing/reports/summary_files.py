"""A comparison summary's files: ``cells.csv`` (one row per finished run, every number the
summary uses), ``summary.csv`` (one row per method, estimate and quantity), the figures
(:mod:`turing.reports.figures`) and ``summary.md``; and ``summary.csv`` read back."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from turing.reports.quantities import SUMMARY_COLUMNS
from turing.reports.summary import Summary
from turing.runs.result import Result
from turing.runs.rundir import atomic_write_bytes


def write_summary(
    summary: Summary, folder: str | Path, results: Sequence[Result], plots: bool = True
) -> Summary:
    """Writes ``cells.csv``, ``summary.csv``, the figures and ``summary.md`` into ``folder``.

    Args:
        summary: what :func:`summarise_results` returned for ``results``.
        folder: the comparison folder.
        results: the finished runs (their ``metrics.csv`` feeds the convergence plots).
        plots: draw the figures.

    Returns:
        ``summary`` with ``path`` and ``files`` set.
    """
    folder = Path(folder)
    summary.path = folder
    files = [folder / "cells.csv", folder / "summary.csv"]
    atomic_write_bytes(files[0], _cells_csv(summary).encode())
    atomic_write_bytes(files[1], _csv_text(SUMMARY_COLUMNS, summary.rows).encode())
    if plots and summary.cells:
        from turing.reports.figures import plot_boxes, plot_convergence

        files += plot_boxes(summary, folder / "plots")
        files += plot_convergence(
            summary,
            [r for r in results if summary.method_of(r) in summary.methods],
            folder / "plots",
        )
    summary.files = files
    markdown = folder / "summary.md"
    summary.files.append(markdown)
    atomic_write_bytes(markdown, summary.markdown().encode())
    return summary


def read_summary_csv(path: str | Path) -> list[dict[str, Any]]:
    """``summary.csv`` as dicts with numbers parsed (empty cells become NaN)."""
    with Path(path).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key in ("n", "median", "q25", "q75", "iqr", "p_vs_interrogate"):
            row[key] = float(row[key]) if row[key] != "" else math.nan
        row["n"] = int(row["n"]) if math.isfinite(row["n"]) else 0
    return rows


# ---------------------------------------------------------------------- formatting
def _cells_csv(summary: Summary) -> str:
    keys: list[tuple[str, str]] = []
    for cell in summary.cells:
        keys += [k for k in cell.values if k not in keys]
    header = ["method", "seed", "path", "converged", *[f"{e}:{q}" if e else q for e, q in keys]]
    rows = []
    for cell in summary.cells:
        row = {"method": cell.method, "seed": cell.seed, "path": _relative(cell.path, summary.path)}
        row["converged"] = "" if not cell.convergence else int(cell.convergence["converged"])
        row.update({(f"{e}:{q}" if e else q): cell.values.get((e, q), math.nan) for e, q in keys})
        rows.append(row)
    return _csv_text(header, rows)


def _relative(path: Path, folder: Path | None) -> str:
    # Relative paths keep cells.csv valid when the comparison folder is moved or sent.
    if folder is None:
        return Path(path).as_posix()
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(path).as_posix()


def _csv_text(header: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(row.get(k)) for k in header])
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))  # counts (trials, steps) read as whole numbers
        return repr(value)  # round-trips exactly: the tests recompute and compare
    return str(value)
