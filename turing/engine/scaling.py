"""What an interrogator reads: each input scaled to [0, 1] by the system's declared bounds.

An interrogator's inputs are the system's observation and, for a ``passive-io``
discriminator, the input that produced it. Each dimension with finite bounds is read as
``(x - low) / (high - low)``; a dimension with an infinite bound is read as it is. A system
observed in natural units (a room near 20 degrees) would otherwise saturate the sigmoid
hidden layer, and its interrogators would judge at chance.

The scaling is folded into the networks' input weights rather than applied to the inputs:
``W (x * scale + offset) = (W * scale) x + W offset``, so every backend (native kernels,
compiled and eager torch, CUDA graphs) runs the same arithmetic on the same weights and no
backend has a scaling step of its own. The evolved genes stay what the evolution strategy
mutates; the networks that simulate trials use the folded weights. For bounds [0, 1] (and
for unbounded dimensions) the fold is exactly the identity.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from turing.engine.trials import Judge

Tensor = torch.Tensor


def input_affine(system, sees_input: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, offset)`` per network input (observation dimensions, then input dimensions
    if ``sees_input``): the network reads ``x * scale + offset`` (the identity for a system
    that sets ``scale_inputs = False``)."""
    if not getattr(system, "scale_inputs", True):
        size = system.observation_size + (system.action_size if sees_input else 0)
        return np.ones(size), np.zeros(size)
    lows, highs = [system.observation_bounds()[0]], [system.observation_bounds()[1]]
    if sees_input:
        low, high = system.action_bounds()
        lows.append(low)
        highs.append(high)
    low, high = np.concatenate(lows), np.concatenate(highs)
    bounded = np.isfinite(low) & np.isfinite(high)
    span = np.where(bounded, high - low, 1.0)
    scale = np.where(bounded, 1.0 / span, 1.0)
    offset = np.where(bounded, -low / span, 0.0)
    return scale, offset


def is_identity(system, sees_input: bool) -> bool:
    scale, offset = input_affine(system, sees_input)
    return bool(np.all(scale == 1.0) and np.all(offset == 0.0))


def fold(weights: Tensor, shape, scale: np.ndarray, offset: np.ndarray) -> Tensor:
    """Flat network weights ``[P, n_weights]`` whose input layer reads ``x`` as the given
    weights read ``x * scale + offset`` (layout: :mod:`turing.agents.interrogators`)."""
    if scale.shape != (shape.inputs,):
        raise ValueError(f"{scale.size} input scales for a network of {shape.inputs} inputs")
    h, columns = shape.hidden, shape.inputs + 1
    folded = weights.to(torch.float64).clone()
    w_in = folded[:, : h * columns].view(-1, h, columns)
    scale_t = torch.as_tensor(scale, dtype=torch.float64, device=weights.device)
    offset_t = torch.as_tensor(offset, dtype=torch.float64, device=weights.device)
    bias = w_in[:, :, -1] + (w_in[:, :, :-1] * offset_t).sum(-1)
    w_in[:, :, :-1] *= scale_t
    w_in[:, :, -1] = bias
    return folded.to(weights.dtype)


def scaled_judge(system, judge: Judge) -> Judge:
    """``judge`` with its networks reading inputs scaled by ``system``'s bounds (the same
    judge when it already does, or when the scaling is the identity)."""
    if judge.scaled:
        return judge
    scale, offset = input_affine(system, judge.sees_input)
    if np.all(scale == 1.0) and np.all(offset == 0.0):
        return replace(judge, scaled=True)
    return replace(judge, weights=fold(judge.weights, judge.shape, scale, offset), scaled=True)
