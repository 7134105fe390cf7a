"""Case study 1: the agent's dynamics, its Gymnasium views and the passive schedule."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import turing
from turing import Noise
from turing.agents import held_levels, held_levels_at
from turing.engine import Fixed, stream_key
from turing.envs import AgentInference

GENUINE = torch.tensor([[0.8], [0.2], [0.3], [0.2]])


def simulate(system, params, actions, seed):
    """Observations of the batched simulator (the engine's eager reference) under fixed
    actions ``[T - 1, n]``, with the streams an env reset with ``seed`` uses for its first
    episode (key ``stream_key(seed, "env", 0)``, streams ``0 .. n - 1``)."""
    noise = Noise.for_trials(stream_key(seed, "env", 0), params.shape[-1])
    trials = turing.simulate(
        system,
        params,
        noise,
        steps=actions.shape[0] + 1,
        inputs=Fixed(actions.unsqueeze(1)),
        record=True,
        backend="eager",
    )
    return trials.observations[:, 0]  # [T, n]


def test_gym_env_matches_batched_simulator_step_for_step():
    system = AgentInference()
    rng = np.random.default_rng(3)
    actions = torch.as_tensor(rng.uniform(0, 1, size=(99, 1)), dtype=torch.float32)
    expected = simulate(system, GENUINE, actions, seed=11)[:, 0]

    env = gym.make("turing/AgentInference-v0")
    obs, _ = env.reset(seed=11)
    got = [obs[0]]
    for t, action in enumerate(actions):
        obs, reward, terminated, truncated, _ = env.step(action.numpy())
        got.append(obs[0])
        assert reward == 0.0
        assert not terminated
        assert truncated == (t == 98)
    np.testing.assert_array_equal(np.array(got, dtype=np.float32), expected.numpy())


def test_gym_env_params_kwarg_and_reseeding():
    env = gym.make("turing/AgentInference-v0", params={"a": 0.5, "b": 0.9})
    assert env.unwrapped.params[:, 0].tolist() == pytest.approx([0.5, 0.9, 0.3, 0.2])
    first = [env.reset(seed=5)[0]] + [env.step(np.array([0.7], np.float32))[0] for _ in range(5)]
    second = [env.reset(seed=5)[0]] + [env.step(np.array([0.7], np.float32))[0] for _ in range(5)]
    np.testing.assert_array_equal(np.array(first), np.array(second))
    model = gym.make("turing/AgentInference-v0", params=[0.1, 0.2, 0.3, 0.4])
    assert model.unwrapped.params[:, 0].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_gym_env_passes_check_env():
    check_env(gym.make("turing/AgentInference-v0").unwrapped)


def test_make_vec_uses_the_batched_simulator():
    envs = gym.make_vec(
        "turing/AgentInference-v0", num_envs=6, vectorization_mode="vector_entry_point"
    )
    assert envs.num_envs == 6
    actions = torch.full((99, 6), 0.6)
    expected = simulate(AgentInference(), GENUINE.expand(-1, 6).contiguous(), actions, seed=2)
    obs, _ = envs.reset(seed=2)
    got = [obs[:, 0]]
    for t in range(99):
        obs, reward, terminated, truncated, _ = envs.step(np.full((6, 1), 0.6, np.float32))
        got.append(obs[:, 0])
        assert (reward == 0).all() and not terminated.any()
        assert truncated.all() == (t == 98)
    np.testing.assert_array_equal(np.array(got), expected.numpy())
    # Next-step autoreset: the step after the last observation starts new trials.
    obs, *_ = envs.step(np.zeros((6, 1), np.float32))
    assert obs.shape == (6, 1)


def test_make_vec_accepts_one_parameter_row_per_trial():
    rows = np.array([[0.1, 0.2, 0.3, 0.4], [0.9, 0.8, 0.7, 0.6]])
    envs = gym.make_vec("turing/AgentInference-v0", num_envs=2, params=rows)
    np.testing.assert_allclose(envs.unwrapped.params.T.numpy(), rows, rtol=1e-6)


def test_calm_speed_is_a_times_light_and_startle_follows_a_rise_above_delta():
    system = AgentInference(noise_std=0.0)
    # a, b, delta, p with p = 1: a startle lasts exactly one step.
    params = torch.tensor([[0.5], [0.9], [0.3], [1.0]])
    light = [0.2, 0.4, 0.8, 0.8, 0.9, 0.0, 0.5]
    speeds = simulate(system, params, torch.tensor(light).unsqueeze(1), seed=0)[:, 0]
    # L: 0, .2, .4, .8 (rise .4 > .3: startled), .8 (calms, p=1), .9, 0, .5 (rise .5: startled)
    expected = [0.0, 0.1, 0.2, 0.9, 0.4, 0.45, 0.0, 0.9]
    np.testing.assert_allclose(speeds.numpy(), expected, atol=1e-6)


def test_startled_agent_calms_with_probability_p():
    system = AgentInference(noise_std=0.0)
    n = 20_000
    params = torch.tensor([[0.5], [0.9], [0.1], [0.3]]).expand(-1, n).contiguous()
    # One rise to 1 startles every trial; then the light stays put.
    actions = torch.ones(30, n)
    speeds = simulate(system, params, actions, seed=4)
    startled = speeds[1:] > 0.7  # b = 0.9 versus a L = 0.5
    assert startled[0].all()
    durations = startled.sum(0).double()  # geometric with mean 1 / p
    assert durations.mean().item() == pytest.approx(1 / 0.3, rel=0.03)


def test_observation_noise_has_the_specified_spread():
    system = AgentInference()
    n = 50_000
    params = torch.tensor([[0.8], [0.2], [0.3], [0.2]]).expand(-1, n).contiguous()
    obs = simulate(system, params, torch.full((3, n), 0.25), seed=0)[1:]  # calm at L = .25
    assert obs.mean().item() == pytest.approx(0.2, abs=0.002)
    assert obs.std().item() == pytest.approx(0.05, rel=0.02)


def test_passive_schedule_holds_zero_then_changes_every_ten_steps():
    levels = held_levels(4, 100, 10, Noise.for_trials((0, 0), 4).inputs())
    assert levels.shape == (9, 4)
    schedule = torch.stack([held_levels_at(levels, t, 10) for t in range(100)])
    assert (schedule[:10] == 0).all()
    changes = (schedule[1:] != schedule[:-1]).sum(0)
    assert (changes == 9).all()
    for k in range(1, 10):
        assert (schedule[10 * k : 10 * k + 10] == levels[k - 1]).all()


def test_passive_action_is_the_next_steps_light():
    system = AgentInference()
    inputs = system.passive_inputs(3, 100, Noise.for_trials((1, 0), 3).inputs(), "cpu")
    obs = torch.zeros(1, 3)  # the agent's own reading does not drive its passive input
    assert (system.passive_action(8, obs, None, inputs) == 0).all()
    assert torch.equal(system.passive_action(9, obs, None, inputs)[0], inputs[0])
    assert torch.equal(system.passive_action(98, obs, None, inputs)[0], inputs[8])
    # Compiled loops pass the step as a 0-dim tensor: the same levels.
    for t in (8, 9, 50, 98):
        assert torch.equal(
            system.passive_action(torch.tensor(t), obs, None, inputs),
            system.passive_action(t, obs, None, inputs),
        )


def test_registered_when_turing_is_imported():
    assert "agent-inference" in turing.registrations()
    assert "turing/AgentInference-v0" in gym.registry
