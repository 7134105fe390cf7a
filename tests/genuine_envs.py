"""Gymnasium environments for the genuine-source tests, importable by env worker processes
(``gymnasium.make("genuine_envs:Faulty-v0", ...)`` imports this module in the worker).

``Faulty-v0`` is case study 1's agent (``turing/AgentInference-v0``) that misbehaves at a
given step of the trials whose reset seed is divisible by ``every``: it raises, returns NaN,
hangs, or ends the episode early. ``Counting-v0`` counts resets and steps in this process
(for in-process pools: ``genuine_workers=0``)."""

from __future__ import annotations

import time
from collections import Counter

import gymnasium
import numpy as np

import turing  # noqa: F401  (registers turing/AgentInference-v0)

CALLS: Counter[str] = Counter()


class Faulty(gymnasium.Wrapper):
    def __init__(self, fault: str = "none", at: int = 3, every: int = 1, **kwargs):
        super().__init__(gymnasium.make("turing/AgentInference-v0", **kwargs).unwrapped)
        self.fault, self.at, self.every = fault, int(at), int(every)
        self.t, self.bad = 0, False

    def reset(self, *, seed=None, options=None):
        self.t = 0
        self.bad = seed is not None and seed % self.every == 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        self.t += 1
        observation, reward, terminated, truncated, info = self.env.step(action)
        if self.bad and self.t == self.at:
            if self.fault == "raise":
                raise RuntimeError("the robot's motor driver stopped answering")
            if self.fault == "nan":
                observation = np.full_like(observation, np.nan)
            if self.fault == "hang":
                time.sleep(600)
            if self.fault == "end":
                terminated = True
        return observation, reward, terminated, truncated, info


class Counting(gymnasium.Wrapper):
    def __init__(self, **kwargs):
        super().__init__(gymnasium.make("turing/AgentInference-v0", **kwargs).unwrapped)

    def reset(self, *, seed=None, options=None):
        CALLS["reset"] += 1
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        CALLS["step"] += 1
        return self.env.step(action)


if "Faulty-v0" not in gymnasium.registry:
    gymnasium.register("Faulty-v0", entry_point=Faulty)
    gymnasium.register("Counting-v0", entry_point=Counting)
