"""``gan-interrogate``'s trials: the discriminator chooses each input as it reads the trial.

The inputs are samples of the discriminator's input policy, so choosing them needs no
gradients: :func:`interrogation_policy` gives the engine a :class:`~turing.engine.Policy`
that runs under ``no_grad`` and records each step's features, hidden state and chosen
pre-squash input; :func:`interrogation_logits` then takes the discriminator's gradients
through the recorded trials in one pass. ``method`` is the
:class:`~turing.methods.gan.AdversarialVariational` whose discriminator acts.
"""

from __future__ import annotations

from typing import Any

import torch

from turing.engine import Policy
from turing.engine.trials import action_scale
from turing.methods.rollout import unit_actions

Tensor = torch.Tensor


def interrogation_policy(method, n: int) -> tuple[Policy, dict[str, Any]]:
    """The input policy of ``n`` trials whose inputs the discriminator chooses step by
    step, and what it records of them (see :func:`interrogation_logits`)."""
    system, steps = method.system, method.config.steps
    discriminator = method.discriminator
    low, span = action_scale(system, method.device)
    noise = torch.randn(
        (steps - 1, n, system.action_size), generator=method.sampling, device=method.device
    )
    with torch.no_grad():
        exploration = discriminator.exploration(noise)
    record: dict[str, Any] = {"features": [], "states": [], "chosen": [],
                              "exploration": exploration}  # fmt: skip
    previous = [unit_actions(system, system.initial_action(n, method.device))]
    hidden = [None]

    def read(observation: Tensor) -> None:
        raw = torch.cat([observation, previous[0].to(observation.dtype)])
        record["features"].append(method._features(raw))
        hidden[0] = discriminator.step(record["features"][-1].T, hidden[0])
        record["states"].append(hidden[0])

    def choose(t: int, observation: Tensor, outputs) -> Tensor:
        with torch.no_grad():
            read(observation)
            unit, pre = discriminator.act(hidden[0], exploration[t])
            record["chosen"].append(pre)
            previous[0] = unit.T
        # Most systems' inputs are already in [0, 1]: skip two operations a step.
        return previous[0] if (low, span) == (0.0, 1.0) else previous[0] * span + low

    record["read"] = read
    return Policy(choose), record


def interrogation_logits(method, recorded, record) -> tuple[Tensor, Tensor, Tensor]:
    """Trials whose inputs the discriminator chose step by step. Returns the logits,
    the summed log-probabilities of the chosen inputs and the failure flags.

    The inputs are samples, so choosing them needs no gradients: the trials ran under
    ``no_grad``, recording each step's features, hidden state and chosen pre-squash
    input, and the discriminator's losses take their gradients through the recorded
    trials in one pass (:meth:`RecurrentDiscriminator.step` computes exactly the states
    of :meth:`RecurrentDiscriminator.hidden_states`, which an Elman cell reuses)."""
    with torch.no_grad():
        record["read"](recorded.observations[-1])  # the last observation: judged only
    states = method.discriminator.hidden_states(
        torch.stack(record["features"]).permute(0, 2, 1), torch.stack(record["states"])
    )
    # (A one-step trial chooses no input: its empty ``exploration`` stands in.)
    chosen = torch.stack(record["chosen"]) if record["chosen"] else record["exploration"]
    logits, log_prob = method.discriminator.judge_and_score(states, chosen)
    return logits, log_prob, recorded.failed
