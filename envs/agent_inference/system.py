"""Case study 1: a light-responsive agent whose behaviour a computer infers while it
controls the light (``agent-inference``, ``turing/AgentInference-v0``).

The exact definition is ``docs/specs/case-study-1-agent.md``. Each trial runs
``t = 0 .. T-1``; the light starts at ``L_0 = 0`` and the agent calm (``z_0 = 0``). At
every step ``t >= 1`` the agent startles when calm and the light rose by more than
``delta``; a startled agent calms down with probability ``p`` per step. Its speed is
``a L_t`` when calm and ``b`` when startled, observed with N(0, 0.05^2) noise.

Order of events (the spec's): the agent is at ``L_t`` and emits ``s_t``; the interrogator
reads ``s_t`` and emits ``L_{t+1}``; :meth:`AgentInference.step` applies it. Random draws:
one Philox block per step (:class:`turing.Noise`, ``uniform(3)``): word 0 decides whether a
startled agent calms down, words 1 and 2 give the observation noise (Box-Muller); reset
draws a block too and uses words 1 and 2. The engine's native kernel is generated from
these methods (:mod:`turing.engine.fused`).
"""

from __future__ import annotations

import torch

from turing.agents import held_levels, held_levels_at
from turing.contracts.presentation import Presentation
from turing.contracts.system import Parameter, System
from turing.engine.random import Noise, box_muller
from turing.integrations.registry import register_system

Tensor = torch.Tensor


class AgentInference(System, Presentation):
    """The agent of case study 1.

    Args:
        noise_std: standard deviation of the speed observation noise.
        hold: steps between light changes of the passive (natural) schedule.
    """

    name = "agent-inference"
    env_id = "turing/AgentInference-v0"
    description = (
        "Case study 1: infer a light-responsive agent's behaviour by controlling the light"
    )
    parameters = (
        Parameter("a", 0.0, 1.0, 0.8, description="speed per unit light when calm (v = a L)"),
        Parameter("b", 0.0, 1.0, 0.2, description="speed when startled"),
        Parameter("delta", 0.0, 1.0, 0.3, description="light rise that startles a calm agent"),
        Parameter("p", 0.0, 1.0, 0.2, description="probability per step of calming down"),
    )
    observation_size = 1
    observation_names = ("speed",)
    action_size = 1
    action_low = 0.0
    action_high = 1.0
    action_names = ("light",)
    default_steps = 100
    default_generations = 300

    def __init__(self, noise_std: float = 0.05, hold: int = 10):
        if noise_std < 0 or hold < 1:
            raise ValueError("noise_std must be >= 0 and hold >= 1")
        self.noise_std = float(noise_std)
        self.hold = int(hold)

    def options(self) -> dict:
        return {"noise_std": self.noise_std, "hold": self.hold}

    def _observe(self, speed: Tensor, u: Tensor) -> Tensor:
        z, _ = box_muller(u[1], u[2])
        return (speed + self.noise_std * z).unsqueeze(0)

    def reset(self, params: Tensor, noise: Noise) -> tuple[tuple[Tensor, Tensor], Tensor]:
        n = params.shape[-1]
        light = params.new_zeros(n)
        startled = torch.zeros(n, dtype=torch.bool, device=params.device)
        # The calm agent at L_0 = 0 moves at a * 0 = 0: the first reading is pure noise.
        return (light, startled), self._observe(params.new_zeros(n), noise.uniform(3))

    def step(self, state, params: Tensor, action: Tensor, noise: Noise):
        previous_light, startled = state
        a, b, delta, p = params
        light = action[0].clamp(0.0, 1.0)
        u = noise.uniform(3).to(light.dtype)
        calms = u[0] < p
        startles = (light - previous_light) > delta
        startled = torch.where(startled, ~calms, startles)
        speed = torch.where(startled, b, a * light)
        return (light, startled), self._observe(speed, u)

    def passive_inputs(self, n, steps, noise, device):
        return held_levels(n, steps, self.hold, noise)

    def passive_action(self, t, observation, params, inputs):
        # The action at step t is the light of step t + 1.
        return held_levels_at(inputs, t + 1, self.hold).unsqueeze(0).to(observation.dtype)

    def replay_scene(self, options):
        """The agents on their tracks under their lamps (:mod:`turing.envs.agent_inference.replay`)."""
        from turing.envs.agent_inference.replay import AgentReplayScene

        return AgentReplayScene(self, options)


register_system(AgentInference)
