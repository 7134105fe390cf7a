"""The all-vs-all trials of a coevolution generation: every interrogator meets the genuine
system and every model.

For each (interrogator ``i``, model ``j``) pair ``k = i M + j`` there is one model trial
and, in the paper's setting, one genuine trial. So each interrogator judges ``M`` genuine
trials and one trial of each of the ``M`` models (``2 P M`` trials, 20,000 at the paper's
sizes); in the passive modes the two trials of a pair share their exogenous input (e.g. the
same light schedule). With a genuine-trial budget (``--genuine-trials K``) a generation
runs only ``K`` genuine trials, given by an :class:`Allocation` to some interrogators; the
model trials are always all ``P M``.

The genuine trial of pair ``k`` is stream ``2k`` of the generation's key and the model
trial stream ``2k + 1`` (:mod:`turing.engine.random`), both with input stream ``k``: what a
trial sees depends on nothing else, so batches of several runs
(:meth:`Evaluator.evaluate_many`) and any order of the trials give each run exactly what it
gets alone. A generation is one :class:`~turing.genuine.batches.TrialBatch` (its genuine
trials first), run by the simulator in one engine call or split between a genuine source
and the engine.

Modes:
    ``interrogate``: the interrogator's outputs 1.. set the system's input each step.
    ``passive``: the system runs on its natural input; the discriminator only observes.
    ``passive-io``: as passive, but the discriminator also sees the input that produced
        each observation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from turing.agents import ElmanShape
from turing.contracts.system import System, values_text
from turing.engine import JUDGE, PASSIVE, Engine, Judge, Trials
from turing.engine.random import Noise
from turing.errors import SystemContractError
from turing.genuine.batches import TrialBatch, TrialRunner, run_merged
from turing.genuine.source import GenuineSource, SimulatorSource

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
class Allocation:
    """The genuine trials of a generation: trial ``g`` is the genuine trial of pair
    ``(owner[g], slot[g])``, judged by interrogator ``owner[g]``.

    Attributes:
        owner: ``[K]`` int64, the interrogator of each genuine trial.
        slot: ``[K]`` int64, its pair's model index (which streams it takes).
    """

    owner: np.ndarray
    slot: np.ndarray

    @classmethod
    def full(cls, interrogators: int, models: int) -> Allocation:
        """Every pair's genuine trial, in pair order (the paper's setting)."""
        return cls(
            np.repeat(np.arange(interrogators), models),
            np.tile(np.arange(models), interrogators),
        )

    @property
    def size(self) -> int:
        return int(self.owner.size)


@dataclass
class Judgements:
    """Outcome of one generation.

    Attributes:
        model: ``[P, M]`` bool, interrogator ``i`` judged model ``j`` genuine (fooled).
        model_failed: ``[M]`` bool, model ``j`` produced a non-finite observation in some
            trial (such trials are judged counterfeit).
        model_output: ``[P, M]`` the interrogators' final output 0 on the model trials
            (0 for failed trials): the graded judgement.
        genuine_owner: ``[K]`` the interrogator of each genuine trial.
        genuine_correct: ``[K]`` bool, that interrogator judged it genuine (correct).
    """

    model: Tensor
    model_failed: Tensor
    model_output: Tensor
    genuine_owner: Tensor
    genuine_correct: Tensor

    @property
    def genuine(self) -> Tensor:
        """``[P, M]`` bool, interrogator ``i`` judged its genuine trial of pair ``(i, j)``
        genuine (every pair's genuine trial, the paper's setting)."""
        p, m = self.model.shape
        if self.genuine_correct.numel() != p * m:
            raise ValueError("this generation ran a budget of genuine trials, not one per pair")
        return self.genuine_correct.view(p, m)

    @property
    def interrogator_fitness(self) -> Tensor:
        """Fraction of each interrogator's ``2 M`` judgements that are correct (every pair's
        genuine trial)."""
        correct = self.genuine.sum(1) + (~self.model).sum(1)
        return correct.double() / (2 * self.genuine.shape[1])

    @property
    def model_fitness(self) -> Tensor:
        """Fraction of interrogators that judged each model genuine."""
        return self.model.double().mean(0)

    @property
    def accuracy_genuine(self) -> Tensor:
        """Each interrogator's fraction of genuine trials judged genuine (every pair's)."""
        return self.genuine.double().mean(1)

    @property
    def accuracy_model(self) -> Tensor:
        """Each interrogator's fraction of model trials judged counterfeit."""
        return (~self.model).double().mean(1)


