"""CMA-ES for the models (``--model-strategy cma``), built on DEAP's ``cma.Strategy``.

The paper's self-adaptive ES adapts one step size per gene at half the textbook learning
rates; CMA-ES (Hansen and Ostermeier 2001) adapts a full covariance matrix and one global
step size from the path of the population's mean, and is the standard choice for
continuous problems of this size (16 parameters in case study 2). It is a (mu, lambda)
strategy: every generation ``--models`` offspring are drawn around the weighted mean of
the best half of the last generation (DEAP's superlinear weights).

The search runs in coordinates scaled to each parameter's range (``u = (x - low) /
width``), so one step size fits every parameter; the initial mean is the paper's initial
model (``--init``) and the initial step size ``--model-sigma-init`` (0.1 of each range by
default), moved inside the bounds by that step; the widest sampling direction never
exceeds that step (see :meth:`CMAStrategy._cap`). A drawn point becomes a model by
wrapping periodic parameters (angles) around their period and mirroring bounded ones back
into their bounds, so no draw is rejected and none is clipped. Fitness is relative to the current interrogators, as for the ES:
every generation all offspring are judged anew.

DEAP draws from numpy's global generator; here every draw comes from the run's ``models``
generator, and the whole state (mean, step size, covariance, evolution paths, the current
offspring before mapping) is checkpointed, so a resumed run continues bit-identically.
"""

from __future__ import annotations

import numpy as np
from deap import cma, creator

from turing.methods.evolution import ESSettings, Individual, rank


class SeededCMA(cma.Strategy):
    """DEAP's CMA-ES with its draws taken from an explicit numpy generator."""

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """``[lambda, dim]`` points drawn from the current distribution."""
        z = rng.standard_normal((self.lambda_, self.dim))
        return self.centroid + self.sigma * z @ self.BD.T

    def decompose(self) -> None:
        """The eigendecomposition of ``C`` as DEAP's ``update`` computes it (so that a
        restored state samples exactly what the running one would)."""
        self.diagD, self.B = np.linalg.eigh(self.C)
        order = np.argsort(self.diagD)
        self.cond = self.diagD[order[-1]] / self.diagD[order[0]]
        self.diagD = self.diagD[order] ** 0.5
        self.B = self.B[:, order]
        self.BD = self.B * self.diagD


