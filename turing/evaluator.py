"""The all-vs-all evaluator: every interrogator meets the genuine system and every model.

One generation is one batch of trials. For each (interrogator ``i``, model ``j``) pair
there are two trials: one with the genuine system and one with model ``j``. So each
interrogator judges ``M`` genuine trials and one trial of each of the ``M`` models
(``2 P M`` trials, 20,000 at the paper's sizes), and in the passive modes the two trials of
a pair share the same exogenous input (e.g. the same light schedule).

Trial ``k`` belongs to pair ``k // 2`` (interrogator ``pair // M``, model ``pair % M``)
and is genuine when ``k`` is even. Trials are simulated in chunks of whole pairs, step by
step, on one device; the chunk size bounds memory and never changes the experiment.

Modes:
    ``interrogate``: the interrogator's outputs 1.. set the system's input each step.
    ``passive``: the system runs on its natural input; the discriminator only observes.
    ``passive-io``: as passive, but the discriminator also sees the input that produced
        each observation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from turing.agents import ElmanShape, InterrogatorPopulation
from turing.errors import SystemContractError
from turing.system import System

Tensor = torch.Tensor

COEVOLUTION_MODES = ("interrogate", "passive", "passive-io")


def interrogator_shape(system: System, mode: str, hidden: int = 5) -> ElmanShape:
    """The network shape of an interrogator (or passive discriminator) for ``mode``."""
    if mode == "interrogate":
        return ElmanShape(system.observation_size, 1 + system.action_size, hidden)
    if mode == "passive":
        return ElmanShape(system.observation_size, 1, hidden)
    if mode == "passive-io":
        return ElmanShape(system.observation_size + system.action_size, 1, hidden)
    raise ValueError(f"no interrogator shape for mode {mode!r}")


@dataclass
class Judgements:
    """Outcome of one generation.

    Attributes:
        genuine: ``[P, M]`` bool, interrogator ``i`` judged its genuine trial of pair
            ``(i, j)`` genuine (correct).
        model: ``[P, M]`` bool, interrogator ``i`` judged model ``j`` genuine (fooled).
        model_failed: ``[M]`` bool, model ``j`` produced a non-finite observation in some
            trial (such trials are judged counterfeit).
    """

    genuine: Tensor
    model: Tensor
    model_failed: Tensor

    @property
    def interrogator_fitness(self) -> Tensor:
        """Fraction of each interrogator's ``2 M`` judgements that are correct."""
        correct = self.genuine.sum(1) + (~self.model).sum(1)
        return correct.double() / (2 * self.genuine.shape[1])

    @property
    def model_fitness(self) -> Tensor:
        """Fraction of interrogators that judged each model genuine."""
        return self.model.double().mean(0)

    @property
    def accuracy_genuine(self) -> Tensor:
        """Each interrogator's fraction of genuine trials judged genuine."""
        return self.genuine.double().mean(1)

    @property
    def accuracy_model(self) -> Tensor:
        """Each interrogator's fraction of model trials judged counterfeit."""
        return (~self.model).double().mean(1)


