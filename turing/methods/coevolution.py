"""Turing Learning proper: models and interrogators coevolved by the paper's ES.

Each generation the :class:`~turing.engine.evaluator.Evaluator` runs all-vs-all trials;
interrogators are rewarded for correct judgements (fraction of ``2 M``), models for being
judged genuine (fraction of ``P``); each population is ranked (random tie-break) and
replaced by its best half plus as many offspring. Modes ``interrogate``, ``passive`` and
``passive-io`` differ only in what the interrogator may do and see (see the evaluator).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from deap import tools

from turing.agents import ModelPopulation
from turing.contracts.seeding import numpy_generator, numpy_state, set_numpy_state
from turing.engine.evaluator import (
    COEVOLUTION_MODES,
    Evaluator,
    Judgements,
    Request,
    interrogator_shape,
)
from turing.engine.random import stream_key
from turing.methods.diagnostics import population_columns
from turing.methods.evolution import ESSettings, EvolutionStrategy, model_strategy
from turing.methods.method import GenerationReport, Method, register_method


@register_method
class Coevolution(Method):
    """Coevolution of models and interrogators (or passive discriminators)."""

    modes = COEVOLUTION_MODES
    description = "Turing Learning: models coevolve with interrogators (paper's (50+50) ES)"

    def __init__(self, system, truth, config):
        super().__init__(system, truth, config)
        seed = config.seed
        self.model_es = model_strategy(system, config)
        self.shape = interrogator_shape(system, config.mode, config.hidden)
        self.interrogator_es = EvolutionStrategy(
            self.shape.n_weights,
            -np.inf,
            np.inf,
            ESSettings(
                size=config.interrogators,
                sigma_init=config.interrogator_sigma_init,
                init=config.init,
            ),
            numpy_generator(seed, "interrogators"),
        )
        self.evaluator = Evaluator(
            system,
            config.mode,
            torch.tensor(truth.simulation),
            config.steps,
            self.device,
            config.chunk_size,
            config.backend,
            config.threads,
            config.hidden,
        )
        self.generations_done = 0
        self.models = self.model_es.population()
        self.interrogators = self.interrogator_es.population()
        self._last: dict[str, np.ndarray] = {}
        # DEAP statistics of both populations' fitness, and a Logbook of this process's
        # generations for Python users (metrics.csv is the run's complete record).
        self.statistics = tools.Statistics(key=lambda individual: individual.fitness.values[0])
        self.statistics.register("best", np.max)
        self.statistics.register("mean", np.mean)
        self.logbook = tools.Logbook()

    def request(self) -> Request:
        """This generation's trials (for :meth:`conclude`; :meth:`generation` does both, a
        batch of runs evaluates many requests at once)."""
        model_genes = EvolutionStrategy.genes(self.models)
        weights = torch.as_tensor(EvolutionStrategy.genes(self.interrogators), dtype=torch.float32)
        return Request(
            ModelPopulation(self.system, model_genes).simulation(self.device, truth=self.truth),
            weights,
            stream_key(self.config.seed, "simulation", self.generations_done),
        )

    def generation(self) -> GenerationReport:
        return self.conclude(self.evaluator.evaluate_many([self.request()])[0])

    def conclude(self, judgements: Judgements) -> GenerationReport:
        """Selection and variation after the generation's judgements."""
        self.generations_done += 1
        self._count(2 * len(self.models) * len(self.interrogators), self.config.steps)

        fooled = judgements.model_fitness.cpu().numpy()
        model_fitness = (
            judgements.graded_model_fitness.cpu().numpy()
            if self.config.model_fitness == "graded"
            else fooled
        )
        interrogator_fitness = judgements.interrogator_fitness.cpu().numpy()
        EvolutionStrategy.set_fitness(self.models, model_fitness)
        EvolutionStrategy.set_fitness(self.interrogators, interrogator_fitness)
        ranked_models = self.model_es.rank(self.models)
        ranked_interrogators = self.interrogator_es.rank(self.interrogators)

        ranked_genes = EvolutionStrategy.genes(ranked_models)
        self._last = {
            "model_genes": ranked_genes,
            "model_sigma": EvolutionStrategy.strategies(ranked_models),
            "model_fitness": np.array([m.fitness.values[0] for m in ranked_models]),
            "interrogator_weights": EvolutionStrategy.genes(ranked_interrogators),
            "interrogator_sigma": EvolutionStrategy.strategies(ranked_interrogators),
            "interrogator_fitness": np.array([i.fitness.values[0] for i in ranked_interrogators]),
        }
        accuracy_genuine = float(judgements.accuracy_genuine.mean())
        accuracy_model = float(judgements.accuracy_model.mean())
        # Interrogator fitness is the fraction of correct judgements: its accuracy.
        record = {
            "models": self.statistics.compile(self.models),
            "interrogators": self.statistics.compile(self.interrogators),
        }
        metrics = {
            "model_fitness_best": float(record["models"]["best"]),
            "model_fitness_mean": float(record["models"]["mean"]),
            # The fraction of interrogators fooled, whatever the fitness (= it by default).
            "models_fooled_best": float(fooled.max()),
            "models_fooled_mean": float(fooled.mean()),
            "interrogator_accuracy_best": float(record["interrogators"]["best"]),
            "interrogator_accuracy_mean": float(record["interrogators"]["mean"]),
            "accuracy_genuine": accuracy_genuine,
            "accuracy_model": accuracy_model,
            "failed_models": int(judgements.model_failed.sum()),
        }
        # Step sizes and spread of the model parents: has the population collapsed?
        metrics.update(
            population_columns(
                self.system, ranked_genes, self._last["model_sigma"], self.model_es.settings.mu
            )
        )
        self.models, clipped = self.model_es.next_population(ranked_models)
        self.interrogators, _ = self.interrogator_es.next_population(ranked_interrogators)
        metrics["clipped_genes"] = clipped
        self.logbook.record(**metrics)
        return GenerationReport(
            ranked=ranked_genes,
            metrics=metrics,
            progress=f"acc g {accuracy_genuine:.2f} m {accuracy_model:.2f}",
        )

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {
            "model_genes": EvolutionStrategy.genes(self.models),
            "model_sigma": EvolutionStrategy.strategies(self.models),
            "interrogator_genes": EvolutionStrategy.genes(self.interrogators),
            "interrogator_sigma": EvolutionStrategy.strategies(self.interrogators),
        }
        meta = {
            "models_rng": numpy_state(self.model_es.rng),
            "interrogators_rng": numpy_state(self.interrogator_es.rng),
            "simulated_trials": self.simulated_trials,
            "simulated_steps": self.simulated_steps,
            "generations_done": self.generations_done,
        }
        extra_arrays, extra_meta = self.model_es.state(self.models)  # CMA-ES: its distribution
        return {**arrays, **extra_arrays}, {**meta, **extra_meta}

    def load_state(self, arrays, meta) -> None:
        self.models = self.model_es.restore(arrays, meta)
        self.interrogators = EvolutionStrategy.from_arrays(
            arrays["interrogator_genes"], arrays["interrogator_sigma"]
        )
        set_numpy_state(self.model_es.rng, meta["models_rng"])
        set_numpy_state(self.interrogator_es.rng, meta["interrogators_rng"])
        self.simulated_trials = int(meta["simulated_trials"])
        self.simulated_steps = int(meta["simulated_steps"])
        self.generations_done = int(meta["generations_done"])

    def final_arrays(self) -> dict[str, np.ndarray]:
        return dict(self._last)

    def record_episodes(self, trials: int) -> dict[str, np.ndarray]:
        """``trials`` pairs of the best interrogator against the genuine system and the best
        model of the last generation."""
        if not self._last:
            return {}
        model = ModelPopulation(self.system, self._last["model_genes"][:1]).simulation(
            self.device, truth=self.truth
        )[:, 0]
        record = self.evaluator.record(
            model,
            self._last["interrogator_weights"][0],
            trials,
            stream_key(self.config.seed, "episodes"),
        )
        return {k: v.cpu().numpy() for k, v in record.items()}
