"""Turing Learning proper: models and interrogators coevolved by the paper's ES.

Each generation asks for one batch of all-vs-all trials
(:class:`~turing.engine.evaluator.Evaluator`): the genuine trials, then one trial of every
(interrogator, model) pair. Interrogators are rewarded for correct judgements, models for
being judged genuine (fraction of ``P``); each population is ranked (random tie-break) and
replaced by its best half plus as many offspring. Modes ``interrogate``, ``passive`` and
``passive-io`` differ only in what the interrogator may do and see.

**Genuine trials.** In the paper's setting every pair has its own genuine trial: each
interrogator judges ``M`` genuine and ``M`` model trials, and its fitness is the fraction
of the ``2 M`` judgements that are right. Genuine trials can be scarce (a real robot), so a
run may set a budget of ``K`` per generation (``--genuine-trials``). Then:

* the ``K`` trials go to the interrogators that have judged the fewest genuine trials
  lately (offspring first; ``K // P`` each and the rest by that count, ties at random from
  the run's ``genuine-allocation`` stream);
* an interrogator's genuine accuracy is its fraction of right judgements over the last
  ``M`` genuine trials it judged, whichever generations they came from (its network does not
  change while it lives, and the genuine system does not depend on the models, so earlier
  trials remain fair evidence); before its first genuine trial it counts as 0.5 (chance);
* its fitness is ``(accuracy_genuine + accuracy_model) / 2``, the model half from this
  generation's ``M`` model trials (models change every generation).

With one genuine trial per pair this is exactly the paper's fitness (the last ``M`` genuine
trials are this generation's), so runs without a budget are what they always were.
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
    Allocation,
    Evaluator,
    interrogator_shape,
)
from turing.engine.random import stream_key
from turing.errors import UserError
from turing.methods.diagnostics import population_columns
from turing.methods.evolution import ESSettings, EvolutionStrategy
from turing.methods.method import GenerationReport, Method, register_method
from turing.methods.strategies import model_strategy

EMPTY = -1
"""A slot of an interrogator's genuine window with no judgement yet."""


