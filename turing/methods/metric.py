"""The metric baseline: the paper's ES on the models alone, fitness = minus an error metric.

This is what system identification does without Turing Learning: choose a distance
between the model's and the genuine system's outputs and minimise it. Fitness of a model
is minus the mean squared error between its observations and the genuine system's, over
every step and output of ``P`` trial pairs (``P`` = ``--interrogators``, so a generation
simulates exactly the ``2 x models x interrogators`` trials of a coevolution generation).

"Identical input sequences": in each pair the model trial starts from the genuine trial's
start conditions (:meth:`~turing.contracts.system.System.sample_starts`, for systems that start at
random) and receives, step by step, the input the genuine trial received under its
passive input (:func:`~turing.methods.rollout.replayed_rollout`); the noise of the two
trials is independent. For an open-loop passive input (case study 1's light schedule) this
is the shared schedule; for a closed-loop one (case study 2's obstacle avoidance) the
genuine robot's own controller drives both robots. Because the system is stochastic, the
squared error of even the genuine parameters is not zero, and its minimum need not lie at
them: the metric is biased (case study 1: on ``p``), which is the point of the comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from turing.agents import ModelPopulation
from turing.contracts.seeding import numpy_state, set_numpy_state
from turing.engine import stream_key
from turing.errors import SystemContractError
from turing.methods.evolution import EvolutionStrategy, model_strategy
from turing.methods.method import GenerationReport, Method, register_method
from turing.methods.options import resolve_options
from turing.methods.rollout import replayed_rollout

DEFAULTS = {"pairs": None}
"""Method options (``--method-options``): trial pairs per model and generation (None: as
many as ``--interrogators``, so a generation costs what a coevolution generation costs)."""


@register_method
class MetricES(Method):
    """ES on the models minimising the mean squared output error under identical inputs."""

    modes = ("metric",)
    description = "baseline: the paper's ES minimising the mean squared error to the genuine outputs under the passive input"

    def __init__(self, system, truth, config):
        super().__init__(system, truth, config)
        self.es = model_strategy(system, config)
        self.generations_done = 0
        self.pairs = self.pairs_per_model(config)
        self.genuine = torch.tensor(
            truth.simulation, dtype=torch.float32, device=self.device
        ).reshape(-1, 1)
        self.models = self.es.population()
        self._last: dict[str, np.ndarray] = {}

    @classmethod
    def pairs_per_model(cls, config) -> int:
        return (
            resolve_options("metric", config.method_options, DEFAULTS)["pairs"]
            or config.interrogators
        )

    @classmethod
    def check_config(cls, config, system) -> None:
        cls.pairs_per_model(config)

    @classmethod
    def trials_per_generation(cls, config, system) -> int:
        return 2 * config.models * cls.pairs_per_model(config)

    def mean_squared_errors(self, genes: np.ndarray) -> np.ndarray:
        """Each model's mean squared output error over ``pairs`` trial pairs (``inf`` for a
        model whose simulation produced a non-finite value)."""
        models = ModelPopulation(self.system, genes).simulation(self.device, truth=self.truth)
        n_models = models.shape[1]
        total = torch.zeros(n_models, dtype=torch.float64, device=self.device)
        failed = torch.zeros(n_models, dtype=torch.bool, device=self.device)
        # Trial pairs are laid out model-major within each chunk of whole pairs, so the
        # chunk size bounds memory without changing what is simulated.
        pairs_total = n_models * self.pairs
        chunk = max(1, self.config.chunk_size // 2)
        key = stream_key(self.config.seed, "simulation", self.generations_done)
        for begin in range(0, pairs_total, chunk):
            index = torch.arange(begin, min(pairs_total, begin + chunk), device=self.device)
            model_index = index % n_models
            genuine, model = replayed_rollout(
                self.engine,
                self.genuine.expand(-1, index.numel()),
                models[:, model_index],
                key,
                first_pair=begin,
            )
            error = (model.observations - genuine.observations).double().pow(2).mean(dim=(0, 1))
            if genuine.failed.any():
                raise SystemContractError(
                    f"{self.system.name}: the genuine system produced a non-finite observation; "
                    "check its simulator (step/reset must return finite values)"
                )
            total.index_add_(0, model_index, torch.nan_to_num(error, nan=0.0, posinf=0.0))
            failed.index_fill_(0, model_index[model.failed], True)
        self._count(2 * pairs_total, self.config.steps)
        mse = (total / self.pairs).cpu().numpy()
        mse[failed.cpu().numpy()] = np.inf
        return mse

    def generation(self) -> GenerationReport:
        genes = EvolutionStrategy.genes(self.models)
        mse = self.mean_squared_errors(genes)
        self.generations_done += 1
        EvolutionStrategy.set_fitness(self.models, np.where(np.isfinite(mse), -mse, -np.inf))
        ranked = self.es.rank(self.models)
        ranked_genes = EvolutionStrategy.genes(ranked)
        ranked_mse = np.array([-m.fitness.values[0] for m in ranked])
        self._last = {
            "model_genes": ranked_genes,
            "model_sigma": EvolutionStrategy.strategies(ranked),
            "model_mse": ranked_mse,
        }
        finite = np.isfinite(mse)
        metrics = {
            "best_mse_loss": float(ranked_mse[0]),
            "mean_mse_loss": float(mse[finite].mean()) if finite.any() else float("inf"),
            "failed_models": int((~finite).sum()),
        }
        self.models, clipped = self.es.next_population(ranked)
        metrics["clipped_genes"] = clipped
        return GenerationReport(
            ranked=ranked_genes, metrics=metrics, progress=f"mse {ranked_mse[0]:.4g}"
        )

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {
            "model_genes": EvolutionStrategy.genes(self.models),
            "model_sigma": EvolutionStrategy.strategies(self.models),
        }
        meta = {
            "models_rng": numpy_state(self.es.rng),
            "generations_done": self.generations_done,
            "simulated_trials": self.simulated_trials,
            "simulated_steps": self.simulated_steps,
        }
        extra_arrays, extra_meta = self.es.state(self.models)  # CMA-ES: its distribution
        return {**arrays, **extra_arrays}, {**meta, **extra_meta}

    def load_state(self, arrays, meta) -> None:
        self.models = self.es.restore(arrays, meta)
        set_numpy_state(self.es.rng, meta["models_rng"])
        self.generations_done = int(meta["generations_done"])
        self.simulated_trials = int(meta["simulated_trials"])
        self.simulated_steps = int(meta["simulated_steps"])

    def final_arrays(self) -> dict[str, np.ndarray]:
        return dict(self._last)
