"""A genuine source seen by the trial engine as a system.

Sources that are not the simulator (an environment pool, recorded trials) run their trials
on the engine's reference loop (:mod:`turing.engine.loop`): they present themselves as a
system whose ``reset`` and ``step`` fetch observations from outside, while everything else
(sizes, bounds, the passive input, the input seen by ``passive-io``) is the model system's.
So a genuine trial from anywhere has exactly the semantics of a simulated one: the judge
reads observation ``t``, the input source chooses the input that produces ``t + 1``, the
same checks apply, and recording, replays and policies work unchanged.
"""

from __future__ import annotations

from typing import Any

import torch

from turing.contracts.system import System

Tensor = torch.Tensor

DELEGATED = (
    "name",
    "parameters",
    "observation_size",
    "observation_low",
    "observation_high",
    "action_size",
    "action_low",
    "action_high",
    "observation_names",
    "action_names",
    "default_steps",
    "observation_bounds",
    "action_bounds",
    "initial_action",
    "passive_inputs",
    "passive_action",
)


class SourceSystem:
    """Base of the systems that stand for a genuine source on the engine's loop.

    Args:
        system: the run's model system (sizes, bounds and passive input are its).
        chunk_size: trials the engine hands over at once.
    """

    def __init__(self, system: System, chunk_size: int):
        self.system = system
        self.default_chunk_size = int(chunk_size)

    def __getattr__(self, name: str) -> Any:
        if name in DELEGATED:
            return getattr(self.system, name)
        raise AttributeError(name)

    def native_kernel(self, steps: int) -> None:
        return None

    def sample_starts(self, n: int, noise, device) -> None:
        return None

    def reset(self, params: Tensor, noise, start: Any = None) -> tuple[Any, Tensor]:
        raise NotImplementedError

    def step(self, state: Any, params: Tensor, action: Tensor, noise) -> tuple[Any, Tensor]:
        raise NotImplementedError
