"""Per-generation health of an evolving model population, for ``metrics.csv``.

Whether a run is still searching or has collapsed shows in two numbers per parameter:
the parents' step sizes (the evolution strategy's own estimate of how far to search) and
their spread (how different the parents still are). Both are written relative to the
parameter's range, so one threshold reads the same for every system; periodic parameters
(angles) are measured on the circle. ``docs/results/robust/`` shows how the stuck seeds of
case study 2 look in these columns.
"""

from __future__ import annotations

import numpy as np

from turing.contracts.system import System


def offsets(values: np.ndarray, period: float) -> np.ndarray:
    """``values`` (``[N, K]``, columns on a circle of ``period``) as signed offsets from
    each column's circular mean, in ``[-period / 2, period / 2)``."""
    angle = values * (2 * np.pi / period)
    centre = np.arctan2(np.sin(angle).mean(0), np.cos(angle).mean(0)) * period / (2 * np.pi)
    return np.mod(values - centre + period / 2, period) - period / 2


def spread(system: System, genes: np.ndarray) -> np.ndarray:
    """Each parameter's standard deviation over ``genes`` (``[N, D]``, one row per model),
    on the circle for periodic parameters, in the parameter's units."""
    genes = np.asarray(genes, dtype=np.float64).reshape(-1, len(system.parameters))
    result = genes.std(0)
    for k, parameter in enumerate(system.parameters):
        if parameter.periodic:
            result[k] = offsets(genes[:, k : k + 1], parameter.width).std()
    return result


def population_columns(
    system: System, ranked_genes: np.ndarray, ranked_sigma: np.ndarray, parents: int
) -> dict[str, float]:
    """The diagnostic columns of one generation's ranked model population.

    Args:
        system: the system (parameter names, ranges, periodicity).
        ranked_genes: ``[M, D]`` model parameters, best first.
        ranked_sigma: ``[M, D]`` their mutation step sizes.
        parents: how many of the best models become parents (the ES's ``mu``).

    Returns:
        ``model_sigma_median`` and ``model_spread_median`` (medians over parameters of the
        parents' median step size and of their spread, each as a fraction of the
        parameter's range), then ``sigma_<name>`` and ``spread_<name>`` per parameter in
        its own units.
    """
    widths = np.asarray(system.highs - system.lows, dtype=np.float64)
    top_genes = np.asarray(ranked_genes, dtype=np.float64)[:parents]
    sigma = np.median(np.asarray(ranked_sigma, dtype=np.float64)[:parents], axis=0)
    diversity = spread(system, top_genes)
    columns = {
        "model_sigma_median": float(np.median(sigma / widths)),
        "model_spread_median": float(np.median(diversity / widths)),
    }
    for k, name in enumerate(system.parameter_names):
        columns[f"sigma_{name}"] = float(sigma[k])
    for k, name in enumerate(system.parameter_names):
        columns[f"spread_{name}"] = float(diversity[k])
    return columns
