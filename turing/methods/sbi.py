"""The ``sbi`` baseline: neural posterior estimation with the ``sbi`` package.

Modern simulation-based inference (Papamakarios and Murray 2016; Greenberg et al. 2019;
Deistler et al. 2022) as a researcher would run it on our systems: a prior uniform within
the parameter bounds; each simulation draws one parameter vector and runs ``trials``
independent trials of it under the passive input; the observation sequences (and the
inputs that produced them) are embedded trial by trial by a small 1-D convolutional
network, pooled over trials (a permutation-invariant embedding, since trials are i.i.d.),
and a masked autoregressive flow estimates the posterior. The observed data are
``trials`` trials of the genuine system. The estimate is the posterior median.

A generation is one round of truncated sequential NPE (TSNPE, Deistler et al. 2022):
round 0 draws parameters from the prior; later rounds from the prior truncated to the
current posterior's highest-density region; the posterior is retrained from scratch on all
simulations of all rounds with the first-round loss. Rounds are expensive, so the mode has
its own default (3 generations); ``--budget`` converts as for any method
(``simulations x trials`` trials per generation).

Ranked models: ``ranked[0]`` is the posterior median; then posterior samples by
decreasing posterior density.

Reproducibility: ``sbi`` draws from torch's global generator internally (train/validation
split, batches, sampling). Every call into it runs inside ``torch.random.fork_rng`` seeded
from the run's ``sbi`` stream and the round, so the caller's global state is untouched and
the round is a deterministic function of its data. A checkpoint therefore holds the
simulations (NPZ), and a resumed run retrains the last round's posterior from them,
bit-identically, instead of storing the network.

``sbi`` is an optional extra: ``pip install "turing-learning[sbi]"``.
"""

from __future__ import annotations

import importlib.util
import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from turing.contracts.seeding import torch_seed
from turing.engine import PASSIVE, Noise, stream_key
from turing.errors import SystemContractError, UserError
from turing.genuine.batches import TrialBatch
from turing.methods.method import GenerationReport, Method, register_method
from turing.methods.options import resolve_options
from turing.methods.rollout import Trajectories, unit_actions

Tensor = torch.Tensor

INSTALL = 'pip install "turing-learning[sbi]"'

TRUNCATION_SAMPLES = 20_000
TRUNCATION_QUANTILE = 1e-4
MAX_REJECTION_ROUNDS = 50

DEFAULTS: dict[str, Any] = {
    "simulations": 1000,
    "trials": 10,
    "features": 16,
    "max_epochs": 200,
    "stop_after_epochs": 20,
    "batch": 200,
    "samples": 1000,
}
"""Method options (``--method-options``): parameter draws per round; trials per draw (and
genuine trials observed); embedding size per trial; training epochs at most; epochs
without validation improvement before stopping; training batch size; posterior samples
drawn for the estimate."""


def require_sbi():
    """Imports ``sbi``.

    Raises:
        UserError: naming the ``pip install`` that fixes a missing extra.
    """
    try:
        import sbi  # noqa: F401
        from sbi import inference, neural_nets, utils
    except ImportError as exc:
        raise UserError(
            f"mode sbi needs the optional extra sbi ({exc.msg}); install it with: {INSTALL}"
        ) from None
    return inference, neural_nets, utils


class NoTracking:
    """sbi's tracker protocol, recording nothing: the run's metrics.csv holds the training
    numbers, and sbi's default TensorBoard logs would land in the working directory."""

    log_dir = None

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Ignored."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Ignored."""

    def log_params(self, params: dict[str, Any]) -> None:
        """Ignored."""

    def add_figure(self, name: str, figure: Any, step: int | None = None) -> None:
        """Ignored."""

    def flush(self) -> None:
        """Ignored."""