class Evaluator:
    """Runs the trials of a generation.

    Args:
        system: the system.
        mode: ``interrogate``, ``passive`` or ``passive-io``.
        genuine: the genuine simulation parameters ``[S]``.
        steps: interrogator updates per trial.
        device: torch device of the simulation.
        chunk_size: most trials simulated at once (rounded down to whole pairs).
        dtype: floating point type of the simulation.
        compile: simulate with the system's compiled step where it has one (see
            :meth:`turing.System.prepare`); the runner resolves ``RunConfig.compile``.
    """

    def __init__(
        self,
        system: System,
        mode: str,
        genuine: Tensor,
        steps: int,
        device: torch.device | str = "cpu",
        chunk_size: int | None = None,
        dtype: torch.dtype = torch.float32,
        compile: bool = False,
    ):
        if mode not in COEVOLUTION_MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(COEVOLUTION_MODES)}")
        self.system = system
        self.mode = mode
        self.device = torch.device(device)
        self.dtype = dtype
        self.compile = bool(compile)
        self.genuine = torch.as_tensor(genuine, dtype=dtype, device=self.device).reshape(-1, 1)
        self.steps = int(steps)
        self.chunk_size = max(2, int(chunk_size or system.default_chunk_size) // 2 * 2)
        self.shape = interrogator_shape(system, mode)
        self._action_low = float(system.action_low)
        self._action_span = float(system.action_high) - float(system.action_low)
        self._checked = False

    def evaluate(self, models: Tensor, weights: Tensor, generator: torch.Generator) -> Judgements:
        """All-vs-all trials of one generation.

        Args:
            models: simulation parameters of the models ``[S, M]``.
            weights: interrogator weights ``[P, n_weights]``.
            generator: the simulation's random stream (on this device).

        Returns:
            the judgements.
        """
        models = models.to(device=self.device, dtype=self.dtype)
        population = InterrogatorPopulation(self.shape, weights.to(self.device, self.dtype))
        n_models = models.shape[1]
        n_trials = 2 * len(population) * n_models
        judged_genuine = torch.empty(n_trials, dtype=torch.bool, device=self.device)
        failed = torch.zeros(n_trials, dtype=torch.bool, device=self.device)
        for start in range(0, n_trials, self.chunk_size):
            stop = min(n_trials, start + self.chunk_size)
            trial = torch.arange(start, stop, device=self.device)
            pair = trial // 2
            is_model = (trial % 2).bool()
            params = torch.where(is_model, models[:, pair % n_models], self.genuine)
            nets = population.trials(pair // n_models)
            judgement, bad = self.run_trials(
                params, nets, n_pairs=(stop - start) // 2, generator=generator
            )
            if bad.any():
                bad_genuine = bad & ~is_model
                if bad_genuine.any():
                    raise SystemContractError(
                        f"{self.system.name}: the genuine system produced a non-finite "
                        "observation; check its simulator (step/reset must return finite values)"
                    )
            judged_genuine[start:stop] = judgement
            failed[start:stop] = bad
        judged_genuine = judged_genuine.view(len(population), n_models, 2)
        model_failed = failed.view(len(population), n_models, 2)[..., 1].any(0)
        return Judgements(judged_genuine[..., 0], judged_genuine[..., 1], model_failed)

    def record(
        self, model: Tensor, weights: Tensor, trials: int, generator: torch.Generator
    ) -> dict[str, Tensor]:
        """Records ``trials`` pairs of one interrogator against the genuine system and one
        model, step by step (for replays and episode files).

        Args:
            model: the model's simulation parameters ``[S]``.
            weights: the interrogator's weights ``[n_weights]``.
            trials: pairs to record.
            generator: random stream.

        Returns:
            ``observation [T, obs, 2 trials]``, ``output [T, outputs, 2 trials]``, ``action
            [T - 1, actions, 2 trials]``, ``is_model [2 trials]`` (odd trials) and
            ``judged_genuine [2 trials]``.
        """
        n = 2 * trials
        is_model = (torch.arange(n, device=self.device) % 2).bool()
        model = torch.as_tensor(model, dtype=self.dtype, device=self.device).reshape(-1, 1)
        params = torch.where(is_model, model, self.genuine)
        population = InterrogatorPopulation(
            self.shape,
            torch.as_tensor(weights, dtype=self.dtype, device=self.device).reshape(1, -1),
        )
        nets = population.trials(torch.zeros(n, dtype=torch.long, device=self.device))
        record: dict[str, list[Tensor]] = {"observation": [], "output": [], "action": []}
        judged, _ = self.run_trials(params, nets, trials, generator, record)
        result = {k: torch.stack(v) for k, v in record.items() if v}
        result["is_model"] = is_model
        result["judged_genuine"] = judged
        return result

    def run_trials(
        self,
        params: Tensor,
        nets,
        n_pairs: int,
        generator: torch.Generator,
        record: dict[str, list[Tensor]] | None = None,
    ):
        """Simulates trials whose consecutive (genuine, model) pairs share passive inputs.

        Args:
            params: simulation parameters ``[S, n]``.
            nets: the trials' networks (:class:`turing.agents.ElmanTrials`).
            n_pairs: ``n // 2``; pairs share passive inputs.
            generator: random stream.
            record: if given, per-step ``observation``, ``output`` and ``action`` tensors
                are appended to its lists (for replays).

        Returns:
            ``(judged_genuine, failed)``, both ``[n]`` bool.
        """
        system = self.system
        # Every batch re-selects its step: evaluators with and without compilation may
        # share one system instance (the benchmark times both).
        system.prepare(self.device, self.compile)
        n = params.shape[-1]
        passive = self.mode != "interrogate"
        inputs = None
        if passive:
            inputs = system.passive_inputs(n_pairs, self.steps, generator, self.device)
            if inputs is not None:
                inputs = inputs.repeat_interleave(2, dim=-1)
        state, obs = self._outputs(system.reset(params, generator), "reset")
        self._check(obs, "reset", n, system.observation_size)
        hidden = nets.initial_state()
        previous_action = (
            system.initial_action(n, self.device) if self.mode == "passive-io" else None
        )
        # A non-finite observation makes this running sum non-finite for good; checking it
        # once at the end costs one add per step instead of a test and a sync.
        health = torch.zeros(n, dtype=obs.dtype, device=self.device)
        for t in range(self.steps):
            health += obs.sum(0)
            x = obs if previous_action is None else torch.cat([obs, previous_action])
            hidden, out = nets.step(hidden, x)
            if record is not None:
                record["observation"].append(obs.clone())
                record["output"].append(out.clone())
            if t == self.steps - 1:
                break
            if passive:
                action = system.passive_action(t, obs, params, inputs)
                self._check(action, "passive_action", n, system.action_size)
            else:
                action = out[1:].mul(self._action_span).add_(self._action_low)
            if record is not None:
                record["action"].append(action.clone())
            state, obs = self._outputs(system.step(state, params, action, generator), "step")
            self._check(obs, "step", n, system.observation_size)
            if previous_action is not None:
                previous_action = action
        failed = ~torch.isfinite(health)
        return (out[0] >= 0.5) & ~failed, failed

    def _outputs(self, result, what: str):
        if not self._checked and not (isinstance(result, tuple) and len(result) == 2):
            raise SystemContractError(
                f"{self.system.name}: {what} returned {type(result).__name__}, expected a "
                "(state, observation) pair"
            )
        return result

    def _check(self, value: Tensor, what: str, n: int, size: int) -> None:
        # Outputs are checked until the first step has passed: enough to catch a system
        # that breaks the contract, without a cost per step.
        if self._checked:
            return
        if not isinstance(value, Tensor) or tuple(value.shape) != (size, n):
            got = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise SystemContractError(
                f"{self.system.name}: {what} returned shape {got}, expected ({size}, {n}) "
                "(features first, trial axis last)"
            )
        if not value.is_floating_point():
            raise SystemContractError(
                f"{self.system.name}: {what} returned a {value.dtype} tensor, expected floating "
                "point (create it like params, e.g. params.new_zeros)"
            )
        if value.device.type != self.device.type:
            raise SystemContractError(
                f"{self.system.name}: {what} returned a tensor on {value.device}, expected "
                f"{self.device} (create tensors on params.device)"
            )
        if what == "step":
            self._checked = True
