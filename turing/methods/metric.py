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
from turing.engine import PASSIVE, Fixed, Noise, stream_key
from turing.errors import SystemContractError
from turing.genuine.batches import TrialBatch
from turing.methods.evolution import EvolutionStrategy
from turing.methods.method import GenerationReport, Method, register_method
from turing.methods.options import resolve_options
from turing.methods.rollout import Trajectories
from turing.methods.strategies import model_strategy

DEFAULTS = {"pairs": None}
"""Method options (``--method-options``): trial pairs per model and generation (None: as
many as ``--interrogators``, so a generation costs what a coevolution generation costs)."""


@register_method
class MetricES(Method):
    """ES on the models minimising the mean squared output error under identical inputs."""

    modes = ("metric",)
    description = "baseline: the paper's ES minimising the mean squared error to the genuine outputs under the passive input"

    def __init__(self, system, truth, config, source=None):
        super().__init__(system, truth, config, source)
        self.es = model_strategy(system, config)
        self.generations_done = 0
        self.pairs = self.pairs_per_model(config)
        self.models = self.es.population()
        self._last: dict[str, np.ndarray] = {}
        self._pending = None

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

    def genuine_per_generation(self) -> int:
        return min(self.genuine_budget(self.config), self.config.models * self.pairs)

    @classmethod
    def genuine_budget(cls, config) -> int:
        """Genuine trials per generation (default: one per trial pair)."""
        return config.genuine_trials or config.models * cls.pairs_per_model(config)

    # ------------------------------------------------------------------ ask / tell
    def _begin(self) -> None:
        genes = EvolutionStrategy.genes(self.models)
        self._genes = genes
        self._models = ModelPopulation(self.system, genes).simulation(self.device, truth=self.truth)
        n_models = self._models.shape[1]
        self._pairs_total = n_models * self.pairs
        self._budget = min(self.genuine_budget(self.config), self._pairs_total)
        self._key = stream_key(self.config.seed, "simulation", self.generations_done)
        self._total = torch.zeros(n_models, dtype=torch.float64, device=self.device)
        self._failed = torch.zeros(n_models, dtype=torch.bool, device=self.device)
        self._genuine: dict[str, Any] = {}
        self._chunk = 0
        self._pending = None

    def _chunk_pairs(self) -> torch.Tensor:
        # Trial pairs are laid out model-major within each chunk of whole pairs, so the
        # chunk size bounds memory without changing what is simulated.
        size = max(1, self.config.chunk_size // 2)
        begin = self._chunk * size
        return torch.arange(begin, min(self._pairs_total, begin + size), device=self.device)

    def ask(self):
        """Per chunk of trial pairs: the genuine trials it needs under the passive input
        (recorded), then the model trials driven by exactly their inputs from their starts."""
        if self._pending is None:
            self._begin()
        index = self._chunk_pairs()
        keys = torch.tensor(self._key, dtype=torch.int64, device=self.device).reshape(2, 1)
        genuine = index % self._budget
        needed = genuine.unique()
        if self._budget < self._pairs_total:
            needed = needed[~torch.isin(needed, self._genuine.get("index", needed[:0]))]
        if needed.numel() and self._pending != ("models", self._chunk):
            noise = Noise(keys, 2 * needed, input_stream=2 * needed)
            self._pending = ("genuine", needed)
            return [TrialBatch(needed.numel(), None, noise, inputs=PASSIVE, record=True)]
        where = torch.searchsorted(self._genuine["index"], genuine)
        actions = self._genuine["actions"][..., where]
        noise = Noise(keys, 2 * index + 1, start_stream=2 * genuine)
        models = self._models[:, index % self._models.shape[1]]
        self._pending = ("scored", index, where)
        return [TrialBatch(0, models, noise, inputs=Fixed(actions), record=True)]

    def tell(self, trials):
        (recorded,) = trials
        kind = self._pending[0]
        if kind == "genuine":
            needed = self._pending[1]
            if recorded.failed.any():
                raise SystemContractError(
                    f"{self.system.name}: the genuine system produced a non-finite observation; "
                    "check its simulator (step/reset must return finite values)"
                )
            self._keep_genuine(needed, recorded)
            self._pending = ("models", self._chunk)
            return None
        _, index, where = self._pending
        model = Trajectories.of(self.system, recorded)
        genuine_obs = self._genuine["observations"][..., where]
        error = (model.observations - genuine_obs).double().pow(2).mean(dim=(0, 1))
        model_index = index % self._models.shape[1]
        self._total.index_add_(0, model_index, torch.nan_to_num(error, nan=0.0, posinf=0.0))
        self._failed.index_fill_(0, model_index[model.failed], True)
        self._chunk += 1
        if self._chunk * max(1, self.config.chunk_size // 2) < self._pairs_total:
            self._pending = ("next", self._chunk)
            return None
        self._pending = None
        genuine_simulated = self._budget if self.trials.source.merges else 0
        self._count(self._pairs_total + genuine_simulated, self.config.steps)
        mse = (self._total / self.pairs).cpu().numpy()
        mse[self._failed.cpu().numpy()] = np.inf
        return self._conclude(self._genes, mse)

    def _keep_genuine(self, needed: torch.Tensor, recorded) -> None:
        """The genuine trials this generation has run, sorted by index (all of them under a
        budget, whose trials every chunk shares; else only the current chunk's)."""
        trajectories = Trajectories.of(self.system, recorded)
        parts = {"index": needed, "observations": trajectories.observations,
                 "actions": recorded.actions}  # fmt: skip
        if self._budget < self._pairs_total and self._genuine:
            parts = {k: torch.cat([self._genuine[k], v], dim=-1) for k, v in parts.items()}
        order = torch.argsort(parts["index"])
        self._genuine = {k: v[..., order] for k, v in parts.items()}

    def _conclude(self, genes: np.ndarray, mse: np.ndarray) -> GenerationReport:
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
        if self.config.genuine_trials is not None or not self.trials.source.merges:
            metrics["genuine_trials"] = self._budget
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
