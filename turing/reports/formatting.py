"""How summaries write numbers: markdown tables, values, p-values and counts."""

from __future__ import annotations

import math
from collections.abc import Sequence


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def fmt(value: float) -> str:
    if math.isnan(value):
        return "nan"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e5):
        return f"{value:.2e}"
    if magnitude >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"  # three significant digits: seeds vary more than that


def fmt_p(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.2g}" if value >= 1e-3 else f"{value:.1e}"


def fmt_count(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f}"