class TrialEmbedding(nn.Module):
    """Embeds one trial (``[steps * features]`` flattened) by 1-D convolutions over time,
    then mean and max pooling; small enough to train on a CPU in seconds.

    Args:
        steps: observations per trial.
        features: features per step.
        output: embedding size.
    """

    def __init__(self, steps: int, features: int, output: int):
        super().__init__()
        self.steps, self.features = steps, features
        self.convolutions = nn.Sequential(
            nn.Conv1d(features, 16, 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(16, 16, 5, padding=2, stride=2),
            nn.ReLU(),
            nn.Conv1d(16, 16, 5, padding=2, stride=2),
            nn.ReLU(),
        )
        self.head = nn.Linear(32, output)

    def forward(self, x: Tensor) -> Tensor:
        sequence = x.reshape(-1, self.steps, self.features).transpose(1, 2)
        hidden = self.convolutions(sequence)
        embedded = self.head(torch.cat([hidden.mean(-1), hidden.amax(-1)], dim=-1))
        return embedded.reshape(*x.shape[:-1], -1)


@register_method
class NeuralPosterior(Method):
    """Truncated sequential neural posterior estimation with the ``sbi`` package."""

    modes = ("sbi",)
    description = (
        "baseline: neural posterior estimation (sbi package, optional extra) on passive simulations"
    )
    default_generations = 3

    def __init__(self, system, truth, config, source=None):
        super().__init__(system, truth, config, source)
        self.options = resolve_options("sbi", config.method_options, DEFAULTS)
        self.inference_module, self.nets, self.utils = require_sbi()
        self.features = system.observation_size + system.action_size
        self.thetas: list[np.ndarray] = []
        self.xs: list[np.ndarray] = []
        self.observed: Tensor | None = None
        self.scale: tuple[Tensor, Tensor] | None = None
        self._pending: Any = None
        self.posterior = None
        self.round = 0
        self.untruncated = 0
        self.last_validation_loss = float("nan")
        self.last_epochs = 0

    @classmethod
    def check_supported(cls, system, mode) -> None:
        if importlib.util.find_spec("sbi") is None:
            raise UserError(
                f"mode sbi needs the optional extra sbi, which is not installed; install it with: {INSTALL}"
            )

    @classmethod
    def check_config(cls, config, system) -> None:
        resolve_options("sbi", config.method_options, DEFAULTS)

    @classmethod
    def trials_per_generation(cls, config, system) -> int:
        options = resolve_options("sbi", config.method_options, DEFAULTS)
        return options["simulations"] * options["trials"]

    def genuine_per_generation(self) -> int:
        return 0  # the observed trials are taken once, before the first round

    # ------------------------------------------------------------------ simulation
    def _features(self, recorded) -> Tensor:
        """Trials under the passive input as flat per-trial features ``[n, steps * F]``."""
        trials = Trajectories.of(self.system, recorded)
        n = trials.failed.shape[-1]
        features = torch.cat([trials.observations, unit_actions(self.system, trials.inputs)], dim=1)
        return features.permute(2, 0, 1).reshape(n, -1)

    def _observation_batch(self) -> TrialBatch:
        """The genuine system's ``trials`` trials: the observed data."""
        trials = self.options["trials"]
        noise = Noise.for_trials(
            stream_key(self.config.seed, "sbi-observation"), trials, self.device
        )
        return TrialBatch(trials, None, noise, inputs=PASSIVE, record=True)

    def _observe(self, recorded) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """The observed data and the per-feature mean and standard deviation used to
        standardise every simulation."""
        trials = self.options["trials"]
        if self.trials.source.merges:
            self._count(trials, self.config.steps)
        x = self._features(recorded)
        if not torch.isfinite(x).all():
            raise SystemContractError(
                f"{self.system.name}: the genuine system produced a non-finite observation"
            )
        per_feature = x.reshape(trials * self.config.steps, self.features)
        scale = (per_feature.mean(0), per_feature.std(0).clamp_min(1e-3))
        return self._standardise(x.reshape(1, trials, -1), scale), scale

    def _standardise(self, x: Tensor, scale: tuple[Tensor, Tensor]) -> Tensor:
        mean, std = scale
        shaped = x.reshape(*x.shape[:-1], self.config.steps, self.features)
        return ((shaped - mean) / std).reshape(x.shape).cpu()

    @contextmanager
    def _seeded(self, purpose: str):
        """Runs sbi under torch's global generator seeded for this round and purpose,
        restoring the caller's global state afterwards."""
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            # sbi's advice (constant input features: the held-out inputs; epochs reached)
            # is for interactive use; the run's metrics record the training instead.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"sbi\.")
            warnings.filterwarnings(
                "ignore", category=UserWarning, module=r"turing\.baselines\.sbi"
            )
            torch.manual_seed(torch_seed(self.config.seed, f"sbi-{purpose}-{self.round}"))
            yield

    def _prior(self):
        lows = torch.tensor(self.system.lows, dtype=torch.float32)
        highs = torch.tensor(self.system.highs, dtype=torch.float32)
        return self.utils.BoxUniform(low=lows, high=highs)

    def _proposal_draws(self, n: int) -> Tensor:
        """``n`` parameter draws: from the prior in round 0, then from the prior truncated
        to the current posterior's highest-density region holding all but a ``1e-4``
        fraction of its mass (TSNPE), by rejection. If the region is so small that
        rejection stalls, the remainder is drawn from the prior (counted as
        ``untruncated_draws``)."""
        prior = self._prior()
        self.untruncated = 0
        with self._seeded("proposal"):
            if self.posterior is None:
                return prior.sample((n,))
            support = self.posterior.sample((TRUNCATION_SAMPLES,), show_progress_bars=False)
            density = self.posterior.log_prob(support, norm_posterior=False)
            threshold = torch.quantile(density, TRUNCATION_QUANTILE)
            accepted: list[Tensor] = []
            found = 0
            for _ in range(MAX_REJECTION_ROUNDS):
                candidates = prior.sample((4 * n,))
                keep = candidates[
                    self.posterior.log_prob(candidates, norm_posterior=False) >= threshold
                ]
                accepted.append(keep)
                found += len(keep)
                if found >= n:
                    break
            draws = torch.cat(accepted)[:n]
            if len(draws) < n:
                self.untruncated = n - len(draws)
                draws = torch.cat([draws, prior.sample((self.untruncated,))])
            return draws

    def _train(self) -> None:
        """Trains the posterior from scratch on every simulation so far."""
        options = self.options
        steps = self.config.steps
        theta = torch.as_tensor(np.concatenate(self.thetas), dtype=torch.float32)
        x = torch.as_tensor(np.concatenate(self.xs), dtype=torch.float32)
        with self._seeded("train"):
            # Built here: sbi's networks initialise from torch's (here seeded) global generator.
            embedding = trials_embedding(steps, self.features, options["features"])
            # The flow works in the unconstrained image of the prior's box, so the posterior
            # puts no mass outside the bounds (no leakage, no rejection sampling).
            estimator = self.nets.posterior_nn(
                model="zuko_maf",
                embedding_net=embedding,
                z_score_x="none",
                z_score_theta="transform_to_unconstrained",
                x_dist=self._prior(),
            )
            inference = self.inference_module.NPE(
                prior=self._prior(),
                density_estimator=estimator,
                show_progress_bars=False,
                tracker=NoTracking(),
            )
            inference.append_simulations(theta, x, exclude_invalid_x=True)
            network = inference.train(
                training_batch_size=options["batch"],
                max_num_epochs=options["max_epochs"],
                stop_after_epochs=options["stop_after_epochs"],
                force_first_round_loss=True,
            )
            summary = inference.summary
            self.last_validation_loss = float(summary["best_validation_loss"][-1])
            self.last_epochs = int(summary["epochs_trained"][-1])
            self.posterior = inference.build_posterior(network)
            self.posterior.set_default_x(self.observed)

    # ------------------------------------------------------------------ generations
    def ask(self):
        if self.observed is None:
            self._pending = "observe"
            return [self._observation_batch()]
        options = self.options
        n = options["simulations"]
        theta = self._proposal_draws(n)
        params = self.system.simulation_params(theta.T.to(self.device).contiguous(), self.truth)
        params = params.repeat_interleave(options["trials"], dim=-1)
        key = stream_key(self.config.seed, "simulation", self.round)
        noise = Noise.for_trials(key, params.shape[-1], self.device)
        self._pending = theta
        return [TrialBatch(0, params, noise, inputs=PASSIVE, record=True)]

    def tell(self, trials):
        (recorded,) = trials
        if isinstance(self._pending, str):
            self.observed, self.scale = self._observe(recorded)
            self._pending = None
            return None
        theta, self._pending = self._pending, None
        options = self.options
        n = options["simulations"]
        self._count(n * options["trials"], self.config.steps)
        x = self._features(recorded).reshape(n, options["trials"], -1)
        x = self._standardise(x, self.scale)
        self.thetas.append(theta.numpy().astype(np.float64))
        self.xs.append(x.numpy())
        failed = int((~torch.isfinite(x).all(-1).all(-1)).sum())
        self.round += 1
        self._train()
        return self._report(failed)

    def _report(self, failed: int) -> GenerationReport:
        with self._seeded("estimate"):
            samples = self.posterior.sample((self.options["samples"],), show_progress_bars=False)
            density = self.posterior.log_prob(samples, norm_posterior=False)
        samples64 = samples.double().numpy()
        median = np.array([p.median(samples64[:, k]) for k, p in enumerate(self.system.parameters)])
        order = np.argsort(-density.numpy(), kind="stable")
        ranked = np.clip(
            np.vstack([median, samples64[order[:99]]]), self.system.lows, self.system.highs
        )
        spread = samples64.std(0) / (self.system.highs - self.system.lows)
        metrics = {
            "validation_loss": self.last_validation_loss,
            "epochs": float(self.last_epochs),
            "simulations": float(sum(len(t) for t in self.thetas)),
            "posterior_std_mean": float(spread.mean()),
            "untruncated_draws": float(self.untruncated),
            "failed_models": float(failed),
        }
        self._ranked = ranked
        return GenerationReport(
            ranked=ranked,
            metrics=metrics,
            progress=f"round {self.round} val {self.last_validation_loss:.3f}",
        )

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {}
        for k, (theta, x) in enumerate(zip(self.thetas, self.xs, strict=True)):
            arrays[f"theta_{k}"] = theta
            arrays[f"x_{k}"] = x
        if not self.trials.source.replayable and self.observed is not None:
            # An environment cannot be observed again alike: keep what it showed.
            arrays["observed"] = self.observed.numpy()
            arrays["observed_mean"] = self.scale[0].cpu().numpy()
            arrays["observed_std"] = self.scale[1].cpu().numpy()
        meta = {
            "round": self.round,
            "simulated_trials": self.simulated_trials,
            "simulated_steps": self.simulated_steps,
        }
        return arrays, meta

    def load_state(self, arrays, meta) -> None:
        self.round = int(meta["round"])
        self.thetas = [arrays[f"theta_{k}"] for k in range(self.round)]
        self.xs = [arrays[f"x_{k}"] for k in range(self.round)]
        self.simulated_trials = int(meta["simulated_trials"])
        self.simulated_steps = int(meta["simulated_steps"])
        self.posterior = None
        if "observed" in arrays:
            self.observed = torch.as_tensor(arrays["observed"])
            self.scale = tuple(
                torch.as_tensor(arrays[k], device=self.device)
                for k in ("observed_mean", "observed_std")
            )
        elif self.round:  # a replayable source shows the same trials again
            counted = self.simulated_trials, self.simulated_steps
            self.observed, self.scale = self._observe(self.trials.run(self._observation_batch()))
            self.simulated_trials, self.simulated_steps = counted
        if self.round:
            self._train()

    def final_arrays(self) -> dict[str, np.ndarray]:
        ranked = getattr(self, "_ranked", None)
        return {} if ranked is None else {"model_genes": ranked}


def trials_embedding(steps: int, features: int, output: int) -> nn.Module:
    """sbi's permutation-invariant embedding over i.i.d. trials around
    :class:`TrialEmbedding` (mean-pooled, then a small fully connected net)."""
    from sbi.neural_nets.embedding_nets import PermutationInvariantEmbedding

    return PermutationInvariantEmbedding(
        TrialEmbedding(steps, features, output),
        trial_net_output_dim=output,
        aggregation_fn="mean",
        num_hiddens=64,
        output_dim=output,
    )