class CMAStrategy:
    """The models' CMA-ES, with the interface of
    :class:`~turing.methods.evolution.EvolutionStrategy` that coevolution uses.

    Args:
        low: lower bounds per parameter.
        high: upper bounds per parameter.
        settings: ``size`` (offspring per generation), ``sigma_init`` (as a fraction of each
            range), ``init``.
        rng: the models' random stream.
        periodic: parameters that wrap around their range (angles).
    """

    def __init__(
        self,
        low: np.ndarray,
        high: np.ndarray,
        settings: ESSettings,
        rng: np.random.Generator,
        periodic: np.ndarray | None = None,
    ):
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        self.width = self.high - self.low
        self.n_genes = self.low.size
        self.settings = settings
        self.rng = rng
        self.periodic = (
            np.zeros(self.n_genes, bool) if periodic is None else np.asarray(periodic, bool)
        )
        self.sigma_max = float(np.mean(settings.sigma_init))
        if settings.init == "zero":
            start = (np.clip(np.zeros(self.n_genes), self.low, self.high) - self.low) / self.width
        else:
            start = rng.uniform(0.0, 1.0, self.n_genes)
        # A start on a bound is a mirror's symmetry point: draws either side map to the
        # same model, and selection only widens the distribution. Start a step inside.
        inside = np.clip(start, self.sigma_max, 1.0 - self.sigma_max)
        start = np.where(self.periodic, start, inside)
        self.strategy = SeededCMA(
            centroid=start, sigma=self.sigma_max, lambda_=settings.size, mu=settings.mu
        )

    # ------------------------------------------------------------------ mapping
    def to_parameters(self, points: np.ndarray) -> np.ndarray:
        """Scaled points ``[N, D]`` as parameter values: periodic ones wrapped, the others
        mirrored into their bounds."""
        u = np.asarray(points, dtype=np.float64).copy()
        u[:, self.periodic] = np.mod(u[:, self.periodic], 1.0)
        bounded = ~self.periodic
        folded = np.mod(u[:, bounded], 2.0)
        u[:, bounded] = np.where(folded > 1.0, 2.0 - folded, folded)
        return self.low + u * self.width

    def step_sizes(self) -> np.ndarray:
        """Each parameter's current sampling standard deviation, in its units."""
        return self.strategy.sigma * np.sqrt(np.diag(self.strategy.C)) * self.width

    def _individuals(self, points: np.ndarray) -> list:
        sigma = self.step_sizes()
        population = []
        for point, values in zip(points, self.to_parameters(points), strict=True):
            individual = Individual(values)
            individual.strategy = creator.TuringStrategy(sigma)
            individual.point = np.array(point)
            population.append(individual)
        return population

    # ------------------------------------------------------------------ generations
    def population(self) -> list:
        """The first generation's offspring."""
        return self._individuals(self.strategy.sample(self.rng))

    def rank(self, population: list) -> list:
        """The judged offspring, best first (random tie-break)."""
        return rank(population, self.rng)

    def next_population(self, ranked: list) -> tuple[list, int]:
        """Updates the distribution from the ranked offspring and draws the next ones.

        Returns:
            ``(population, 0)``: nothing is ever clipped.
        """
        points = []
        for individual in ranked:
            point = creator.TuringIndividual(individual.point)
            point.fitness.values = individual.fitness.values
            points.append(point)
        # DEAP sorts by fitness again; its sort is stable, so the random tie-break stays.
        self.strategy.update(points)
        self._cap()
        return self._individuals(self.strategy.sample(self.rng)), 0

    def _cap(self) -> None:
        """Keeps the widest sampling direction within the initial step size. Judged by
        coevolving interrogators, the fitness landscape moves every generation; the
        cumulative step-size control reads those consistent moves as a sign to widen the
        search, and without a cap the search became a random one (0.6 of the range after
        30 generations of case study 2)."""
        s = self.strategy
        widest = s.sigma * float(s.diagD.max())
        if widest > self.sigma_max:
            s.sigma = self.sigma_max / float(s.diagD.max())

    # ------------------------------------------------------------------ checkpoints
    def state(self, population: list) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        """What a checkpoint adds to the population's genes: the distribution and the
        current offspring's unmapped points."""
        s = self.strategy
        arrays = {
            "model_cma_points": np.array([ind.point for ind in population]),
            "model_cma_centroid": np.asarray(s.centroid, dtype=np.float64),
            "model_cma_C": np.asarray(s.C, dtype=np.float64),
            "model_cma_pc": np.asarray(s.pc, dtype=np.float64),
            "model_cma_ps": np.asarray(s.ps, dtype=np.float64),
        }
        return arrays, {"model_cma_sigma": float(s.sigma), "model_cma_updates": s.update_count}

    def restore(self, arrays: dict[str, np.ndarray], meta: dict) -> list:
        """Restores :meth:`state`; returns the population it was taken with."""
        s = self.strategy
        s.centroid = np.array(arrays["model_cma_centroid"], dtype=np.float64)
        s.C = np.array(arrays["model_cma_C"], dtype=np.float64)
        s.pc = np.array(arrays["model_cma_pc"], dtype=np.float64)
        s.ps = np.array(arrays["model_cma_ps"], dtype=np.float64)
        s.sigma = float(meta["model_cma_sigma"])
        s.update_count = int(meta["model_cma_updates"])
        s.decompose()
        return self._individuals(np.array(arrays["model_cma_points"], dtype=np.float64))