@register_method
class Coevolution(Method):
    """Coevolution of models and interrogators (or passive discriminators)."""

    modes = COEVOLUTION_MODES
    description = "Turing Learning: models coevolve with interrogators (paper's (50+50) ES)"

    def __init__(self, system, truth, config, source=None):
        super().__init__(system, truth, config, source)
        seed = config.seed
        self.live_genuine = config.mode == "interrogate"
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
        self.evaluator.engine = self.engine  # one engine per run: what it built is shared
        self.generations_done = 0
        self.models = self.model_es.population()
        self.interrogators = self.interrogator_es.population()
        self.budget = self.genuine_budget(config)
        self.allocation_rng = numpy_generator(seed, "genuine-allocation")
        self.windows = np.full((config.interrogators, config.models), EMPTY, dtype=np.int8)
        """Each interrogator's last ``M`` genuine judgements (1 right, 0 wrong), newest last."""
        self._asked: tuple[Any, Allocation] | None = None
        self._last: dict[str, np.ndarray] = {}
        # DEAP statistics of both populations' fitness, and a Logbook of this process's
        # generations for Python users (metrics.csv is the run's complete record).
        self.statistics = tools.Statistics(key=lambda individual: individual.fitness.values[0])
        self.statistics.register("best", np.max)
        self.statistics.register("mean", np.mean)
        self.logbook = tools.Logbook()

    @classmethod
    def genuine_budget(cls, config) -> int | None:
        """Genuine trials per generation, or ``None`` for one per pair (the paper's)."""
        pairs = config.models * config.interrogators
        if config.genuine_trials is None or config.genuine_trials == pairs:
            return None
        if config.genuine_trials > pairs:
            raise UserError(
                f"--genuine-trials {config.genuine_trials} is more than one per (interrogator, "
                f"model) pair ({pairs}); give at most {pairs}"
            )
        return int(config.genuine_trials)

    @classmethod
    def check_config(cls, config, system) -> None:
        super().check_config(config, system)
        cls.genuine_budget(config)

    def genuine_per_generation(self) -> int:
        return self.budget or len(self.models) * len(self.interrogators)

    # ------------------------------------------------------------------ ask / tell
    def allocate(self) -> Allocation:
        """This generation's genuine trials (see the module docstring)."""
        p, m = len(self.interrogators), len(self.models)
        if self.budget is None:
            return Allocation.full(p, m)
        judged = (self.windows != EMPTY).sum(1)
        quota = np.full(p, self.budget // p, dtype=np.int64)
        extra = self.budget % p
        if extra:
            order = np.lexsort((self.allocation_rng.random(p), judged))
            quota[order[:extra]] += 1
        owner = np.repeat(np.arange(p), quota)
        slot = np.concatenate([np.arange(q) for q in quota]) if owner.size else owner
        return Allocation(owner.astype(np.int64), slot.astype(np.int64))

    def ask(self):
        model_genes = EvolutionStrategy.genes(self.models)
        weights = torch.as_tensor(EvolutionStrategy.genes(self.interrogators), dtype=torch.float32)
        models = ModelPopulation(self.system, model_genes).simulation(self.device, truth=self.truth)
        allocation = self.allocate()
        batch = self.evaluator.batch(
            models,
            weights,
            stream_key(self.config.seed, "simulation", self.generations_done),
            allocation,
        )
        self._asked = (batch, allocation)
        return [batch]

    def tell(self, trials) -> GenerationReport:
        batch, allocation = self._asked
        self._asked = None
        judgements = self.evaluator.judgements(batch, trials[0], len(self.interrogators))
        return self.conclude(judgements, allocation)

    def conclude(self, judgements, allocation: Allocation | None = None) -> GenerationReport:
        """Selection and variation after the generation's judgements."""
        p, m = len(self.interrogators), len(self.models)
        allocation = allocation or Allocation.full(p, m)
        self.generations_done += 1
        genuine_simulated = allocation.size if self.trials.source.merges else 0
        self._count(p * m + genuine_simulated, self.config.steps)

        fooled = judgements.model_fitness.cpu().numpy()
        self._remember(allocation, judgements.genuine_correct.cpu().numpy())
        valid = self.windows != EMPTY
        judged = valid.sum(1)
        right = (self.windows == 1).sum(1)
        model_right = (~judgements.model).sum(1).cpu().numpy()
        genuine_part = np.where(judged > 0, right * m / np.maximum(judged, 1), 0.5 * m)
        interrogator_fitness = (genuine_part + model_right) / (2 * m)
        model_fitness = score_models(
            self.config.model_fitness, judgements.model_output, fooled, interrogator_fitness
        )
        EvolutionStrategy.set_fitness(self.models, model_fitness)
        EvolutionStrategy.set_fitness(self.interrogators, interrogator_fitness)
        ranked_models = self.model_es.rank(self.models)
        ranked_interrogators = self.interrogator_es.rank(self.interrogators)
        order = _positions(self.interrogators, ranked_interrogators)

        ranked_genes = EvolutionStrategy.genes(ranked_models)
        self._last = {
            "model_genes": ranked_genes,
            "model_sigma": EvolutionStrategy.strategies(ranked_models),
            "model_fitness": np.array([x.fitness.values[0] for x in ranked_models]),
            "interrogator_weights": EvolutionStrategy.genes(ranked_interrogators),
            "interrogator_sigma": EvolutionStrategy.strategies(ranked_interrogators),
            "interrogator_fitness": np.array([i.fitness.values[0] for i in ranked_interrogators]),
        }
        # The mean of per-interrogator accuracies (those that judged a genuine trial).
        accuracy = torch.as_tensor(right[judged > 0] / judged[judged > 0], dtype=torch.float64)
        accuracy_genuine = float(accuracy.mean()) if accuracy.numel() else float("nan")
        accuracy_model = float(judgements.accuracy_model.mean())
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
        if self.budget is not None or not self.trials.source.merges:
            metrics["genuine_trials"] = allocation.size
        self.models, clipped = self.model_es.next_population(ranked_models)
        self.interrogators, _ = self.interrogator_es.next_population(ranked_interrogators)
        parents = self.interrogator_es.settings.mu
        self.windows = np.concatenate(
            [self.windows[order[:parents]], np.full((p - parents, m), EMPTY, dtype=np.int8)]
        )
        metrics["clipped_genes"] = clipped
        self.logbook.record(**metrics)
        return GenerationReport(
            ranked=ranked_genes,
            metrics=metrics,
            progress=f"acc g {accuracy_genuine:.2f} m {accuracy_model:.2f}",
        )

    def _remember(self, allocation: Allocation, correct: np.ndarray) -> None:
        """Appends this generation's genuine judgements to their interrogators' windows."""
        m = self.windows.shape[1]
        for i in np.unique(allocation.owner):
            new = correct[allocation.owner == i].astype(np.int8)
            old = self.windows[i][self.windows[i] != EMPTY]
            kept = np.concatenate([old, new])[-m:]
            row = np.full(m, EMPTY, dtype=np.int8)
            row[m - kept.size :] = kept
            self.windows[i] = row

    # ------------------------------------------------------------------ state
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
        if self.budget is not None:
            # Without a budget every window is refilled each generation: nothing to keep
            # (and checkpoints stay those of runs before budgets existed).
            arrays["genuine_window"] = self.windows.copy()
            meta["genuine_allocation_rng"] = numpy_state(self.allocation_rng)
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
        if self.budget is not None:
            window = np.asarray(arrays["genuine_window"])
            if window.shape != self.windows.shape or window.dtype.kind not in "iu":
                raise UserError("the checkpoint's genuine_window does not fit this run")
            self.windows = window.astype(np.int8)
            set_numpy_state(self.allocation_rng, meta["genuine_allocation_rng"])

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
            self.trials,
        )
        return {k: v.cpu().numpy() for k, v in record.items()}


def _positions(population: list, ranked: list) -> np.ndarray:
    """Where each member of ``ranked`` stood in ``population``."""
    where = {id(individual): i for i, individual in enumerate(population)}
    return np.array([where[id(individual)] for individual in ranked], dtype=np.int64)


def score_models(
    kind: str, output: torch.Tensor, fooled: np.ndarray, interrogator_fitness: np.ndarray
) -> np.ndarray:
    """Each model's fitness under ``--model-fitness``.

    Args:
        kind: ``verdict``, the fraction of interrogators fooled (the paper); ``graded``, the
            interrogators' mean output on its trials ``output.mean(0)``; ``weighted``, that
            mean with interrogator ``i`` weighted by ``max(0, interrogator_fitness[i] -
            0.5)``, how far above chance it judged this generation (one that guesses, or
            calls everything genuine or everything counterfeit, does not count; ``graded``
            when none is above chance).
        output: ``[P, M]`` the interrogators' outputs on the model trials.
        fooled: ``[M]`` the fraction of interrogators each model fooled.
        interrogator_fitness: ``[P]`` the interrogators' fitness this generation (their
            accuracy on genuine and model trials).
    """
    if kind == "verdict":
        return fooled
    weight = np.clip(np.asarray(interrogator_fitness, dtype=np.float64) - 0.5, 0.0, None)
    if kind == "graded" or not weight.sum() > 0:
        return output.double().mean(0).cpu().numpy()
    return weight @ output.double().cpu().numpy() / weight.sum()
