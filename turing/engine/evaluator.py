"""The all-vs-all evaluator: every interrogator meets the genuine system and every model.

One generation is one batch of trials. For each (interrogator ``i``, model ``j``) pair
there are two trials: one with the genuine system and one with model ``j``. So each
interrogator judges ``M`` genuine trials and one trial of each of the ``M`` models
(``2 P M`` trials, 20,000 at the paper's sizes), and in the passive modes the two trials of
a pair share the same exogenous input (e.g. the same light schedule).

Trial ``k`` belongs to pair ``k // 2`` (interrogator ``pair // M``, model ``pair % M``)
and is genuine when ``k`` is even. Its random numbers are stream ``k`` of the generation's
key (:mod:`turing.engine.random`), its passive input stream ``k // 2``: what a trial sees
depends on nothing else, so several runs evaluated as one batch (:meth:`Evaluator.evaluate_many`)
get exactly what each gets alone. The trials run on the :class:`turing.engine.Engine`.

Modes:
    ``interrogate``: the interrogator's outputs 1.. set the system's input each step.
    ``passive``: the system runs on its natural input; the discriminator only observes.
    ``passive-io``: as passive, but the discriminator also sees the input that produced
        each observation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from turing.agents import ElmanShape
from turing.contracts.system import System, values_text
from turing.engine import JUDGE, PASSIVE, Engine, Judge
from turing.engine.random import Noise
from turing.errors import SystemContractError

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
        model_output: ``[P, M]`` the interrogators' final output 0 on the model trials
            (0 for failed trials): the graded judgement.
    """

    genuine: Tensor
    model: Tensor
    model_failed: Tensor
    model_output: Tensor | None = None

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
    def graded_model_fitness(self) -> Tensor:
        """Mean output 0 of the interrogators on each model's trials (how genuine it looked,
        before thresholding)."""
        return self.model_output.double().mean(0)

    @property
    def accuracy_genuine(self) -> Tensor:
        """Each interrogator's fraction of genuine trials judged genuine."""
        return self.genuine.double().mean(1)

    @property
    def accuracy_model(self) -> Tensor:
        """Each interrogator's fraction of model trials judged counterfeit."""
        return (~self.model).double().mean(1)


