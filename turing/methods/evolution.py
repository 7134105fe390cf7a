"""The paper's (mu + lambda) self-adaptive evolution strategy, built with DEAP.

Specification: ``docs/specs/evolution-strategy.md``. Both populations (models and
interrogators) use it. Individuals are DEAP ``array.array`` individuals with a ``strategy``
(the per-gene step sizes); the operators are registered in a DEAP toolbox but draw every
random number from the run's explicit numpy generator, never from Python's global
``random`` module, so that runs are reproducible and resumable.

One generation: every individual (parents included) is evaluated anew, because fitness is
relative to the current opposing population; the population is ranked by fitness with
ties broken at random; the top ``mu`` are the parents; ``lambda`` offspring are made by
discrete recombination of the genes and intermediate recombination of the step sizes of
two parents drawn with replacement, then self-adaptive mutation at half the textbook
learning rates. Bounded genes redraw their mutation until in bounds (at most
``max_redraws`` times, then clip; clips are counted).
"""

from __future__ import annotations

import array
import math
from dataclasses import dataclass

import numpy as np
from deap import base, creator, tools

# DEAP classes are created once, at import (creating them in functions breaks pickling in
# worker processes). The guard keeps module reloads quiet.
if not hasattr(creator, "TuringFitness"):
    creator.create("TuringFitness", base.Fitness, weights=(1.0,))
if not hasattr(creator, "TuringIndividual"):
    creator.create(
        "TuringIndividual", array.array, typecode="d", fitness=creator.TuringFitness, strategy=None
    )
if not hasattr(creator, "TuringStrategy"):
    creator.create("TuringStrategy", array.array, typecode="d")

Individual = creator.TuringIndividual


@dataclass(frozen=True)
class ESSettings:
    """Settings of one population's evolution strategy.

    Args:
        size: population size (mu + lambda).
        sigma_init: initial step size of every gene (scalar) or per gene.
        sigma_min: floor of every step size.
        init: ``zero`` (every gene 0, clamped into its bounds, as in the original code) or
            ``uniform`` (uniform within bounds; unbounded genes uniform in [-1, 1]).
        max_redraws: redraws of an out-of-bounds mutation before it is clipped.
    """

    size: int
    sigma_init: float | tuple[float, ...] = 1.0
    sigma_min: float = 0.01
    init: str = "zero"
    max_redraws: int = 100

    @property
    def mu(self) -> int:
        return self.size // 2 if self.size > 1 else 1

    @property
    def lam(self) -> int:
        return self.size - self.mu


def rank(individuals: list, rng: np.random.Generator) -> list:
    """Individuals sorted by fitness, best first, ties broken uniformly at random."""
    fitness = np.array([ind.fitness.values[0] for ind in individuals])
    order = np.lexsort((rng.random(len(individuals)), -fitness))
    return [individuals[i] for i in order]


def recombine(parents: list, rng: np.random.Generator):
    """One offspring of two parents drawn uniformly with replacement: each gene from one of
    them at random (discrete), each step size the mean of theirs (intermediate)."""
    first = parents[rng.integers(len(parents))]
    second = parents[rng.integers(len(parents))]
    genes_a, genes_b = np.asarray(first), np.asarray(second)
    take_first = rng.random(len(genes_a)) < 0.5
    child = Individual(np.where(take_first, genes_a, genes_b))
    child.strategy = creator.TuringStrategy(
        (np.asarray(first.strategy) + np.asarray(second.strategy)) / 2
    )
    return child


def mutate(
    individual,
    low: np.ndarray,
    high: np.ndarray,
    rng: np.random.Generator,
    sigma_min: float = 0.01,
    max_redraws: int = 100,
    periodic: np.ndarray | None = None,
) -> tuple[object, int]:
    """Self-adaptive Gaussian mutation in place.

    ``g = exp(N(0, tau0^2))`` once per individual, ``tau0 = 1 / (2 sqrt(2 n))``; per gene
    ``sigma <- max(sigma_min, sigma g exp(N(0, tau^2)))``, ``tau = 1 / (2 sqrt(2 sqrt n))``,
    then ``x <- x + N(0, sigma^2)``. A gene that leaves its bounds redraws both draws; a
    ``periodic`` gene (bounds one period apart) is wrapped into them instead.

    Returns:
        ``(individual, clipped)``: the number of genes clipped after ``max_redraws``.
    """
    genes = np.asarray(individual, dtype=np.float64)
    sigma = np.asarray(individual.strategy, dtype=np.float64)
    n = genes.size
    tau0 = 1.0 / (2.0 * math.sqrt(2.0 * n))
    tau = 1.0 / (2.0 * math.sqrt(2.0 * math.sqrt(n)))
    global_factor = math.exp(tau0 * rng.standard_normal())

    new_sigma = np.maximum(sigma_min, sigma * global_factor * np.exp(tau * rng.standard_normal(n)))
    new_genes = genes + new_sigma * rng.standard_normal(n)
    if periodic is not None and periodic.any():
        width = high[periodic] - low[periodic]
        new_genes[periodic] = low[periodic] + np.mod(new_genes[periodic] - low[periodic], width)
    outside = np.flatnonzero((new_genes < low) | (new_genes > high))
    for _ in range(max_redraws):
        if outside.size == 0:
            break
        k = outside.size
        new_sigma[outside] = np.maximum(
            sigma_min, sigma[outside] * global_factor * np.exp(tau * rng.standard_normal(k))
        )
        new_genes[outside] = genes[outside] + new_sigma[outside] * rng.standard_normal(k)
        outside = outside[
            (new_genes[outside] < low[outside]) | (new_genes[outside] > high[outside])
        ]
    clipped = int(outside.size)
    if clipped:
        new_genes = np.clip(new_genes, low, high)
    individual[:] = array.array("d", new_genes)
    individual.strategy[:] = array.array("d", new_sigma)
    del individual.fitness.values
    return individual, clipped


