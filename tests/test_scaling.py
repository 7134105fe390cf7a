"""Interrogators read observations (and, in passive-io, inputs) scaled to [0, 1] by the
system's declared bounds, in every backend: the scaling is folded into their input weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import turing
from turing import Parameter, System
from turing.agents import ElmanShape, InterrogatorPopulation
from turing.engine import PASSIVE, Engine, Judge, Noise, stream_key
from turing.engine.scaling import fold, input_affine, is_identity, scaled_judge


class Room(System):
    """A room near 20 degrees: observed in natural units, bounds [0, 35] declared."""

    name = "test-room"
    env_id = "turing/TestRoom-v0"
    parameters = (Parameter("power", 0.0, 2.0, 0.8), Parameter("leak", 0.0, 0.5, 0.1))
    observation_size = 2
    observation_low = (0.0, -1.0)
    observation_high = (35.0, 1.0)
    action_size = 1
    action_low = 0.0
    action_high = 4.0
    default_steps = 15

    def reset(self, params, noise):
        temperature = 15.0 + 10.0 * noise.uniform(1)
        return temperature, torch.cat([temperature, noise.normal(1) * 0.1])

    def step(self, state, params, action, noise):
        power, leak = params
        temperature = state + power * action - leak * (state - 10.0)
        return temperature, torch.cat([temperature, noise.normal(1) * 0.1])

    def passive_action(self, t, observation, params, inputs):
        return 4.0 * (observation[:1] < 20.0).to(observation.dtype)


class ScaledRoom(Room):
    """The same room observing (and acting) in units already scaled to [0, 1]."""

    name = "test-room-scaled"
    observation_low = 0.0
    observation_high = 1.0
    action_high = 1.0

    def reset(self, params, noise):
        state, observation = super().reset(params, noise)
        return state, self._scaled(observation)

    def step(self, state, params, action, noise):
        state, observation = super().step(state, params, 4.0 * action, noise)
        return state, self._scaled(observation)

    def passive_action(self, t, observation, params, inputs):
        return (observation[:1] < 20.0 / 35.0).to(observation.dtype)

    @staticmethod
    def _scaled(observation):
        return torch.cat([observation[:1] / 35.0, (observation[1:] + 1.0) / 2.0])


def test_the_fold_reads_inputs_as_scaled_inputs_are_read():
    shape = ElmanShape(3, 2, 5)
    generator = torch.Generator().manual_seed(0)
    weights = torch.randn(4, shape.n_weights, generator=generator, dtype=torch.float64)
    scale, offset = np.array([1 / 35, 0.5, 2.0]), np.array([0.0, 0.5, -1.0])
    raw = 30 * torch.rand(6, 3, 8, generator=generator, dtype=torch.float64)
    index = torch.arange(8) % 4
    plain = InterrogatorPopulation(shape, weights).trials(index)
    folded = InterrogatorPopulation(shape, fold(weights, shape, scale, offset)).trials(index)
    h1, h2 = plain.initial_state(), folded.initial_state()
    for x in raw:
        scaled = x * torch.tensor(scale)[:, None] + torch.tensor(offset)[:, None]
        h1, o1 = plain.forward(h1, scaled)
        h2, o2 = folded.forward(h2, x)
        assert torch.allclose(o1, o2, atol=1e-12) and torch.allclose(h1, h2, atol=1e-12)


def test_unit_and_unbounded_dimensions_are_read_exactly_as_they_are():
    agent, epuck = turing.make_system("agent-inference"), turing.make_system("sensor-self-id")
    assert is_identity(agent, sees_input=False) and is_identity(agent, sees_input=True)
    assert is_identity(epuck, sees_input=False) and not is_identity(epuck, sees_input=True)
    judge = Judge(
        ElmanShape(8, 3, 5),
        torch.randn(2, ElmanShape(8, 3, 5).n_weights),
        torch.zeros(4, dtype=torch.long),
    )
    assert scaled_judge(epuck, judge).weights is judge.weights


def test_a_system_may_keep_its_observations_as_they_are():
    # The range sensor's and the swarm's signals are of order 1 within much wider bounds.
    for name in ("range-sensor-id", "swarm-aggregation"):
        system = turing.make_system(name)
        assert not system.scale_inputs and is_identity(system, sees_input=True)
    assert not is_identity(Room(), sees_input=False)


def test_per_dimension_bounds_give_per_dimension_scales():
    scale, offset = input_affine(Room(), sees_input=True)
    assert np.allclose(scale, [1 / 35, 0.5, 0.25]) and np.allclose(offset, [0.0, 0.5, 0.0])
    low, high = Room().action_bounds()
    assert low.shape == high.shape == (1,)


@pytest.mark.parametrize(
    "mode, shape, inputs",
    [
        ("interrogate", ElmanShape(2, 2, 5), "judge"),
        ("passive-io", ElmanShape(3, 1, 5), PASSIVE),
    ],
)
def test_a_system_in_natural_units_is_judged_as_the_same_system_in_unit_ones(mode, shape, inputs):
    n = 40
    params = torch.tensor([[0.8], [0.1]]).expand(-1, n)
    noise = Noise.for_trials(stream_key(1, "simulation", 0), n)
    noise.input_stream = noise.stream // 2
    weights = 3 * torch.randn(5, shape.n_weights, generator=torch.Generator().manual_seed(4))
    judge = Judge(shape, weights, torch.arange(n) % 5, sees_input=mode == "passive-io")
    natural = Engine(Room(), 15, backend="eager").run(params, noise, judge, inputs, record=True)
    unit = Engine(ScaledRoom(), 15, backend="eager").run(params, noise, judge, inputs, record=True)
    assert torch.allclose(natural.outputs, unit.outputs, atol=1e-5)
    if inputs == "judge":  # and the chosen inputs are the same, in each system's units
        assert torch.allclose(natural.actions, 4.0 * unit.actions, atol=1e-4)


def test_an_unbounded_observation_far_from_unit_range_is_reported_before_the_run(tmp_path):
    class Unbounded(Room):
        name = "test-room-unbounded"
        observation_low = -math.inf
        observation_high = math.inf

    turing.register_system(Unbounded)
    try:
        with pytest.warns(
            RuntimeWarning, match="test-room-unbounded: observation 0 reaches .* no bounds"
        ):
            turing.learn("test-room-unbounded", generations=1, models=4, interrogators=4,
                         c2st_trials=0, progress=False, out=tmp_path / "run")  # fmt: skip
    finally:
        turing.unregister_system("test-room-unbounded")
