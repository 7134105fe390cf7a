"""Torch modules of the gradient-trained baselines and the C2ST judge.

:class:`RecurrentDiscriminator` reads a trial step by step (a GRU over per-step features)
and judges it by the mean of the judgements read from each step's hidden state; when built
with ``action_size > 0`` it is also an interrogation policy that emits the system's next
input from its hidden state (a Gaussian squashed into the action bounds). :class:`Proposal` is the Gaussian over a system's model
parameters that the adversarial baselines train, squashed into the parameter bounds.
:class:`ConvolutionalClassifier` is the C2ST judge's classifier.

Every module is built without drawing from torch's global generator (on the ``meta``
device, then initialised from an explicit generator), so that a run is determined by its
seed alone.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from turing.system import System

Tensor = torch.Tensor


def initialise(
    module: nn.Module, generator: torch.Generator, device: torch.device | str
) -> nn.Module:
    """Materialises a module built on the ``meta`` device, drawing every weight from
    ``generator``: GRU weights uniform in ``+-1/sqrt(hidden)`` (PyTorch's default), linear
    and convolution weights uniform in ``+-1/sqrt(fan_in)``, their biases zero, and any
    ``log_std`` zero."""
    module = module.to_empty(device=device)
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, nn.GRU):
                bound = 1.0 / math.sqrt(sub.hidden_size)
                for weight in sub.parameters():
                    nn.init.uniform_(weight, -bound, bound, generator=generator)
            elif isinstance(sub, nn.Linear | nn.Conv1d):
                fan_in = sub.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                nn.init.uniform_(sub.weight, -bound, bound, generator=generator)
                if sub.bias is not None:
                    nn.init.zeros_(sub.bias)
        for name, parameter in module.named_parameters(recurse=False):
            if name == "log_std":
                parameter.zero_()
    return module


class RecurrentDiscriminator(nn.Module):
    """A GRU that judges a trial and, optionally, chooses the system's inputs.

    Args:
        features: per-step input features (observation, and the input that produced it).
        hidden: GRU hidden units.
        action_size: outputs of the interrogation policy (0: a passive discriminator).
    """

    def __init__(self, features: int, hidden: int, action_size: int = 0):
        super().__init__()
        self.gru = nn.GRU(features, hidden, device="meta")
        self.judge = nn.Linear(hidden, 1, device="meta")
        self.action_size = action_size
        if action_size:
            self.policy = nn.Linear(hidden, action_size, device="meta")
            # One log standard deviation per input dimension (pre-squash), learned.
            self.log_std = nn.Parameter(torch.empty(action_size, device="meta"))

    def forward(self, sequence: Tensor) -> Tensor:
        """Judgement logits ``[n]`` of whole trials ``[T, n, features]`` (> 0: genuine):
        the mean over steps of the judgement read from each step's hidden state, so that
        evidence from early in a trial counts as much as late and every step gets a
        gradient (a last-state readout learns far more slowly over 100 steps)."""
        outputs, _ = self.gru(sequence)
        return self.judge(outputs).squeeze(-1).mean(0)

    def step(self, features: Tensor, hidden: Tensor | None) -> Tensor:
        """Advances ``[n, features]`` by one step; returns the hidden state ``[1, n, H]``."""
        _, hidden = self.gru(features.unsqueeze(0), hidden)
        return hidden

    def logit(self, hidden: Tensor) -> Tensor:
        """The judgement logit ``[n]`` of one step's hidden state (a trial's judgement is
        the mean over its steps, as in :meth:`forward`)."""
        return self.judge(hidden[-1]).squeeze(-1)

    def act(self, hidden: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Samples the next input from the policy.

        Returns:
            ``(unit, log_prob)``: the input in [0, 1] per dimension ``[n, A]`` (to be scaled
            into the system's action bounds) and its log-probability ``[n]`` (with grad).
        """
        mean = self.policy(hidden[-1])
        std = self.log_std.exp()
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        pre = (mean + std * noise).detach()
        # log N(pre; mean, std): the squash does not depend on the policy's weights, so the
        # score function of the pre-squash sample is that of the input itself.
        log_prob = (
            -0.5 * ((pre - mean) / std) ** 2 - self.log_std - 0.5 * math.log(2 * math.pi)
        ).sum(-1)
        return torch.sigmoid(pre), log_prob


class ConvolutionalClassifier(nn.Module):
    """Judges whole trials by dilated 1-D convolutions over time (receptive field 29
    steps), then mean and max pooling over time: fast to train on a CPU, and able to pick
    up durations and rare events anywhere in a trial.

    Args:
        features: per-step input features.
        width: channels of each convolution.
    """

    def __init__(self, features: int, width: int = 16):
        super().__init__()
        self.convolutions = nn.Sequential(
            nn.Conv1d(features, width, 5, padding=2, device="meta"),
            nn.ReLU(),
            # Half the time resolution from here on: a third of the cost, the same reach.
            nn.Conv1d(width, width, 5, padding=4, dilation=2, stride=2, device="meta"),
            nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=4, dilation=2, device="meta"),
            nn.ReLU(),
        )
        self.judge = nn.Linear(2 * width, 1, device="meta")

    def forward(self, sequence: Tensor) -> Tensor:
        """Judgement logits ``[n]`` of trials ``[T, n, features]`` (> 0: genuine)."""
        hidden = self.convolutions(sequence.permute(1, 2, 0))
        return self.judge(torch.cat([hidden.mean(-1), hidden.amax(-1)], dim=-1)).squeeze(-1)


class Proposal(nn.Module):
    """A Gaussian over pre-squash model parameters ``u``, mapped into the bounds.

    Bounded parameters: ``theta = low + width * sigmoid(u)``. Periodic parameters (angles):
    ``theta = low + width * frac(u)``, so the proposal can sit on either side of the seam.
    The proposal starts at the centre of the bounds with a unit standard deviation for
    bounded parameters (covering most of the range) and a quarter period for periodic ones.

    Args:
        system: the system whose parameters are proposed.
    """

    def __init__(self, system: System):
        super().__init__()
        self.register_buffer("low", torch.tensor(system.lows, dtype=torch.float32))
        self.register_buffer("width", torch.tensor(system.highs - system.lows, dtype=torch.float32))
        periodic = np.array([p.periodic for p in system.parameters])
        self.register_buffer("periodic", torch.tensor(periodic))
        self.mean = nn.Parameter(torch.where(self.periodic, 0.5, 0.0))
        self.log_std = nn.Parameter(torch.where(self.periodic, math.log(0.25), 0.0))

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` pre-squash samples ``[n, D]`` (no grad)."""
        noise = torch.randn(n, self.mean.numel(), generator=generator, device=self.mean.device)
        return (self.mean + self.log_std.exp() * noise).detach()

    def log_prob(self, pre: Tensor) -> Tensor:
        """``log q(u)`` of pre-squash samples ``[n, D]`` -> ``[n]`` (with grad)."""
        z = (pre - self.mean) / self.log_std.exp()
        return (-0.5 * z**2 - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def entropy(self) -> Tensor:
        """Entropy of the pre-squash Gaussian."""
        return (self.log_std + 0.5 * math.log(2 * math.pi * math.e)).sum()

    def squash(self, pre: Tensor) -> Tensor:
        """Model parameters ``[n, D]`` within the bounds."""
        unit = torch.where(self.periodic, torch.remainder(pre, 1.0), torch.sigmoid(pre))
        return self.low + self.width * unit

    def median(self) -> Tensor:
        """The proposal's median in parameter space ``[D]`` (the squashed mean)."""
        return self.squash(self.mean.detach().unsqueeze(0))[0]
