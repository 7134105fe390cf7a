"""``turing/TuringTest-v0``: an interrogator's task as a Gymnasium env, single and batched,
checked by Gymnasium's and Stable-Baselines3's checkers, and trained by PPO (smoke test)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import turing
from turing import Parameter, System, UserError
from turing.integrations.turing_test_env import TuringTestEnv, TuringTestVectorEnv

ROOT = Path(__file__).resolve().parents[1]
MODELS = [{"a": 0.5}, {"b": 0.6, "delta": 0.1}]


def make(**kwargs) -> TuringTestEnv:
    kwargs.setdefault("system", "agent-inference")
    kwargs.setdefault("steps", 6)
    return gymnasium.make("turing/TuringTest-v0", **kwargs).unwrapped


def play(env, judgement: float, options=None, seed=0):
    """One episode with a constant input and ``judgement``; returns the steps' results."""
    obs, info = env.reset(seed=seed, options=options)
    action = np.append(env.action_space.low[:-1] * 0 + 0.5, judgement).astype(np.float32)
    results = []
    while True:
        result = env.step(action)
        results.append(result)
        if result[2] or result[3]:
            return obs, info, results


@pytest.mark.parametrize("system", ["agent-inference", "range-sensor-id"])
@pytest.mark.parametrize("models", [MODELS, None], ids=["fixed-models", "random-models"])
def test_passes_gymnasium_check_env(system, models):
    if system == "range-sensor-id" and models is not None:
        models = [{"k": 1.0}, [2.0, 2.5]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # infinite observation bounds are the system's
        check_env(make(system=system, models=models), skip_render_check=True)


@pytest.mark.parametrize("system", ["agent-inference", "range-sensor-id"])
def test_passes_stable_baselines3_check_env(system):
    sb3 = pytest.importorskip(
        "stable_baselines3.common.env_checker", reason="the `rl` extra is not installed"
    )
    sb3.check_env(make(system=system), warn=False)


def test_spaces_are_the_systems_plus_a_judgement():
    env = make(system="range-sensor-id")
    assert env.observation_space.shape == (1,)
    assert env.action_space.low.tolist() == [-1.0, -1.0, 0.0]
    assert env.action_space.high.tolist() == [1.0, 1.0, 1.0]
    assert env.action_names == ("left_wheel", "right_wheel", "judgement")


def test_an_episode_is_one_trial_judged_at_its_last_step():
    env = make(models=MODELS, steps=6)
    obs, info, results = play(env, judgement=1.0)
    assert info == {"t": 0} and obs.shape == (1,)
    assert len(results) == 6  # 5 steps that drive the system, then the final judgement
    for _, reward, terminated, truncated, info in results[:-1]:
        assert reward == 0.0 and not terminated and not truncated
        assert set(info) == {"t"}, "the truth is hidden until the end"
    _, reward, terminated, truncated, info = results[-1]
    assert terminated and not truncated
    assert set(info) >= {"genuine", "model", "params", "judged_genuine", "correct", "failed"}
    assert reward == float(info["correct"]) == float(info["judged_genuine"] == info["genuine"])
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step(env.action_space.sample())


def test_reward_is_one_exactly_when_the_final_judgement_is_right():
    env = make(models=MODELS)
    assert play(env, 0.9, {"genuine": True})[2][-1][1] == 1.0
    assert play(env, 0.1, {"genuine": True})[2][-1][1] == 0.0
    assert play(env, 0.1, {"model": 1})[2][-1][1] == 1.0
    assert play(env, 0.5, {"model": 0})[2][-1][1] == 0.0  # >= 0.5 means "genuine"
    info = play(env, 0.1, {"model": 1})[2][-1][4]
    assert info["model"] == 1 and not info["genuine"]
    assert info["params"] == {"a": 0.8, "b": 0.6, "delta": 0.1, "p": 0.2}  # unnamed: genuine values


def test_genuine_and_models_are_drawn_at_random_and_seeding_replays_them():
    env = make(models=MODELS, steps=2)
    seen = [play(env, 1.0, seed=s)[2][-1][4] for s in range(400)]
    genuine = np.mean([i["genuine"] for i in seen])
    assert 0.42 < genuine < 0.58
    models = [i["model"] for i in seen if not i["genuine"]]
    assert 0.38 < np.mean(models) < 0.62 and set(models) == {0, 1}
    first, again = play(env, 1.0, seed=7), play(env, 1.0, seed=7)
    assert first[0] == again[0] and first[2][-1][4] == again[2][-1][4]
    random_models = make(steps=2, genuine_probability=0.0)
    drawn = [play(random_models, 1.0, seed=s)[2][-1][4]["params"]["a"] for s in range(20)]
    assert len(set(drawn)) == 20 and all(0.0 <= a <= 1.0 for a in drawn)


def test_genuine_trials_follow_the_genuine_system():
    """With noise off, a genuine trial's speeds under a constant light of 0.5 are the
    genuine agent's: startled (b = 0.2) after the rise of 0.5 > delta, then calm at a L = 0.4."""
    env = make(models=MODELS, steps=30, true_params={"p": 1.0}, noise_std=0.0)
    _, _, results = play(env, 1.0, {"genuine": True})
    speeds = [r[0][0] for r in results[:-1]]
    assert speeds[0] == pytest.approx(0.2) and speeds[1:] == pytest.approx([0.4] * 28)
    _, _, results = play(env, 1.0, {"model": 0})
    assert [r[0][0] for r in results[1:-1]] == pytest.approx([0.25] * 28)  # a = 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"models": [{"a": 1.5}]}, "outside its bounds"),
        ({"models": [{"zeta": 0.1}]}, "no parameter 'zeta'"),
        ({"models": [[0.1, 0.2]]}, r"models must be \[M, 4\]"),
        ({"models": []}, "models is empty"),
        ({"genuine_probability": 1.5}, "genuine_probability"),
        ({"system": "no-such-system"}, "unknown system"),
        ({"system": None}, "needs a system"),
        ({"true_params": {"a": -1}}, "outside its bounds"),
    ],
)
def test_bad_arguments_are_user_errors(kwargs, message):
    with pytest.raises(UserError, match=message):
        make(**kwargs)


