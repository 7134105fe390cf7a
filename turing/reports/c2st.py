"""A neutral judge of any inferred model: the classifier two-sample test (C2ST).

Whatever a method optimised (being judged genuine by evolved interrogators, a squared
error, a discriminator's loss, a posterior), its answer is judged the same way: how well
can a classifier, trained afresh, tell trials of the genuine system from trials of the
inferred model (Lopez-Paz and Oquab, ICLR 2017)? The accuracy on held-out trials is 0.5
when the two are indistinguishable and approaches 1 as they differ.

Inputs: no method's own input distribution is privileged (neither the passive input nor
an interrogator's). Each trial gets a fresh random input: piecewise-constant levels drawn
uniformly within the action bounds (each action dimension independently), held for
durations drawn uniformly from 1 to ``max_hold`` steps (default 20). This reaches behaviour
a natural input rarely shows (case study 1: sudden large rises of the light, long and short
holds) while staying a plain, reproducible distribution.

The classifier (:class:`turing.methods.networks.ConvolutionalClassifier`: dilated 1-D
convolutions over time with mean and max pooling; as sensitive as a GRU here and several
times faster to train on a CPU) reads each step's standardised observation and the input
that produced it. It is trained with Adam on binary cross-entropy on one half of the
trials of each class and evaluated on the other half. Every random number comes from the run's seed, under the stream names ``c2st``
(simulation and inputs), ``c2st-classifier`` (weights) and ``c2st-batches`` (minibatches).

:func:`c2st` judges a parameter vector; :func:`c2st_run` judges a finished run folder (its
``best`` estimate by default) and is what ``turing run`` stores as ``c2st`` in
``result.json``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from turing.contracts.seeding import torch_generator
from turing.contracts.system import System, Truth
from turing.errors import UserError

Tensor = torch.Tensor

DEFAULT_TRIALS = 1000
"""Trials per class (genuine, model); half train the classifier, half test it."""

MAX_HOLD = 20


@dataclass(frozen=True)
class C2STResult:
    """Outcome of a C2ST.

    Attributes:
        accuracy: held-out accuracy (0.5 = indistinguishable).
        trials: trials per class (half for training, half for testing).
        test_trials: held-out trials in all (both classes).
        train_accuracy: accuracy on the training trials (a gap to ``accuracy`` means
            overfitting).
        estimate: the judged parameter values, name -> value.
        seconds: wall time.
    """

    accuracy: float
    trials: int
    test_trials: int
    train_accuracy: float
    estimate: dict[str, float]
    seconds: float

    def to_json(self) -> dict:
        return asdict(self)


def random_inputs(
    system: System, n: int, steps: int, generator: torch.Generator, device, max_hold: int = MAX_HOLD
) -> Tensor:
    """Random piecewise-constant inputs for ``n`` trials: ``[steps - 1, A, n]``.

    Each trial's input is a sequence of levels, uniform within the action bounds (each
    dimension independently), each held for a duration uniform in ``1 .. max_hold`` steps.
    """
    from turing.engine.trials import action_scale

    low, span = action_scale(system, device)
    length = max(1, steps - 1)
    segments = length  # enough for the shortest durations
    durations = torch.randint(1, max_hold + 1, (segments, n), generator=generator, device=device)
    levels = torch.rand(segments, system.action_size, n, generator=generator, device=device)
    ends = durations.cumsum(0).T.contiguous()  # [n, segments]: first step after each segment
    t = torch.arange(length, device=device).expand(n, -1).contiguous()
    segment = torch.searchsorted(ends, t, right=True).T.clamp_max(segments - 1)  # [length, n]
    chosen = torch.gather(levels, 0, segment.unsqueeze(1).expand(-1, system.action_size, -1))
    return low + span * chosen


def c2st(
    system: System,
    truth: Truth,
    estimate: Mapping[str, float] | Sequence[float] | np.ndarray,
    *,
    trials: int = DEFAULT_TRIALS,
    seed: int = 0,
    steps: int | None = None,
    device: str | torch.device = "cpu",
    epochs: int = 15,
    width: int = 16,
    max_hold: int = MAX_HOLD,
    backend: str = "auto",
    threads: int | None = None,
    runner: Any = None,
) -> C2STResult:
    """C2ST between the genuine system and the model ``estimate`` under random inputs.

    Args:
        system: the system.
        truth: the genuine system (``system.make_truth(...)``).
        estimate: model parameter values (name -> value, or in the order of
            ``system.parameters``).
        trials: trials per class; half train the classifier, half test it.
        seed: root seed (the run's).
        steps: observations per trial (default: the system's).
        device: torch device of the simulation and the classifier.
        epochs: passes over the training trials.
        width: the classifier's channels per convolution.
        max_hold: longest hold of a random input level, in steps.
        backend: the trial engine's backend (a run passes its own).
        threads: CPU threads of a native backend.
        runner: a run's :class:`~turing.genuine.batches.TrialRunner`: the genuine trials come
            from its source (and are counted); recorded genuine trials are compared under
            their own inputs, which the model trials replay. Default: the simulator.

    Returns:
        the :class:`C2STResult`.

    Raises:
        UserError: for fewer than 10 trials or an estimate that is not a model of
            ``system``.
    """
    from turing.engine import Engine, Noise, stream_key
    from turing.methods.networks import ConvolutionalClassifier, initialise
    from turing.methods.rollout import fixed_rollout, unit_actions

    start = time.perf_counter()
    if trials < 10:
        raise UserError(f"the C2ST needs at least 10 trials per class, got {trials}")
    vector = _estimate_vector(system, estimate)
    device = torch.device(device)
    steps = int(steps or system.default_steps)
    generator = torch_generator(seed, "c2st", device)

    genuine = torch.tensor(truth.simulation, dtype=torch.float32, device=device).reshape(-1, 1)
    model = system.simulation_params(
        torch.tensor(vector, dtype=torch.float32, device=device).reshape(-1, 1), truth
    )
    params = torch.cat([genuine.expand(-1, trials), model.expand(-1, trials)], dim=-1)
    inputs = random_inputs(system, 2 * trials, steps, generator, device, max_hold)
    noise = Noise.for_trials(stream_key(seed, "c2st"), 2 * trials, device)
    if runner is None:
        engine = Engine(system, steps, device, backend, threads=threads)
        recorded = fixed_rollout(engine, params, noise, inputs)
    else:
        from turing.engine import PASSIVE, Fixed
        from turing.genuine.batches import TrialBatch
        from turing.methods.rollout import Trajectories

        given = Fixed(inputs) if runner.source.live else PASSIVE
        batch = TrialBatch(trials, params[:, trials:], noise, None, given, record=True,
                           purpose="c2st")  # fmt: skip
        recorded = Trajectories.of(system, runner.run(batch))
    observations = torch.nan_to_num(recorded.observations, nan=0.0, posinf=0.0, neginf=0.0)
    labels = torch.cat([torch.ones(trials, device=device), torch.zeros(trials, device=device)])

    # Trials are i.i.d. within a class, so the first half of each class trains and the
    # second half tests.
    half = trials // 2
    train = torch.cat([torch.arange(half), trials + torch.arange(half)]).to(device)
    test = torch.cat([torch.arange(half, trials), trials + torch.arange(half, trials)]).to(device)
    flat = observations[..., train].permute(1, 0, 2).reshape(system.observation_size, -1)
    mean, std = flat.mean(1, keepdim=True), flat.std(1, keepdim=True).clamp_min(1e-3)
    features = torch.cat(
        [(observations - mean) / std, unit_actions(system, recorded.inputs)], dim=1
    )
    features = features.permute(0, 2, 1)  # [T, n, F]

    classifier = initialise(
        ConvolutionalClassifier(features.shape[-1], width),
        torch_generator(seed, "c2st-classifier", device),
        device,
    )
    optimizer = torch.optim.Adam(classifier.parameters(), lr=3e-3)
    batches = torch_generator(seed, "c2st-batches", "cpu")
    batch = max(10, min(200, train.numel() // 5))
    for _ in range(epochs):
        order = train[torch.randperm(train.numel(), generator=batches).to(device)]
        for begin in range(0, order.numel(), batch):
            index = order[begin : begin + batch]
            loss = functional.binary_cross_entropy_with_logits(
                classifier(features[:, index]), labels[index]
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        correct = ((classifier(features) > 0).float() == labels).float()
    names = system.parameter_names
    return C2STResult(
        accuracy=float(correct[test].mean()),
        trials=trials,
        test_trials=int(test.numel()),
        train_accuracy=float(correct[train].mean()),
        estimate={n: float(v) for n, v in zip(names, vector, strict=True)},
        seconds=time.perf_counter() - start,
    )


def c2st_run(
    path: str | Path,
    *,
    estimate: str = "best",
    trials: int | None = None,
    seed: int | None = None,
    device: str | None = None,
) -> C2STResult:
    """C2ST of a finished run folder: its genuine system against one of its estimates.

    Args:
        path: the run folder.
        estimate: ``best``, ``top10_median`` or ``last50_median``.
        trials: trials per class (default: the run's ``c2st_trials``, or 1000 if it
            skipped the C2ST).
        seed: root seed (default: the run's, which reproduces its stored ``c2st``).
        device: torch device (default: the run's).

    Returns:
        the :class:`C2STResult`.

    Raises:
        UserError: if ``path`` is not a finished run or ``estimate`` is unknown.
    """
    from turing.integrations.registry import make_system
    from turing.runs.result import Result

    result = Result.load(path)
    if estimate not in result.estimates:
        raise UserError(f"unknown estimate {estimate!r}; choose from {', '.join(result.estimates)}")
    config = result.config
    system = make_system(config.system, **config.system_options)
    truth = system.make_truth(config.true_params)
    return c2st(
        system,
        truth,
        result.estimates[estimate],
        trials=trials or config.c2st_trials or DEFAULT_TRIALS,
        seed=config.seed if seed is None else seed,
        steps=config.steps,
        device=device or config.device,
        backend=config.backend if device in (None, config.device) else "auto",
        threads=config.threads,
    )


def _estimate_vector(system: System, estimate) -> np.ndarray:
    if isinstance(estimate, Mapping):
        missing = [n for n in system.parameter_names if n not in estimate]
        if missing:
            raise UserError(f"{system.name}: the estimate lacks {', '.join(missing)}")
        values = [estimate[n] for n in system.parameter_names]
    else:
        values = list(np.asarray(estimate, dtype=np.float64).reshape(-1))
        if len(values) != len(system.parameters):
            raise UserError(
                f"{system.name}: an estimate has {len(system.parameters)} values "
                f"({', '.join(system.parameter_names)}), got {len(values)}"
            )
    return np.array(
        [p.check(v, system.name) for p, v in zip(system.parameters, values, strict=True)]
    )
