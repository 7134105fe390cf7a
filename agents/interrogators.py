"""Interrogators: a population of Elman networks stored as one weights tensor.

An interrogator reads the system's output each step (plus a constant 1), updates its
hidden layer ``h_t = sigmoid(W_in x_t + W_rec h_{t-1})`` (``h_0 = 0`` at every trial start)
and emits ``o = sigmoid(W_out [1, h_t])``: ``o_0`` is its judgement (>= 0.5 means
"genuine") and the other outputs, if any, drive the system. A passive discriminator is the
same network with one output.

Flat weight layout of one network (what the evolution strategy mutates):
``W_in`` row-major ``[hidden, inputs + 1]`` (the last column multiplies the constant input
1), then ``W_rec`` row-major ``[hidden, hidden]``, then ``W_out`` row-major
``[outputs, hidden + 1]`` (the first column multiplies the constant 1).

For speed, trials are simulated with the trial axis last: :meth:`InterrogatorPopulation.trials`
gathers each trial's network once (``[n_weights, n]``), and :meth:`ElmanTrials.step`
advances every trial of every interrogator with a handful of fused multiply-adds over
contiguous trial vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

Tensor = torch.Tensor


@dataclass(frozen=True)
class ElmanShape:
    """Sizes of an Elman network.

    Args:
        inputs: inputs per step, not counting the constant 1.
        outputs: outputs; output 0 is the judgement.
        hidden: hidden units.
    """

    inputs: int
    outputs: int
    hidden: int = 5

    @property
    def n_weights(self) -> int:
        h = self.hidden
        return h * (self.inputs + 1) + h * h + self.outputs * (h + 1)

    def split(self, weights: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Views ``(W_in, W_rec, W_out)`` of flat weights ``[n_weights, *batch]``."""
        h, i, o = self.hidden, self.inputs + 1, self.outputs
        batch = weights.shape[1:]
        w_in = weights[: h * i].view(h, i, *batch)
        w_rec = weights[h * i : h * i + h * h].view(h, h, *batch)
        w_out = weights[h * i + h * h :].view(o, h + 1, *batch)
        return w_in, w_rec, w_out


class InterrogatorPopulation:
    """All interrogators of a population.

    Args:
        shape: the network shape shared by every member.
        weights: ``[population, n_weights]``.
    """

    def __init__(self, shape: ElmanShape, weights: Tensor):
        if weights.ndim != 2 or weights.shape[1] != shape.n_weights:
            raise ValueError(
                f"weights must be [population, {shape.n_weights}], got {tuple(weights.shape)}"
            )
        self.shape = shape
        self.weights = weights

    def __len__(self) -> int:
        return self.weights.shape[0]

    def trials(self, index: Tensor) -> ElmanTrials:
        """The networks of ``n`` trials; trial ``k`` is run by interrogator ``index[k]``."""
        return ElmanTrials(self.shape, self.weights[index].T.contiguous())


class ElmanTrials:
    """The networks of a batch of trials, trial axis last.

    Args:
        shape: network shape.
        weights: ``[n_weights, n]``.
    """

    def __init__(self, shape: ElmanShape, weights: Tensor):
        self.shape = shape
        self.n = weights.shape[1]
        self.w_in, self.w_rec, self.w_out = shape.split(weights)

    def initial_state(self) -> Tensor:
        """``h_0 = 0``: ``[hidden, n]``."""
        return self.w_in.new_zeros(self.shape.hidden, self.n)

    def step(self, hidden: Tensor, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """One step of every trial.

        Args:
            hidden: ``[hidden, n]``.
            inputs: ``[inputs, n]`` (without the constant 1).

        Returns:
            ``(hidden, outputs)``, outputs ``[outputs, n]`` in (0, 1).
        """
        w_in, w_rec, w_out = self.w_in, self.w_rec, self.w_out
        pre = w_in[:, -1].clone()
        for k in range(self.shape.inputs):
            pre.addcmul_(w_in[:, k], inputs[k])
        for k in range(self.shape.hidden):
            pre.addcmul_(w_rec[:, k], hidden[k])
        hidden = torch.sigmoid_(pre)
        out = w_out[:, 0].clone()
        for k in range(self.shape.hidden):
            out.addcmul_(w_out[:, k + 1], hidden[k])
        return hidden, torch.sigmoid_(out)
