"""The (mu + lambda) self-adaptive ES operators behave as specs/evolution-strategy.md says."""

from __future__ import annotations

import math

import numpy as np
import pytest
from deap import creator

from turing.methods.evolution import (
    ESSettings,
    EvolutionStrategy,
    Individual,
    mutate,
    rank,
    recombine,
)


def individual(genes, sigma):
    ind = Individual(np.asarray(genes, dtype=float))
    ind.strategy = creator.TuringStrategy(np.asarray(sigma, dtype=float))
    return ind


def test_self_adaptation_learning_rates_are_half_the_textbook_ones():
    n, trials = 16, 20_000
    rng = np.random.default_rng(0)
    tau0 = 1 / (2 * math.sqrt(2 * n))
    tau = 1 / (2 * math.sqrt(2 * math.sqrt(n)))
    log_ratios = np.empty((trials, n))
    for k in range(trials):
        ind = individual(np.zeros(n), np.ones(n))
        mutate(ind, np.full(n, -np.inf), np.full(n, np.inf), rng, sigma_min=1e-9)
        log_ratios[k] = np.log(np.asarray(ind.strategy))
    # log sigma' - log sigma = tau0 N + tau N_k: variance tau0^2 + tau^2, and the shared
    # draw correlates genes of one individual with covariance tau0^2.
    assert log_ratios.mean() == pytest.approx(0.0, abs=0.005)
    assert log_ratios.var() == pytest.approx(tau0**2 + tau**2, rel=0.03)
    covariance = np.cov(log_ratios[:, 0], log_ratios[:, 1])[0, 1]
    assert covariance == pytest.approx(tau0**2, rel=0.1)


def test_gene_mutation_uses_the_new_step_size():
    rng = np.random.default_rng(1)
    n, trials = 4, 20_000
    steps = np.empty((trials, n))
    sigmas = np.empty((trials, n))
    for k in range(trials):
        ind = individual(np.zeros(n), np.full(n, 0.5))
        mutate(ind, np.full(n, -np.inf), np.full(n, np.inf), rng)
        steps[k] = np.asarray(ind)
        sigmas[k] = np.asarray(ind.strategy)
    standardised = steps / sigmas
    assert standardised.mean() == pytest.approx(0.0, abs=0.02)
    assert standardised.std() == pytest.approx(1.0, rel=0.02)


def test_step_sizes_have_a_floor():
    rng = np.random.default_rng(2)
    ind = individual(np.zeros(3), np.full(3, 1e-6))
    mutate(ind, np.full(3, -np.inf), np.full(3, np.inf), rng, sigma_min=0.01)
    assert np.all(np.asarray(ind.strategy) >= 0.01)


def test_bounded_genes_are_redrawn_into_bounds_without_clipping():
    rng = np.random.default_rng(3)
    low, high = np.zeros(4), np.ones(4)
    clipped_total = 0
    for _ in range(2000):
        ind = individual([0.0, 0.0, 1.0, 0.5], np.full(4, 0.3))
        _, clipped = mutate(ind, low, high, rng)
        clipped_total += clipped
        assert np.all((np.asarray(ind) >= 0) & (np.asarray(ind) <= 1))
    assert clipped_total == 0


def test_redraw_cap_clips_and_counts():
    rng = np.random.default_rng(4)
    ind = individual([0.0, 0.5], [50.0, 1e-3])
    _, clipped = mutate(ind, np.zeros(2), np.ones(2), rng, sigma_min=1e-4, max_redraws=0)
    genes = np.asarray(ind)
    assert np.all((genes >= 0) & (genes <= 1))
    assert clipped >= 1


def test_recombination_is_discrete_for_genes_and_intermediate_for_step_sizes():
    rng = np.random.default_rng(5)
    a = individual(np.zeros(1000), np.full(1000, 1.0))
    b = individual(np.ones(1000), np.full(1000, 3.0))
    from_a = []
    for _ in range(200):
        child = recombine([a, b], rng)
        genes = np.asarray(child)
        assert set(np.unique(genes)) <= {0.0, 1.0}
        parents_equal = genes.min() == genes.max()
        sigma = np.asarray(child.strategy)
        # Same parent twice (drawn with replacement) or a mixture of both.
        if parents_equal:
            assert np.all(sigma == (1.0 if genes[0] == 0 else 3.0))
        else:
            assert np.all(sigma == 2.0)
            from_a.append((genes == 0).mean())
    # Each gene from either parent with probability 1/2.
    assert np.mean(from_a) == pytest.approx(0.5, abs=0.01)


def test_parents_are_drawn_uniformly_with_replacement():
    rng = np.random.default_rng(6)
    # Step sizes 1, 2, 4, 8, 16: a child's (mean) step size is a power of two only when
    # both parents are the same individual.
    parents = [individual([float(k)], [2.0**k]) for k in range(5)]
    counts = np.zeros(5)
    same, draws = 0, 20_000
    for _ in range(draws):
        child = recombine(parents, rng)
        counts[int(np.asarray(child)[0])] += 1
        sigma = np.asarray(child.strategy)[0]
        same += math.log2(sigma).is_integer()
    assert counts / draws == pytest.approx(np.full(5, 0.2), abs=0.01)
    assert same / draws == pytest.approx(0.2, abs=0.01)


def test_ties_are_broken_at_random_and_reproducibly():
    population = [individual([float(k)], [1.0]) for k in range(10)]
    for ind in population:
        ind.fitness.values = (0.5,)
    population[7].fitness.values = (0.9,)
    firsts = np.zeros(10)
    rng = np.random.default_rng(7)
    for _ in range(9000):
        ranked = rank(population, rng)
        assert np.asarray(ranked[0])[0] == 7
        firsts[int(np.asarray(ranked[1])[0])] += 1
    shares = np.delete(firsts, 7) / firsts.sum()
    assert shares == pytest.approx(np.full(9, 1 / 9), abs=0.015)
    again = [np.asarray(i)[0] for i in rank(population, np.random.default_rng(42))]
    assert again == [np.asarray(i)[0] for i in rank(population, np.random.default_rng(42))]


def test_next_population_keeps_the_best_half_unchanged():
    es = EvolutionStrategy(
        3, np.zeros(3), np.ones(3), ESSettings(size=10, sigma_init=0.1), np.random.default_rng(8)
    )
    population = es.population()
    assert all(np.all(np.asarray(i) == 0) for i in population)
    assert all(np.allclose(np.asarray(i.strategy), 0.1) for i in population)
    EvolutionStrategy.set_fitness(population, np.arange(10) / 10)
    for k, ind in enumerate(population):
        ind[:] = individual(np.full(3, k / 10), [0.1] * 3)
    EvolutionStrategy.set_fitness(population, np.arange(10) / 10)
    ranked = es.rank(population)
    nxt, clipped = es.next_population(ranked)
    assert len(nxt) == 10 and clipped == 0
    assert [np.asarray(i)[0] for i in nxt[:5]] == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.5])
    assert all(not i.fitness.valid for i in nxt[5:])


def test_zero_initialisation_is_clamped_into_bounds():
    es = EvolutionStrategy(
        2,
        np.array([0.01, -1.0]),
        np.array([3.7, 1.0]),
        ESSettings(size=4),
        np.random.default_rng(0),
    )
    assert np.asarray(es.population()[0]).tolist() == [0.01, 0.0]
    uniform = EvolutionStrategy(
        2, np.zeros(2), np.ones(2), ESSettings(size=200, init="uniform"), np.random.default_rng(0)
    )
    genes = EvolutionStrategy.genes(uniform.population())
    assert genes.min() >= 0 and genes.max() <= 1 and genes.std() > 0.2
