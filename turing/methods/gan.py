"""Gradient-trained adversarial baselines: ``gan`` and ``gan-interrogate``.

After Louppe, Hermans and Cranmer, "Adversarial Variational Optimization of
Non-Differentiable Simulators" (AISTATS 2019). The simulator is a black box; what is
trained is a *proposal* over the model parameters, a Gaussian (a mean and a log standard
deviation per parameter) squashed into the parameter bounds (see
:class:`~turing.methods.networks.Proposal`). Each update:

1. draw ``batch`` parameter vectors from the proposal and simulate one trial of each, and
   ``batch`` trials of the genuine system;
2. train a recurrent discriminator (:class:`~turing.methods.networks.RecurrentDiscriminator`,
   a GRU by default, or an Elman network as the paper's interrogators are, whose
   judgement of a trial is the mean of its per-step judgements) one Adam step on the
   binary cross-entropy between genuine (label 1) and model (label 0) trials. The GRU is
   the default because it is the stronger baseline: on case study 1 (seed 0, 20
   generations) it reached top-10 errors 0.09/0.03/0.08/0.18 where the Elman network
   reached 0.13/0.25/0.51/0.30; the Elman network (``cell=rnn``) is about 3x faster;
3. train the proposal one Adam step by the score-function (REINFORCE) gradient of the
   non-saturating generator loss ``-log D(x)`` of each model trial, with the leave-one-out
   mean of the batch as the variance-reducing baseline (optionally plus ``entropy`` times
   the proposal's entropy, which pulls it toward a point).

``gan``: trials run under the system's passive input; the discriminator reads each step's
observation and (``observe_input``, default on, as in ``passive-io``) the input that
produced it, so that ``gan`` and ``gan-interrogate`` differ only in *choosing* the input.
``gan-interrogate``: the discriminator is also the interrogator. From its hidden state it
emits the system's next input (a Gaussian squashed into the action bounds, with a learned
log standard deviation) and reads it back with the next observation; the input policy is
trained by the score-function gradient of its classification reward (the log-likelihood
of the correct label), with the leave-one-out mean reward of trials of the same class as
the baseline. This is interrogation trained by gradients instead of evolution. The inputs
are chosen step by step without gradients (they are samples); the discriminator then
reads the finished trials again in one pass, with gradients, for its losses: the same
gradients as differentiating the step-by-step pass, at the cost of a passive update.

Budget: a generation is ``updates`` updates of ``2 x batch`` trials, by default as many as
make up the ``2 x models x interrogators`` trials of a coevolution generation, so equal
``--generations`` means an equal simulation budget.

Estimates: ``ranked[0]`` (the run's ``best``) is the proposal's median (its squashed mean);
``ranked[1:]`` are the model samples of the generation's last update, most genuine-looking
first (by the discriminator's logit), so ``top10_median`` is the median of the proposal
median and the nine samples the discriminator found most convincing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional

from turing.contracts.seeding import set_torch_state, torch_generator, torch_state
from turing.engine import PASSIVE, Noise, stream_key
from turing.errors import SystemContractError, UserError
from turing.genuine.batches import TrialBatch
from turing.methods.gan_interrogation import interrogation_logits, interrogation_policy
from turing.methods.method import GenerationReport, Method, register_method
from turing.methods.networks import CELLS, Proposal, RecurrentDiscriminator, initialise
from turing.methods.options import resolve_options
from turing.methods.rollout import Trajectories, unit_actions
from turing.methods.state import (
    load_module_arrays,
    load_optimizer_state,
    module_arrays,
    optimizer_state,
)

Tensor = torch.Tensor

DEFAULTS: dict[str, Any] = {
    "batch": 1000,
    "updates": None,
    "hidden": 16,
    "cell": "gru",
    "lr_discriminator": 0.005,
    "lr_proposal": 0.01,
    "clip": 1.0,
    "entropy": 0.0,
    "observe_input": True,
}
"""Method options (``--method-options``): trials per class per update; updates per
generation (None: as many as match a coevolution generation's trials); the
discriminator's hidden units and recurrent cell (``rnn``: Elman, tanh; ``gru``); Adam
learning rates of the discriminator (and input policy) and of the proposal; the largest
norm of the discriminator's gradient (0: no clipping; a recurrent network's gradient
through time can explode, and an Elman network's does at lr 0.01); weight of
the proposal-entropy penalty; whether the passive discriminator sees the inputs."""

NORMALISATION_TRIALS = 200


@register_method
class AdversarialVariational(Method):
    """Adversarial variational optimization, passive (``gan``) or interrogating
    (``gan-interrogate``)."""

    modes = ("gan", "gan-interrogate")
    description = (
        "baseline: gradient-trained GAN (AVO, Louppe et al. 2019): recurrent discriminator + "
        "Gaussian proposal by score-function gradients; gan-interrogate also learns the input"
    )

    def __init__(self, system, truth, config, source=None):
        super().__init__(system, truth, config, source)
        self.options = self.resolve(config, system)
        self.interrogate = config.mode == "gan-interrogate"
        self.batch, self.updates = self.schedule(config, system)
        seed = config.seed
        self.updates_done = 0
        self.sampling = torch_generator(seed, "gan", self.device)
        self.observe_input = self.interrogate or self.options["observe_input"]
        features = system.observation_size + (system.action_size if self.observe_input else 0)
        self.discriminator = initialise(
            RecurrentDiscriminator(
                features,
                self.options["hidden"],
                system.action_size if self.interrogate else 0,
                self.options["cell"],
            ),
            torch_generator(seed, "discriminator", self.device),
            self.device,
        )
        self.proposal = Proposal(system).to(self.device)
        self.discriminator_optimizer = torch.optim.Adam(
            self.discriminator.parameters(), lr=self.options["lr_discriminator"], betas=(0.5, 0.999)
        )
        self.proposal_optimizer = torch.optim.Adam(
            self.proposal.parameters(), lr=self.options["lr_proposal"]
        )
        self.feature_scale: Tensor | None = None
        self.feature_offset: Tensor | None = None
        self._last: dict[str, np.ndarray] = {}
        self._pending: Any = None
        self._numbers: dict[str, list[float]] = {}

    # ------------------------------------------------------------------ configuration
    @classmethod
    def resolve(cls, config, system) -> dict[str, Any]:
        options = resolve_options(config.mode, config.method_options, DEFAULTS)
        if options["cell"] not in CELLS:
            raise UserError(
                f"--method-options: {config.mode} option cell={options['cell']!r} must be one "
                f"of {', '.join(CELLS)}"
            )
        return options

    @classmethod
    def check_supported(cls, system, mode) -> None:
        if mode == "gan-interrogate":
            if system.action_size < 1:
                raise UserError(
                    f"{system.name} takes no input, so it cannot be interrogated; use --mode gan"
                )
        low, high = system.action_bounds()
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise UserError(
                f"{mode} needs finite action bounds to scale inputs, and {system.name}'s are "
                f"[{system.action_low}, {system.action_high}]; use --mode metric or passive"
            )

    @classmethod
    def check_config(cls, config, system) -> None:
        cls.resolve(config, system)
        if config.mode == "gan-interrogate" and config.genuine is not None:
            raise UserError(
                "--mode gan-interrogate chooses inputs with a gradient-trained policy step by "
                "step, which runs only beside the simulator; use --mode interrogate (or gan) "
                "with --genuine"
            )

    @classmethod
    def schedule(cls, config, system) -> tuple[int, int]:
        """``(batch, updates)`` of a generation: by default as many updates as make up a
        coevolution generation's trials, with the batch no larger than that."""
        options = cls.resolve(config, system)
        per_class = Method.trials_per_generation(config, system) // 2
        batch = options["batch"] if options["updates"] else min(options["batch"], per_class)
        updates = options["updates"] or max(1, round(per_class / batch))
        return batch, updates

    @classmethod
    def trials_per_generation(cls, config, system) -> int:
        batch, updates = cls.schedule(config, system)
        return 2 * batch * updates

    # ------------------------------------------------------------------ simulation
    def _normalisation_batch(self) -> TrialBatch:
        """Genuine trials under the passive input, from a stream of their own (so they do
        not shift other streams), whose statistics standardise the discriminator's inputs."""
        noise = Noise.for_trials(
            stream_key(self.config.seed, "gan-normalisation"), NORMALISATION_TRIALS, self.device
        )
        return TrialBatch(NORMALISATION_TRIALS, None, noise, inputs=PASSIVE, record=True,
                          purpose="normalisation")  # fmt: skip

    def _feature_affine(self, recorded) -> tuple[Tensor, Tensor]:
        """``(scale, offset)``, each ``[F, 1]``, that turn a step's raw features (its
        observation, then the input in [0, 1] if the discriminator reads it) into the
        discriminator's: each output standardised by the mean and standard deviation of
        genuine observations under the passive input; inputs unchanged."""
        if self.trials.source.merges:
            self._count(NORMALISATION_TRIALS, self.config.steps)
        trials = Trajectories.of(self.system, recorded)
        observations = trials.observations.permute(1, 0, 2).reshape(
            self.system.observation_size, -1
        )
        mean, std = observations.mean(1), observations.std(1).clamp_min(1e-3)
        inputs = self.system.action_size if self.observe_input else 0
        scale = torch.cat([1.0 / std, std.new_ones(inputs)])
        offset = torch.cat([-mean / std, std.new_zeros(inputs)])
        return scale[:, None], offset[:, None]

    def _features(self, raw: Tensor) -> Tensor:
        """The discriminator's features ``[..., F, n]`` from raw ones (observations, then
        inputs in [0, 1]), overwriting ``raw``: non-finite observations become 0 (their
        trials are flagged as failed), then :meth:`_feature_affine` applies."""
        raw = raw.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
        return torch.addcmul(self.feature_offset, raw, self.feature_scale)

    def _noise(self, n: int) -> Noise:
        """The simulation streams of this update's ``n`` trials."""
        key = stream_key(self.config.seed, "simulation", self.updates_done)
        return Noise.for_trials(key, n, self.device)

    def _passive_logits(self, recorded) -> tuple[Tensor, Tensor, Tensor]:
        trials = Trajectories.of(self.system, recorded)
        raw = trials.observations  # the trials' own tensor: overwriting it is fine
        if self.observe_input:
            raw = torch.cat([raw, unit_actions(self.system, trials.inputs)], dim=1)
        logits = self.discriminator(self._features(raw).permute(0, 2, 1))
        return logits, torch.zeros_like(logits), trials.failed

    # ------------------------------------------------------------------ ask / tell
    def ask(self):
        if self.feature_scale is None:
            self._pending = ("normalisation",)
            return [self._normalisation_batch()]
        batch = self.batch
        pre = self.proposal.sample(batch, self.sampling)
        theta = self._clamp(self.proposal.squash(pre).detach())
        models = self.system.simulation_params(theta.T.contiguous(), self.truth)
        inputs, record = PASSIVE, None
        if self.interrogate:
            inputs, record = interrogation_policy(self, 2 * batch)
        self._pending = ("update", pre, theta, record)
        noise = self._noise(2 * batch)
        return [TrialBatch(batch, models, noise, inputs=inputs, record=True)]

    def tell(self, trials):
        (recorded,) = trials
        pending, self._pending = self._pending, None
        if pending[0] == "normalisation":
            self.feature_scale, self.feature_offset = self._feature_affine(recorded)
            return None
        _, pre, theta, record = pending
        for key, value in self._train_step(recorded, pre, theta, record).items():
            self._numbers.setdefault(key, []).append(value)
        self.updates_done += 1
        if len(self._numbers["discriminator_loss"]) < self.updates:
            return None
        numbers, self._numbers = self._numbers, {}
        return self._report(numbers)

    # ------------------------------------------------------------------ training
    def _train_step(self, recorded, pre, theta, record) -> dict[str, float]:
        batch = self.batch
        if self.interrogate:
            logits, log_prob, failed = interrogation_logits(self, recorded, record)
        else:
            logits, log_prob, failed = self._passive_logits(recorded)
        self._count(batch * (2 if self.trials.source.merges else 1), self.config.steps)
        if failed[:batch].any():
            raise SystemContractError(
                f"{self.system.name}: the genuine system produced a non-finite observation; "
                "check its simulator (step/reset must return finite values)"
            )
        labels = torch.cat(
            [torch.ones(batch, device=self.device), torch.zeros(batch, device=self.device)]
        )
        per_trial = functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        discriminator_loss = per_trial.mean()
        loss = discriminator_loss
        policy_loss = torch.zeros(())
        if self.interrogate:
            reward = -per_trial.detach()
            advantage = torch.cat([_leave_one_out(reward[:batch]), _leave_one_out(reward[batch:])])
            policy_loss = -(advantage * log_prob).mean()
            loss = loss + policy_loss
        self.discriminator_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.options["clip"]:
            torch.nn.utils.clip_grad_norm_(self.discriminator.parameters(), self.options["clip"])
        self.discriminator_optimizer.step()

        # Non-saturating generator loss -log D(x) per model trial; a model whose simulation
        # failed gets the worst loss of the batch plus one.
        generator_loss = functional.softplus(-logits[batch:].detach()).double()
        model_failed = failed[batch:]
        if model_failed.any():
            worst = (
                generator_loss[~model_failed].max()
                if (~model_failed).any()
                else generator_loss.new_tensor(10.0)
            )
            generator_loss = torch.where(model_failed, worst + 1.0, generator_loss)
        advantage = _leave_one_out(generator_loss).float()
        proposal_loss = (advantage * self.proposal.log_prob(pre)).mean()
        if self.options["entropy"]:
            proposal_loss = proposal_loss + self.options["entropy"] * self.proposal.entropy()
        self.proposal_optimizer.zero_grad(set_to_none=True)
        proposal_loss.backward()
        self.proposal_optimizer.step()

        judged = logits.detach() > 0
        order = torch.argsort(logits[batch:].detach(), descending=True, stable=True)
        self._samples = theta[order].cpu().double().numpy()
        return {
            "discriminator_loss": float(discriminator_loss.detach()),
            "generator_loss": float(generator_loss.mean()),
            "policy_loss": float(policy_loss.detach()),
            "accuracy_genuine": float(judged[:batch].float().mean()),
            "accuracy_model": float((~judged[batch:]).float().mean()),
            "failed_models": float(model_failed.sum()),
        }

    def _clamp(self, theta: Tensor) -> Tensor:
        # float32 rounding of low + width * sigmoid(u) can step just past a bound.
        low = torch.as_tensor(self.system.lows, dtype=theta.dtype, device=theta.device)
        high = torch.as_tensor(self.system.highs, dtype=theta.dtype, device=theta.device)
        return torch.minimum(torch.maximum(theta, low), high)

    def _report(self, numbers: dict[str, list[float]]) -> GenerationReport:
        metrics = {k: float(np.mean(v)) for k, v in numbers.items()}
        metrics["failed_models"] = float(np.sum(numbers["failed_models"]))
        if not self.interrogate:
            del metrics["policy_loss"]
        metrics["discriminator_accuracy"] = (
            metrics["accuracy_genuine"] + metrics["accuracy_model"]
        ) / 2
        metrics["proposal_std_mean"] = float(self.proposal.log_std.detach().exp().mean())
        median = np.clip(
            self.proposal.median().cpu().double().numpy(), self.system.lows, self.system.highs
        )
        ranked = np.vstack([median, np.clip(self._samples, self.system.lows, self.system.highs)])
        self._last = {
            "model_genes": ranked,
            "proposal_mean": self.proposal.mean.detach().cpu().double().numpy(),
            "proposal_log_std": self.proposal.log_std.detach().cpu().double().numpy(),
        }
        progress = f"D acc {metrics['discriminator_accuracy']:.2f} loss {metrics['discriminator_loss']:.3f}"
        return GenerationReport(ranked=ranked, metrics=metrics, progress=progress)

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {
            **module_arrays(self.discriminator, "discriminator"),
            **module_arrays(self.proposal, "proposal"),
            "sampling_rng": torch_state(self.sampling),
        }
        discriminator_arrays, discriminator_meta = optimizer_state(
            self.discriminator_optimizer, "discriminator_adam"
        )
        proposal_arrays, proposal_meta = optimizer_state(self.proposal_optimizer, "proposal_adam")
        arrays.update(discriminator_arrays)
        arrays.update(proposal_arrays)
        meta = {
            "discriminator_adam": discriminator_meta,
            "proposal_adam": proposal_meta,
            "simulated_trials": self.simulated_trials,
            "simulated_steps": self.simulated_steps,
            "updates_done": self.updates_done,
        }
        if not self.trials.source.replayable and self.feature_scale is not None:
            # An environment cannot show the same trials again: keep what they gave.
            arrays["feature_scale"] = self.feature_scale.cpu().numpy()
            arrays["feature_offset"] = self.feature_offset.cpu().numpy()
        return arrays, meta

    def load_state(self, arrays, meta) -> None:
        load_module_arrays(self.discriminator, arrays, "discriminator")
        load_module_arrays(self.proposal, arrays, "proposal")
        load_optimizer_state(
            self.discriminator_optimizer, arrays, meta["discriminator_adam"], "discriminator_adam"
        )
        load_optimizer_state(
            self.proposal_optimizer, arrays, meta["proposal_adam"], "proposal_adam"
        )
        set_torch_state(self.sampling, arrays["sampling_rng"])
        self.updates_done = int(meta["updates_done"])
        if "feature_scale" in arrays:
            self.feature_scale = torch.as_tensor(arrays["feature_scale"], device=self.device)
            self.feature_offset = torch.as_tensor(arrays["feature_offset"], device=self.device)
        elif self.updates_done:  # a replayable source shows the same trials again
            recorded = self.trials.run(self._normalisation_batch())
            self.feature_scale, self.feature_offset = self._feature_affine(recorded)
        self.simulated_trials = int(meta["simulated_trials"])
        self.simulated_steps = int(meta["simulated_steps"])

    def final_arrays(self) -> dict[str, np.ndarray]:
        arrays = dict(self._last)
        arrays.update(module_arrays(self.discriminator, "discriminator"))
        return arrays


def _leave_one_out(values: Tensor) -> Tensor:
    """``values`` minus the mean of the others: an unbiased score-function baseline."""
    n = values.numel()
    if n < 2:
        return values - values
    return values - (values.sum() - values) / (n - 1)
