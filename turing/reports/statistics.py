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