@dataclass
class Request:
    """The trials of one generation of one run (:meth:`Evaluator.evaluate_many`).

    Attributes:
        models: simulation parameters of the models ``[S, M]``.
        weights: interrogator weights ``[P, n_weights]``.
        key: the generation's Philox key ``(k0, k1)``.
        genuine: the run's genuine simulation parameters ``[S]`` (default: the
            evaluator's).
    """

    models: Tensor
    weights: Tensor
    key: tuple[int, int]
    genuine: Tensor | None = None


class Evaluator:
    """Builds and judges the trials of a coevolution generation.

    Args:
        system: the system.
        mode: ``interrogate``, ``passive`` or ``passive-io``.
        genuine: the genuine simulation parameters ``[S]`` (of the simulator source
            :meth:`evaluate` uses).
        steps: interrogator updates per trial.
        device: torch device of the simulation.
        chunk_size: most trials the torch backends simulate at once (bounds memory; never
            changes results).
        backend: ``native``, ``compiled``, ``eager`` or ``auto`` (see
            :func:`turing.engine.resolve_backend`).
        threads: CPU threads of the native backend.
        hidden: hidden units of the interrogators.
    """

    def __init__(
        self,
        system: System,
        mode: str,
        genuine: Tensor,
        steps: int,
        device: torch.device | str = "cpu",
        chunk_size: int | None = None,
        backend: str = "auto",
        threads: int | None = None,
        hidden: int = 5,
    ):
        if mode not in COEVOLUTION_MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(COEVOLUTION_MODES)}")
        self.system = system
        self.mode = mode
        self.device = torch.device(device)
        self.genuine = torch.as_tensor(genuine, dtype=torch.float32).reshape(-1).to(self.device)
        self.steps = int(steps)
        self.shape = interrogator_shape(system, mode, hidden)
        self.engine = Engine(system, self.steps, self.device, backend, chunk_size, threads)
        self.source = SimulatorSource(self.engine, self.genuine)

    @property
    def backend(self) -> str:
        return self.engine.backend

    @property
    def inputs(self):
        return JUDGE if self.mode == "interrogate" else PASSIVE

    # ------------------------------------------------------------------ building
    def batch(
        self,
        models: Tensor,
        weights: Tensor,
        key: tuple[int, int],
        allocation: Allocation | None = None,
    ) -> TrialBatch:
        """The trials of a generation: the allocated genuine trials, then every pair's
        model trial.

        Args:
            models: simulation parameters of the models ``[S, M]``.
            weights: interrogator weights ``[P, n_weights]``.
            key: the generation's Philox key (:func:`turing.engine.random.stream_key`).
            allocation: the genuine trials (default: every pair's).
        """
        models = models.to(device=self.device, dtype=torch.float32)
        weights = weights.to(device=self.device, dtype=torch.float32)
        if weights.ndim != 2 or weights.shape[1] != self.shape.n_weights:
            raise ValueError(
                f"weights must be [interrogators, {self.shape.n_weights}], got {tuple(weights.shape)}"
            )
        p, m = weights.shape[0], models.shape[1]
        allocation = allocation or Allocation.full(p, m)
        owner = torch.as_tensor(allocation.owner, dtype=torch.int64, device=self.device)
        slot = torch.as_tensor(allocation.slot, dtype=torch.int64, device=self.device)
        genuine_pair = owner * m + slot
        pair = torch.arange(p * m, device=self.device)
        stream = torch.cat([2 * genuine_pair, 2 * pair + 1])
        key_tensor = torch.tensor(key, dtype=torch.int64, device=self.device).reshape(2, 1)
        noise = Noise(key_tensor, stream, input_stream=torch.cat([genuine_pair, pair]))
        judge = Judge(
            self.shape,
            weights,
            torch.cat([owner, pair // m]),
            sees_input=self.mode == "passive-io",
        )
        return TrialBatch(allocation.size, models[:, pair % m], noise, judge, self.inputs)

    def judgements(self, batch: TrialBatch, trials: Trials, interrogators: int) -> Judgements:
        """What the interrogators judged (a genuine trial that failed is an error)."""
        k = batch.genuine
        if bool(trials.failed[:k].any()):
            first = int(trials.failed[:k].nonzero()[0, 0])
            raise SystemContractError(self._genuine_failure(batch, first))
        p = interrogators
        m = (batch.n - k) // p
        judged = trials.judged_genuine
        model_failed = trials.failed[k:].view(p, m)
        output = torch.where(trials.failed[k:], 0.0, trials.judgement[k:]).view(p, m)
        return Judgements(
            judged[k:].view(p, m),
            model_failed.any(0),
            output,
            batch.judge.index[:k],
            judged[:k],
        )

    def _genuine_failure(self, batch: TrialBatch, trial: int) -> str:
        """The message for genuine trial ``trial`` that produced a non-finite observation:
        the trial is simulated again alone, recorded, to name the step."""
        where = ""
        index = torch.tensor([trial], device=self.device)
        try:
            recorded = Engine(self.system, self.steps, self.device, "eager").run(
                self.genuine.reshape(-1, 1),
                batch.noise.select(index),
                batch.judge.select(index),
                self.inputs,
                record=True,
            )
            finite = torch.isfinite(recorded.observations.reshape(self.steps, -1)).all(1)
            if not finite.all():
                where = f" at step {int((~finite).nonzero()[0, 0])} of {self.steps}"
        except Exception:  # the step stays unnamed; the error below is what matters
            pass
        values = values_text(self.system, self.genuine.tolist())
        return (
            f"{self.system.name}: the genuine system produced a non-finite observation"
            f"{where} (parameters {values}); check its simulator (step/reset must return "
            "finite values)"
        )

    # ------------------------------------------------------------------ running
    def evaluate(self, models: Tensor, weights: Tensor, key: tuple[int, int]) -> Judgements:
        """All-vs-all trials of one generation, the genuine ones from this evaluator's
        simulator.

        Args:
            models: simulation parameters of the models ``[S, M]``.
            weights: interrogator weights ``[P, n_weights]``.
            key: the generation's Philox key (:func:`turing.engine.random.stream_key`).
        """
        return self.evaluate_many([Request(models, weights, key)])[0]

    def evaluate_many(self, requests: list[Request]) -> list[Judgements]:
        """The generations of several runs of this system and mode, simulated as one batch
        (each run's trials keep their own key and streams, so each gets exactly the
        judgements :meth:`evaluate` would give it alone)."""
        batches, sources = [], []
        for request in requests:
            batches.append(self.batch(request.models, request.weights, request.key))
            genuine = self.genuine if request.genuine is None else request.genuine
            sources.append(SimulatorSource(self.engine, genuine))
        outcomes = run_merged(self.engine, batches, sources)
        return [
            self.judgements(b, t, r.weights.shape[0])
            for b, t, r in zip(batches, outcomes, requests, strict=True)
        ]

    def record(
        self,
        model: Tensor,
        weights: Tensor,
        trials: int,
        key: tuple[int, int],
        source: GenuineSource | TrialRunner | None = None,
    ) -> dict[str, Tensor]:
        """Records ``trials`` pairs of one interrogator against the genuine system and one
        model, step by step (for replays and episode files).

        Args:
            model: the model's simulation parameters ``[S]``.
            weights: the interrogator's weights ``[n_weights]``.
            trials: pairs to record.
            key: the Philox key of the recording.
            source: where the genuine trials come from (a source, or a run's
                :class:`~turing.genuine.batches.TrialRunner`, which counts them); default this
                evaluator's simulator.

        Returns:
            ``observation [T, obs, 2 trials]``, ``output [T, outputs, 2 trials]``, ``action
            [T - 1, actions, 2 trials]``, ``is_model [2 trials]`` (odd trials) and
            ``judged_genuine [2 trials]``.
        """
        pair = torch.arange(trials, device=self.device)
        stream = torch.cat([2 * pair, 2 * pair + 1])
        key_tensor = torch.tensor(key, dtype=torch.int64, device=self.device).reshape(2, 1)
        noise = Noise(key_tensor, stream, input_stream=torch.cat([pair, pair]))
        model = torch.as_tensor(model, dtype=torch.float32, device=self.device).reshape(-1, 1)
        weights = torch.as_tensor(weights, dtype=torch.float32, device=self.device).reshape(1, -1)
        judge = Judge(
            self.shape,
            weights,
            torch.zeros(2 * trials, dtype=torch.long, device=self.device),
            sees_input=self.mode == "passive-io",
        )
        batch = TrialBatch(trials, model.expand(-1, trials), noise, judge, self.inputs,
                           record=True, purpose="episodes")  # fmt: skip
        runner = (
            source
            if isinstance(source, TrialRunner)
            else TrialRunner(self.engine, source or self.source)
        )
        recorded = runner.run(batch)
        # Pairs interleaved, genuine first: trial 2k is pair k's genuine trial.
        order = torch.stack([pair, pair + trials], dim=1).reshape(-1)
        return {
            "observation": recorded.observations[..., order],
            "output": recorded.outputs[..., order],
            "action": recorded.actions[..., order],
            "is_model": (torch.arange(2 * trials, device=self.device) % 2).bool(),
            "judged_genuine": recorded.judged_genuine[order],
        }