class EvolutionStrategy:
    """The (mu + lambda) ES of one population, as a DEAP toolbox.

    Args:
        n_genes: genes per individual.
        low: lower bounds per gene (``-inf`` for unbounded genes).
        high: upper bounds per gene (``inf`` for unbounded).
        settings: sizes, initial step sizes, initialisation.
        rng: the population's random stream (initialisation, ranking, variation).
        periodic: genes that wrap around their bounds when mutated (default none).
    """

    def __init__(
        self,
        n_genes: int,
        low: np.ndarray,
        high: np.ndarray,
        settings: ESSettings,
        rng: np.random.Generator,
        periodic: np.ndarray | None = None,
    ):
        self.n_genes = n_genes
        self.low = np.broadcast_to(np.asarray(low, dtype=np.float64), (n_genes,)).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype=np.float64), (n_genes,)).copy()
        self.settings = settings
        self.rng = rng
        self.sigma_init = np.broadcast_to(
            np.asarray(settings.sigma_init, dtype=np.float64), (n_genes,)
        ).copy()
        self.toolbox = base.Toolbox()
        self.toolbox.register("individual", self._new_individual)
        self.toolbox.register("population", tools.initRepeat, list, self.toolbox.individual)
        self.toolbox.register("rank", rank, rng=rng)
        self.toolbox.register("mate", recombine, rng=rng)
        self.toolbox.register(
            "mutate",
            mutate,
            low=self.low,
            high=self.high,
            rng=rng,
            sigma_min=settings.sigma_min,
            max_redraws=settings.max_redraws,
            periodic=None if periodic is None else np.asarray(periodic, dtype=bool),
        )

    def _new_individual(self):
        if self.settings.init == "zero":
            genes = np.clip(np.zeros(self.n_genes), self.low, self.high)
        elif self.settings.init == "uniform":
            low = np.where(np.isfinite(self.low), self.low, -1.0)
            high = np.where(np.isfinite(self.high), self.high, 1.0)
            genes = self.rng.uniform(low, high)
        else:
            raise ValueError(f"unknown initialisation {self.settings.init!r}")
        individual = Individual(genes)
        individual.strategy = creator.TuringStrategy(self.sigma_init)
        return individual

    def population(self) -> list:
        """The initial population."""
        return self.toolbox.population(n=self.settings.size)

    def rank(self, population: list) -> list:
        """The evaluated population, best first (random tie-break)."""
        return self.toolbox.rank(population)

    def next_population(self, ranked: list) -> tuple[list, int]:
        """Parents (the top mu of ``ranked``) plus lambda mutated offspring.

        Returns:
            ``(population, clipped)``, the number of genes clipped by the bounds.
        """
        parents = ranked[: self.settings.mu]
        offspring, clipped = [], 0
        for _ in range(self.settings.lam):
            child, clips = self.toolbox.mutate(self.toolbox.mate(parents))
            offspring.append(child)
            clipped += clips
        return list(parents) + offspring, clipped

    def state(self, population: list) -> tuple[dict[str, np.ndarray], dict]:
        """What a checkpoint needs beyond the population's genes and step sizes: nothing
        (the CMA-ES adds its distribution)."""
        return {}, {}

    def restore(self, arrays: dict[str, np.ndarray], meta: dict) -> list:
        """The population of a checkpoint (``model_genes`` / ``model_sigma``)."""
        return self.from_arrays(arrays["model_genes"], arrays["model_sigma"])

    @staticmethod
    def set_fitness(population: list, fitness: np.ndarray) -> None:
        for individual, value in zip(
            population, np.asarray(fitness, dtype=np.float64), strict=True
        ):
            individual.fitness.values = (float(value),)

    @staticmethod
    def genes(population: list) -> np.ndarray:
        """``[size, n_genes]`` array of the genes."""
        return np.array([np.asarray(ind) for ind in population], dtype=np.float64)

    @staticmethod
    def strategies(population: list) -> np.ndarray:
        return np.array([np.asarray(ind.strategy) for ind in population], dtype=np.float64)

    @staticmethod
    def from_arrays(genes: np.ndarray, strategies: np.ndarray) -> list:
        """Rebuilds a population (without fitness) from checkpointed arrays."""
        population = []
        for row, sigma in zip(genes, strategies, strict=True):
            individual = Individual(np.asarray(row, dtype=np.float64))
            individual.strategy = creator.TuringStrategy(np.asarray(sigma, dtype=np.float64))
            population.append(individual)
        return population