@dataclass
class Request:
    """The trials of one generation of one run.

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
    """Runs the trials of a generation.

    Args:
        system: the system.
        mode: ``interrogate``, ``passive`` or ``passive-io``.
        genuine: the genuine simulation parameters ``[S]``.
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

    @property
    def backend(self) -> str:
        return self.engine.backend

    def evaluate(self, models: Tensor, weights: Tensor, key: tuple[int, int]) -> Judgements:
        """All-vs-all trials of one generation.

        Args:
            models: simulation parameters of the models ``[S, M]``.
            weights: interrogator weights ``[P, n_weights]``.
            key: the generation's Philox key (:func:`turing.engine.random.stream_key`).

        Returns:
            the judgements.
        """
        return self.evaluate_many([Request(models, weights, key)])[0]

    def evaluate_many(self, requests: list[Request]) -> list[Judgements]:
        """The generations of several runs of this system and mode, simulated as one batch
        (each run's trials keep their own key and streams, so each gets exactly the
        judgements :meth:`evaluate` would give it alone)."""
        params, keys, streams, judges_at, weights, sizes = [], [], [], [], [], []
        offset = 0
        for request in requests:
            models = request.models.to(device=self.device, dtype=torch.float32)
            w = request.weights.to(device=self.device, dtype=torch.float32)
            if w.ndim != 2 or w.shape[1] != self.shape.n_weights:
                raise ValueError(
                    f"weights must be [interrogators, {self.shape.n_weights}], got {tuple(w.shape)}"
                )
            genuine = self.genuine if request.genuine is None else request.genuine
            genuine = torch.as_tensor(genuine, dtype=torch.float32, device=self.device)
            p, m = w.shape[0], models.shape[1]
            n = 2 * p * m
            trial = torch.arange(n, device=self.device)
            pair = trial // 2
            is_model = (trial % 2).bool()
            params.append(torch.where(is_model, models[:, pair % m], genuine.reshape(-1, 1)))
            keys.append(torch.tensor(request.key, dtype=torch.int64, device=self.device)
                        .reshape(2, 1).expand(2, n))  # fmt: skip
            streams.append(trial)
            judges_at.append(pair // m + offset)
            weights.append(w)
            sizes.append((p, m))
            offset += p
        trial = torch.cat(streams)
        noise = Noise(
            torch.cat(keys, dim=1) if len(requests) > 1 else keys[0][:, :1],
            trial,
            input_stream=trial // 2,
        )
        judge = Judge(
            self.shape,
            torch.cat(weights),
            torch.cat(judges_at),
            sees_input=self.mode == "passive-io",
        )
        inputs = JUDGE if self.mode == "interrogate" else PASSIVE
        params = torch.cat(params, dim=1)
        trials = self.engine.run(params, noise, judge, inputs)
        genuine_failed = trials.failed[0::2]
        if genuine_failed.any():
            trial = 2 * int(genuine_failed.nonzero()[0, 0])
            raise SystemContractError(self._genuine_failure(params, noise, judge, inputs, trial))
        return self._split(trials, sizes)

    def _genuine_failure(self, params, noise, judge, inputs, trial: int) -> str:
        """The message for genuine trial ``trial`` that produced a non-finite observation:
        the trial is simulated again alone, recorded, to name the step."""
        where = ""
        index = torch.tensor([trial], device=self.device)
        try:
            recorded = Engine(self.system, self.steps, self.device, "eager").run(
                params[:, index], noise.select(index), judge.select(index), inputs, record=True
            )
            finite = torch.isfinite(recorded.observations.reshape(self.steps, -1)).all(1)
            if not finite.all():
                where = f" at step {int((~finite).nonzero()[0, 0])} of {self.steps}"
        except Exception:  # the step stays unnamed; the error below is what matters
            pass
        values = values_text(self.system, params[:, trial].tolist())
        return (
            f"{self.system.name}: the genuine system produced a non-finite observation"
            f"{where} (parameters {values}); check its simulator (step/reset must return "
            "finite values)"
        )

    def _split(self, trials, sizes) -> list[Judgements]:
        results, begin = [], 0
        judged = trials.judged_genuine
        for p, m in sizes:
            end = begin + 2 * p * m
            failed = trials.failed[begin:end].view(p, m, 2)
            verdict = judged[begin:end].view(p, m, 2)
            output = torch.where(trials.failed[begin:end], 0.0, trials.judgement[begin:end]).view(
                p, m, 2
            )
            results.append(
                Judgements(verdict[..., 0], verdict[..., 1], failed[..., 1].any(0), output[..., 1])
            )
            begin = end
        return results

    def record(
        self, model: Tensor, weights: Tensor, trials: int, key: tuple[int, int]
    ) -> dict[str, Tensor]:
        """Records ``trials`` pairs of one interrogator against the genuine system and one
        model, step by step (for replays and episode files).

        Args:
            model: the model's simulation parameters ``[S]``.
            weights: the interrogator's weights ``[n_weights]``.
            trials: pairs to record.
            key: the Philox key of the recording.

        Returns:
            ``observation [T, obs, 2 trials]``, ``output [T, outputs, 2 trials]``, ``action
            [T - 1, actions, 2 trials]``, ``is_model [2 trials]`` (odd trials) and
            ``judged_genuine [2 trials]``.
        """
        n = 2 * trials
        trial = torch.arange(n, device=self.device)
        is_model = (trial % 2).bool()
        model = torch.as_tensor(model, dtype=torch.float32, device=self.device).reshape(-1, 1)
        params = torch.where(is_model, model, self.genuine.reshape(-1, 1))
        weights = torch.as_tensor(weights, dtype=torch.float32, device=self.device).reshape(1, -1)
        judge = Judge(
            self.shape,
            weights,
            torch.zeros(n, dtype=torch.long, device=self.device),
            sees_input=self.mode == "passive-io",
        )
        noise = Noise.for_trials(key, n, self.device)
        noise.input_stream = trial // 2
        inputs = JUDGE if self.mode == "interrogate" else PASSIVE
        recorded = self.engine.run(params, noise, judge, inputs, record=True)
        return {
            "observation": recorded.observations,
            "output": recorded.outputs,
            "action": recorded.actions,
            "is_model": is_model,
            "judged_genuine": recorded.judged_genuine,
        }
