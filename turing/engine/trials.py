"""The trial engine: the one loop in which inputs drive a system and judges read it.

Everything this platform computes is trials. A *trial* is ``steps`` observations of one
system (the genuine one or a model: a column of ``params``): :meth:`System.reset` gives
observation 0; for ``t = 0 .. steps - 1`` the *judge* (an interrogator network, if any)
reads observation ``t`` (and, if it sees inputs, the input that produced it); unless ``t``
is the last step, an *input source* chooses the input and :meth:`System.step` produces
observation ``t + 1``. The judgement is the judge's output 0 after the last observation
(``>= 0.5``: genuine). A trial any of whose observations is not finite is flagged
``failed``. The evaluator (all-vs-all coevolution), the baselines' rollouts, the GAN, the
C2ST, replays and the TuringTest env all run trials through
:class:`turing.engine.Engine` (``engine.py``) or :func:`turing.engine.simulate`; none has a
step loop of its own. This module holds the contract's types: input sources, the judge,
and what a batch of trials produced.

Input sources:

* ``"judge"``: the judge's outputs ``1..`` mapped to the action bounds (interrogation);
* :data:`PASSIVE`: the system's own :meth:`~turing.System.passive_action` (its natural
  input, from :meth:`~turing.System.passive_inputs` drawn on each trial's input stream);
* :class:`Fixed`: inputs given in advance (a schedule, or inputs replayed from other
  trials);
* :class:`Policy`: any callable ``choose(t, observation, outputs) -> action``, called
  between steps (a gradient-trained policy; the stepwise backend only).

Randomness comes from a :class:`~turing.engine.random.Noise` (counter-based per-trial
streams), so a trial's result does not depend on its batch, the chunking, threads or the
backend's arithmetic order beyond float rounding.

Backends (all compute the same function; results differ by float rounding only):

* ``native``: the fused kernel generated from the system's torch methods
  (:mod:`turing.engine.fused`; the swarm's is hand-written), reset, steps, network and
  input choice fused into one pass over whole trials, on CPU threads or CUDA;
* ``compiled``: the step (judge, input choice and system step) as one ``torch.compile``
  graph per control step; on CUDA the whole trial loop of a chunk is captured in a CUDA
  graph and replayed, so no Python runs per step;
* ``eager``: the reference, plain torch step by step (any system, any input source).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from turing.agents import ElmanShape, ElmanTrials, InterrogatorPopulation
from turing.errors import SystemContractError

Tensor = torch.Tensor

BACKENDS = ("native", "compiled", "eager")
JUDGE = "judge"


class _Passive:
    def __repr__(self) -> str:
        return "PASSIVE"


PASSIVE = _Passive()
"""Input source: the system's passive controller."""


@dataclass
class Fixed:
    """Input source: given inputs ``[steps - 1, action_size, n]`` (``actions[t]`` follows
    observation ``t``)."""

    actions: Tensor


@dataclass
class Policy:
    """Input source: ``choose(t, observation [O, n], outputs [outs, n] | None) -> action
    [A, n]``, called between steps (stepwise backend)."""

    choose: Callable[[int, Tensor, Tensor | None], Tensor]


InputSource = str | _Passive | Fixed | Policy


@dataclass
class Judge:
    """Interrogators that read trials: one Elman network per interrogator, weights stored
    once per interrogator.

    Attributes:
        shape: the network shape (output 0 is the judgement).
        weights: ``[P, n_weights]``.
        index: ``[n]`` int64, the interrogator of each trial.
        sees_input: the network also reads the input that produced each observation
            (``passive-io``), after the observation.
        scaled: ``weights`` already read inputs scaled by the system's bounds
            (:mod:`turing.engine.scaling`; :meth:`turing.engine.Engine.run` folds the
            scaling into the weights of a judge that does not).
    """

    shape: ElmanShape
    weights: Tensor
    index: Tensor
    sees_input: bool = False
    scaled: bool = False

    def select(self, trials: Tensor | slice) -> Judge:
        return replace(self, index=self.index[trials])


@dataclass
class Trials:
    """What a batch of trials produced (trial axis last).

    Attributes:
        judgement: ``[n]`` the judge's output 0 after the last observation (``None``
            without a judge).
        failed: ``[n]`` bool, some observation was not finite.
        observations: ``[T, O, n]`` (recorded trials only).
        outputs: ``[T, outputs, n]``, the judge's outputs after each observation.
        actions: ``[T - 1, A, n]``, the inputs between observations.
    """

    judgement: Tensor | None
    failed: Tensor
    observations: Tensor | None = None
    outputs: Tensor | None = None
    actions: Tensor | None = None

    @property
    def judged_genuine(self) -> Tensor:
        """``[n]`` bool: judged genuine (a failed trial never is)."""
        return (self.judgement >= 0.5) & ~self.failed


def default_threads() -> int:
    """CPU threads of native kernels: the cores this process may use. Threads take work
    from a shared counter, so on a busy machine a slow thread delays only its own share."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def networks(judge: Judge, dtype) -> ElmanTrials:
    weights = judge.weights.to(device=judge.index.device, dtype=dtype)
    return InterrogatorPopulation(judge.shape, weights).trials(judge.index)


def action_scale(system, device=None) -> tuple[float | Tensor, float | Tensor]:
    """``(low, span)`` that map a network output in [0, 1] to the action bounds: floats when
    every dimension has the same bounds, else ``[A, 1]`` tensors on ``device``."""
    low, high = system.action_bounds()
    if np.all(low == low[0]) and np.all(high == high[0]):
        return float(low[0]), float(high[0]) - float(low[0])
    return (
        torch.tensor(low, dtype=torch.float32, device=device).reshape(-1, 1),
        torch.tensor(high - low, dtype=torch.float32, device=device).reshape(-1, 1),
    )


def source_name(inputs: InputSource) -> str:
    if inputs == JUDGE:
        return JUDGE
    if inputs is PASSIVE:
        return "passive"
    if isinstance(inputs, Fixed):
        return "fixed"
    if isinstance(inputs, Policy):
        return "policy"
    raise ValueError(f"unknown input source {inputs!r}")


def select_inputs(inputs: InputSource, index: Tensor) -> InputSource:
    return Fixed(inputs.actions[..., index]) if isinstance(inputs, Fixed) else inputs


def select_start(start: Any, index: Tensor) -> Any:
    if start is None:
        return None
    if isinstance(start, Tensor):
        return start[..., index]
    if isinstance(start, tuple | list):
        return type(start)(select_start(s, index) for s in start)
    if isinstance(start, dict):
        return {k: select_start(v, index) for k, v in start.items()}
    raise SystemContractError(
        f"sample_starts returned a {type(start).__name__}; return tensors (trial axis last), "
        "or tuples, lists or dicts of them"
    )


def concatenate(parts: list[Trials]) -> Trials:
    def cat(name):
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else torch.cat(values, dim=-1)

    return Trials(
        *(cat(name) for name in ("judgement", "failed", "observations", "outputs", "actions"))
    )


def trial_steps(trials: int, steps: int) -> int:
    """Robot-steps (trial-steps) of ``trials`` trials: the unit of the speed figures."""
    return int(trials) * int(steps)
