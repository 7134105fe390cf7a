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
        return ElmanTrials(self.shape, torch.index_select(self.weights.T, 1, index))


class ElmanTrials:
    """The networks of a batch of trials, trial axis last.

    Args:
        shape: network shape.
        weights: ``[n_weights, n]``.
    """

    def __init__(self, shape: ElmanShape, weights: Tensor):
        self.shape = shape
        self.n = weights.shape[1]
        w_in, w_rec, w_out = shape.split(weights)
        # One contiguous [rows, n] block per input column: the step is then a chain of
        # fused multiply-adds over contiguous memory.
        self.in_bias = w_in[:, -1].contiguous()
        self.in_cols = [w_in[:, k].contiguous() for k in range(shape.inputs)]
        self.rec_cols = [w_rec[:, k].contiguous() for k in range(shape.hidden)]
        self.out_bias = w_out[:, 0].contiguous()
        self.out_cols = [w_out[:, k + 1].contiguous() for k in range(shape.hidden)]

    def initial_state(self) -> Tensor:
        """``h_0 = 0``: ``[hidden, n]``."""
        # Two hidden buffers used in turn, and one output buffer: a step allocates nothing
        # (fresh multi-hundred-kB tensors each step cost more in page faults than the
        # arithmetic).
        self._hidden = [self.in_bias.new_zeros(self.shape.hidden, self.n) for _ in range(2)]
        self._out = self.out_bias.new_empty(self.shape.outputs, self.n)
        return self.in_bias.new_zeros(self.shape.hidden, self.n)

    def forward(self, hidden: Tensor, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`step` without shared buffers (new tensors each call): the form that
        ``torch.compile`` fuses into one kernel with the system's step."""
        pre = self.in_bias
        for column, x in zip(self.in_cols, inputs, strict=True):
            pre = pre + column * x
        for column, h in zip(self.rec_cols, hidden, strict=True):
            pre = pre + column * h
        hidden = torch.sigmoid(pre)
        out = self.out_bias
        for column, h in zip(self.out_cols, hidden, strict=True):
            out = out + column * h
        return hidden, torch.sigmoid(out)

    def step(self, hidden: Tensor, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """One step of every trial.

        Args:
            hidden: ``[hidden, n]``, from :meth:`initial_state` or the previous step.
            inputs: ``[inputs, n]`` (without the constant 1).

        Returns:
            ``(hidden, outputs)``, outputs ``[outputs, n]`` in (0, 1). Both live in
            buffers reused by later steps: copy them to keep them.
        """
        pre = self._hidden[0] if hidden is not self._hidden[0] else self._hidden[1]
        pre.copy_(self.in_bias)
        for column, x in zip(self.in_cols, inputs, strict=True):
            pre.addcmul_(column, x)
        for column, h in zip(self.rec_cols, hidden, strict=True):
            pre.addcmul_(column, h)
        hidden = torch.sigmoid_(pre)
        out = self._out.copy_(self.out_bias)
        for column, h in zip(self.out_cols, hidden, strict=True):
            out.addcmul_(column, h)
        return hidden, torch.sigmoid_(out)