def test_bad_actions_and_options_are_user_errors():
    env = make(models=MODELS)
    env.reset(seed=0)
    with pytest.raises(UserError, match="2 values"):
        env.step(np.zeros(3, np.float32))
    with pytest.raises(UserError, match="no model 5"):
        env.reset(options={"model": 5})
    with pytest.raises(UserError, match="unknown reset options"):
        env.reset(options={"cheat": True})


# ----------------------------------------------------------------------------- batched
def test_vector_env_runs_all_trials_in_one_batch():
    envs = gymnasium.make_vec(
        "turing/TuringTest-v0",
        num_envs=512,
        vectorization_mode="vector_entry_point",
        system="agent-inference",
        models=MODELS,
        steps=5,
    )
    assert isinstance(envs.unwrapped, TuringTestVectorEnv)
    obs, _ = envs.reset(seed=3)
    assert obs.shape == (512, 1) and envs.action_space.shape == (512, 2)
    actions = np.tile(np.array([0.5, 1.0], np.float32), (512, 1))
    for _ in range(4):
        obs, rewards, terminated, truncated, info = envs.step(actions)
        assert not terminated.any() and not rewards.any() and not info
    obs, rewards, terminated, truncated, info = envs.step(actions)
    assert terminated.all() and not truncated.any()
    assert np.array_equal(rewards, info["genuine"].astype(float))  # everything judged genuine
    assert 0.43 < info["genuine"].mean() < 0.57
    assert (
        set(info["model"][~info["genuine"]]) == {0, 1}
        and (info["model"][info["genuine"]] == -1).all()
    )
    assert info["params"].shape == (512, 4)
    obs, rewards, terminated, _, _ = envs.step(actions)  # next-step autoreset
    assert obs.shape == (512, 1) and not terminated.any() and not rewards.any()


def test_vector_env_options_force_the_trials():
    envs = TuringTestVectorEnv(64, system="agent-inference", models=MODELS, steps=2)
    envs.reset(seed=0, options={"model": 1})
    envs.step(np.zeros((64, 2), np.float32))
    *_, info = envs.step(np.zeros((64, 2), np.float32))
    assert (info["model"] == 1).all() and info["correct"].all()


# ----------------------------------------------------------------------------- failures
class Fragile(System):
    """Echoes its input times gain; breaks down (NaN) above gain 1."""

    name = "test-fragile"
    env_id = "turing-tests/Fragile-v0"
    parameters = (Parameter("gain", 0.0, 2.0, 0.5),)
    observation_size = 1
    action_size = 1
    default_steps = 4

    def reset(self, params, noise):
        return 0, params.new_zeros(1, params.shape[-1])

    def step(self, state, params, action, noise):
        return state + 1, torch.where(params[0] > 1.0, torch.nan, params[0] * action)

    def passive_action(self, t, observation, params, inputs):
        return observation


@pytest.fixture
def fragile():
    turing.register_system(Fragile)
    yield
    turing.unregister_system("test-fragile")


def test_a_model_producing_nan_is_judged_counterfeit(fragile):
    env = make(system="test-fragile", models=[{"gain": 1.5}], steps=4)
    _, _, results = play(env, 1.0, {"model": 0})
    assert all(np.isfinite(r[0]).all() for r in results), "the policy never sees NaN"
    _, reward, _, _, info = results[-1]
    assert info["failed"] and not info["judged_genuine"] and reward == 1.0


def test_the_genuine_system_producing_nan_is_an_error(fragile):
    env = make(system="test-fragile", true_params={"gain": 1.5}, steps=4)
    with pytest.raises(
        turing.SystemContractError, match="test-fragile: the genuine system produced a non-finite"
    ):
        play(env, 1.0, {"genuine": True})


# ----------------------------------------------------------------------------- PPO
def test_ppo_interrogator_smoke(tmp_path):
    pytest.importorskip(
        "stable_baselines3", reason="the `rl` extra is not installed (pip install -e '.[rl]')"
    )
    out = tmp_path / "ppo"
    command = [
        sys.executable,
        str(ROOT / "experiments" / "ppo_interrogator.py"),
        "--total-steps",
        "800",
        "--envs",
        "8",
        "--rollout",
        "50",
        "--steps",
        "10",
        "--history",
        "10",
        "--models",
        "2",
        "--eval-trials",
        "40",
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((out / "result.json").read_text())
    for key in ("ppo", "random_judgement"):
        assert 0.0 <= result[key]["accuracy"] <= 1.0 and result[key]["trials"] == 40
        assert len(result[key]["accuracy_per_model"]) == 2
    assert result["training_steps"] >= 800
    assert {"timesteps", "training_accuracy"} <= set(
        (out / "learning_curve.csv").read_text().splitlines()[0].split(",")
    )
    assert "mlp_extractor.policy_net.0.weight" in np.load(out / "policy.npz")
    assert "PPO interrogator accuracy" in done.stdout
