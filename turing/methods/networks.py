"""Torch modules of the gradient-trained baselines and the C2ST judge.

:class:`RecurrentDiscriminator` reads a trial step by step (a GRU, or an Elman network, over
per-step features) and judges it by the mean of the judgements read from each step's hidden
state; when built with ``action_size > 0`` it is also an interrogation policy that emits
the system's next input from its hidden state (a Gaussian squashed into the action bounds).
:class:`Elman` is the one-layer Elman network it uses with ``cell="rnn"``, with a
hand-written backward pass through time (several times faster on a CPU than
``torch.nn.RNN``'s, whose cost at these sizes is per-step overhead, not arithmetic).
:class:`Proposal` is the Gaussian over a system's model parameters that the adversarial
baselines train, squashed into the parameter bounds. :class:`ConvolutionalClassifier` is
the C2ST judge's classifier.

Every module is built without drawing from torch's global generator (on the ``meta``
device, then initialised from an explicit generator), so that a run is determined by its
seed alone.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.autograd.function import once_differentiable

from turing.contracts.system import System

Tensor = torch.Tensor

CELLS = ("rnn", "gru")
"""Recurrent cells of :class:`RecurrentDiscriminator`: ``rnn`` (:class:`Elman`, tanh) or
``gru`` (``torch.nn.GRU``)."""


def initialise(
    module: nn.Module, generator: torch.Generator, device: torch.device | str
) -> nn.Module:
    """Materialises a module built on the ``meta`` device, drawing every weight from
    ``generator``: recurrent (Elman and GRU) weights and biases uniform in
    ``+-1/sqrt(hidden)`` (PyTorch's default), linear and convolution weights uniform in
    ``+-1/sqrt(fan_in)``, their biases zero, and any ``log_std`` zero."""
    module = module.to_empty(device=device)
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, nn.GRU | Elman):
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


def _elman_step(
    inputs: Tensor,
    hidden: Tensor | None,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias: Tensor,
    out: Tensor | None = None,
) -> Tensor:
    """One Elman step ``tanh(W_ih x + W_hh h + b)`` (``h = None``: zero), into ``out``.
    The tanh is computed as ``2 sigmoid(2x) - 1``: on CPUs torch's ``tanh`` kernel is
    several times slower than its ``sigmoid``, and this is the per-step cost."""
    state = torch.addmm(bias, inputs, weight_ih.T, out=out)
    if hidden is not None:
        state.addmm_(hidden, weight_hh.T)
    return state.mul_(2.0).sigmoid_().mul_(2.0).sub_(1.0)


class _ElmanThroughTime(torch.autograd.Function):
    """``h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)`` from ``h_{-1} = 0`` over a whole
    sequence, with backpropagation through time written out.

    At the discriminator's sizes (thousands of trials, 16 units) the cost is memory
    traffic and per-operation overhead, not arithmetic, so each step works on its own
    slice while it is in cache (a few fused operations), and the weight gradients are
    single products over all steps at the end. ``computed``, when given, holds the states
    already computed by :meth:`Elman.step` (the same operations in the same order, so the
    same numbers): the forward pass is then skipped."""

    @staticmethod
    def forward(
        ctx,
        inputs: Tensor,
        weight_ih: Tensor,
        weight_hh: Tensor,
        bias: Tensor,
        computed: Tensor | None,
    ):
        if computed is not None:
            outputs = computed
        else:
            steps, n, _ = inputs.shape
            outputs = inputs.new_empty(steps, n, weight_hh.shape[0])
            for t in range(steps):
                _elman_step(
                    inputs[t],
                    outputs[t - 1] if t else None,
                    weight_ih,
                    weight_hh,
                    bias,
                    out=outputs[t],
                )
        ctx.save_for_backward(inputs, weight_ih, weight_hh, outputs)
        return outputs

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_outputs: Tensor):
        inputs, weight_ih, weight_hh, outputs = ctx.saved_tensors
        steps, n, features = inputs.shape
        hidden = weight_hh.shape[0]
        # Gradient with respect to each step's pre-activation, from the last step back:
        # what reaches h_t from its readout and from h_{t+1}, through tanh' = 1 - h_t^2.
        grad_pre = torch.empty_like(outputs)
        carried = None
        for t in range(steps - 1, -1, -1):
            state = outputs[t]
            grad = grad_outputs[t] if carried is None else carried.add_(grad_outputs[t])
            # grad * (1 - h^2), as grad - (grad h) h: two passes over the slice.
            torch.addcmul(grad, grad * state, state, value=-1.0, out=grad_pre[t])
            carried = grad_pre[t] @ weight_hh
        flat = grad_pre.reshape(steps * n, hidden)
        grad_inputs = grad_weight_ih = grad_weight_hh = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_inputs = (flat @ weight_ih).reshape(steps, n, features)
        # Sums over all steps and trials as (long^T @ long)^T: the orientation BLAS is
        # fast at when one side is as narrow as the input features.
        if ctx.needs_input_grad[1]:
            grad_weight_ih = (inputs.reshape(steps * n, features).T @ flat).T
        if ctx.needs_input_grad[2]:
            # h_{-1} = 0 contributes nothing, so step 0 drops out.
            grad_weight_hh = (
                outputs[:-1].reshape(-1, hidden).T @ grad_pre[1:].reshape(-1, hidden)
            ).T
        if ctx.needs_input_grad[3]:
            grad_bias = flat.sum(0)
        return grad_inputs, grad_weight_ih, grad_weight_hh, grad_bias, None


class Elman(nn.Module):
    """A one-layer Elman network, ``h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)`` from
    ``h_{-1} = 0``: the same function as ``torch.nn.RNN(features, hidden)`` (whose two
    biases are one here), with a faster backward pass (:class:`_ElmanThroughTime`).

    Args:
        features: per-step input features.
        hidden: hidden units.
        device: where the parameters live (``meta`` until :func:`initialise`).
    """

    def __init__(self, features: int, hidden: int, device: torch.device | str | None = None):
        super().__init__()
        self.hidden_size = hidden
        self.weight_ih = nn.Parameter(torch.empty(hidden, features, device=device))
        self.weight_hh = nn.Parameter(torch.empty(hidden, hidden, device=device))
        self.bias = nn.Parameter(torch.empty(hidden, device=device))

    def forward(self, sequence: Tensor, computed: Tensor | None = None) -> Tensor:
        """Hidden states ``[T, n, hidden]`` of sequences ``[T, n, features]``.

        Args:
            sequence: the inputs.
            computed: the same states, already computed step by step by :meth:`step`
                (without gradients): they are used as they are, and only the backward
                pass is left to do.
        """
        return _ElmanThroughTime.apply(
            sequence, self.weight_ih, self.weight_hh, self.bias, computed
        )

    def step(self, features: Tensor, hidden: Tensor | None) -> Tensor:
        """The next hidden state ``[n, hidden]`` from one step's ``[n, features]`` and the
        previous state (``None``: zero), computed exactly as :meth:`forward` computes it."""
        return _elman_step(features, hidden, self.weight_ih, self.weight_hh, self.bias)


class RecurrentDiscriminator(nn.Module):
    """A recurrent network that judges a trial and, optionally, chooses the system's
    inputs.

    Args:
        features: per-step input features (observation, and the input that produced it).
        hidden: hidden units.
        action_size: outputs of the interrogation policy (0: a passive discriminator).
        cell: ``gru`` (the default) or ``rnn`` (an :class:`Elman` network, as the
            paper's interrogators are; about 3x faster, learns less well).
    """

    def __init__(self, features: int, hidden: int, action_size: int = 0, cell: str = "gru"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        self.cell = cell
        if cell == "rnn":
            self.recurrent = Elman(features, hidden, device="meta")
        else:
            self.recurrent = nn.GRU(features, hidden, device="meta")
        self.judge = nn.Linear(hidden, 1, device="meta")
        self.action_size = action_size
        if action_size:
            self.policy = nn.Linear(hidden, action_size, device="meta")
            # One log standard deviation per input dimension (pre-squash), learned.
            self.log_std = nn.Parameter(torch.empty(action_size, device="meta"))

    def hidden_states(self, sequence: Tensor, computed: Tensor | None = None) -> Tensor:
        """Hidden states ``[T, n, H]`` of whole trials ``[T, n, features]``.

        Args:
            sequence: the trials' features.
            computed: the same states from :meth:`step` (without gradients), which an
                Elman cell reuses instead of recomputing them.
        """
        if self.cell == "rnn":
            return self.recurrent(sequence, computed)
        return self.recurrent(sequence)[0]

    def judgement(self, states: Tensor) -> Tensor:
        """Judgement logits ``[n]`` (> 0: genuine) from hidden states ``[T, n, H]``: the
        mean over steps of the judgement read from each step's hidden state, so that
        evidence from early in a trial counts as much as late and every step gets a
        gradient (a last-state readout learns far more slowly over 100 steps). The
        readout is linear, so that is the readout of the mean state (taken as a sum, whose
        gradient is a broadcast rather than a ``[T, n, H]`` tensor)."""
        return self.judge(states.sum(0) / states.shape[0]).squeeze(-1)

    def forward(self, sequence: Tensor) -> Tensor:
        """Judgement logits ``[n]`` of whole trials ``[T, n, features]`` (> 0: genuine)."""
        return self.judgement(self.hidden_states(sequence))

    def step(self, features: Tensor, hidden: Tensor | None) -> Tensor:
        """Advances ``[n, features]`` by one step from ``hidden`` ``[n, H]`` (``None``: the
        initial state); returns the next hidden state ``[n, H]``. Used while choosing
        inputs, without gradients; :meth:`hidden_states` recomputes the same states."""
        if self.cell == "rnn":
            return self.recurrent.step(features, hidden)
        previous = None if hidden is None else hidden.unsqueeze(0)
        return self.recurrent(features.unsqueeze(0), previous)[1][0]

    def exploration(self, noise: Tensor) -> Tensor:
        """What :meth:`act` adds to the policy's mean, for standard normal ``noise``
        ``[..., n, A]`` drawn for a whole trial at once: the noise scaled by the policy's
        standard deviation, plus its bias (so that each step is a single product)."""
        return self.policy.bias + self.log_std.exp() * noise

    def act(self, hidden: Tensor, exploration: Tensor) -> tuple[Tensor, Tensor]:
        """The next input from the policy at hidden states ``[n, H]``.

        Args:
            hidden: the hidden states.
            exploration: this step's slice ``[n, A]`` of :meth:`exploration`.

        Returns:
            ``(unit, pre)``: the input in [0, 1] per dimension ``[n, A]`` (to be scaled into
            the system's action bounds) and the pre-squash Gaussian sample ``[n, A]``, whose
            log-probability :meth:`judge_and_score` gives.
        """
        pre = torch.addmm(exploration, hidden, self.policy.weight.T)
        return torch.sigmoid(pre), pre

    def judge_and_score(self, states: Tensor, pre: Tensor) -> tuple[Tensor, Tensor]:
        """The judgement logits ``[n]`` of whole trials and the summed log-probability
        ``[n]`` (with grad) of the pre-squash inputs ``pre`` ``[T - 1, n, A]`` chosen at
        the states ``states[:-1]`` (``states``: ``[T, n, H]``).

        The judgement and the policy's mean are read by one linear map from every state
        (the policy's at the last state goes unused), so the gradient reaching the states
        is one product rather than a sum of partial ``[T, n, H]`` tensors. The squash
        does not depend on the policy's weights, so the score function of the pre-squash
        sample is that of the input itself."""
        weight = torch.cat([self.judge.weight, self.policy.weight])
        bias = torch.cat([self.judge.bias, self.policy.bias])
        heads = nn.functional.linear(states, weight, bias)
        logits = heads[..., 0].mean(0)
        z = (pre - heads[:-1, :, 1:]) / self.log_std.exp()
        log_prob = (-0.5 * z**2 - self.log_std - 0.5 * math.log(2 * math.pi)).sum((0, 2))
        return logits, log_prob


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
