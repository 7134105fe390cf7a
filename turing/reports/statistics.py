"""Statistics of samples over seeds: medians and quartiles, two-sided Mann-Whitney U
tests, Holm's correction of a family of p-values, and rank-based effect sizes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value: Any) -> float:
    return float(value) if is_number(value) else math.nan


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """``(median, 25th percentile, 75th percentile)`` of the finite ``values`` (NaN if none)."""
    array = np.asarray([v for v in values if is_number(v) and math.isfinite(v)], dtype=np.float64)
    if array.size == 0:
        return math.nan, math.nan, math.nan
    q25, median, q75 = np.percentile(array, [25, 50, 75])
    return float(median), float(q25), float(q75)


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value of samples ``x`` and ``y`` (NaN if either is empty)."""
    from scipy.stats import mannwhitneyu

    x = [v for v in x if math.isfinite(v)]
    y = [v for v in y if math.isfinite(v)]
    if not x or not y:
        return math.nan
    return float(mannwhitneyu(x, y, alternative="two-sided").pvalue)


def rank_biserial(x: Sequence[float], y: Sequence[float]) -> float:
    """Effect size of the Mann-Whitney U test: ``P(x < y) - P(x > y)`` over all pairs (the
    rank-biserial correlation), in [-1, 1]. For errors, +1 means every value of ``x`` is
    smaller than every value of ``y``; 0, no tendency. NaN if either sample is empty."""
    x = np.asarray([v for v in x if math.isfinite(v)], dtype=np.float64)
    y = np.asarray([v for v in y if math.isfinite(v)], dtype=np.float64)
    if x.size == 0 or y.size == 0:
        return math.nan
    difference = x[:, None] - y[None, :]
    return float(((difference < 0).sum() - (difference > 0).sum()) / difference.size)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down correction of a family of p-values (NaN entries are left out of the
    family and stay NaN): the adjusted values, in the order given."""
    indexed = [(p, k) for k, p in enumerate(p_values) if math.isfinite(p)]
    indexed.sort()
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, k) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[k] = running
    return adjusted


FEW_SEEDS = 5
"""Below this many runs of a method, a comparison says how small its p-values can get."""


def smallest_p_value(n1: int, n2: int) -> float:
    """The smallest two-sided p-value an exact Mann-Whitney U test of ``n1`` against ``n2``
    values can give: every value of one sample below every value of the other,
    ``2 / C(n1 + n2, n1)`` (at most 1)."""
    if n1 < 1 or n2 < 1:
        return math.nan
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def few_seeds_note(reference: str, n_reference: int, others: dict[str, int], family: int) -> str:
    """One sentence on the smallest p-values reachable where a test has fewer than
    :data:`FEW_SEEDS` runs on a side (empty if none has).

    Args:
        reference: the method every other one is tested against.
        n_reference: its finished runs.
        others: every other method's finished runs.
        family: tests per Holm family (the parameters).
    """
    groups: dict[int, list[str]] = {}
    for method, n in others.items():
        if n and n_reference and min(n, n_reference) < FEW_SEEDS:
            groups.setdefault(n, []).append(method)
    if not groups:
        return ""
    parts = []
    for n, methods in groups.items():
        p = smallest_p_value(n_reference, n)
        holm_p = min(1.0, family * p)
        after = f"; {holm_p:.2g} after Holm's correction across {family} parameters"
        parts.append(
            f"{p:.2g} against {' and '.join(methods)} ({n_reference} vs {n} runs"
            + (after if family > 1 else "")
            + ")"
        )
    return (
        f"With fewer than {FEW_SEEDS} seeds the tests cannot reach small p-values: the "
        f"smallest two-sided Mann-Whitney U p-value of {reference} is " + "; ".join(parts) + "."
    )
