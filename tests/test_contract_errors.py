"""A system that breaks its contract is told so in one line wherever it runs: through the
engine, through Gymnasium, and at the end of a run whose models produced NaN."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
import torch

import turing
from turing.engine import stream_key
from turing.engine.evaluator import Evaluator
from turing.envs.agent_inference.system import AgentInference


class FlatStep(AgentInference):
    """Returns observations without their feature axis from step."""

    name = "contract-flat-step"
    env_id = "contract-tests/FlatStep-v0"

    def step(self, state, params, action, noise):
        state, obs = super().step(state, params, action, noise)
        return state, obs[0]


class ListReset(AgentInference):
    """Returns a list from reset."""

    name = "contract-list-reset"
    env_id = "contract-tests/ListReset-v0"

    def reset(self, params, noise):
        state, obs = super().reset(params, noise)
        return [state, obs]


class FragileModels(AgentInference):
    """Models with a > 0.3 produce NaN; the genuine system (a = 0.1) never does."""

    name = "contract-fragile-models"
    env_id = "contract-tests/FragileModels-v0"

    def step(self, state, params, action, noise):
        state, obs = super().step(state, params, action, noise)
        return state, torch.where(params[0] > 0.3, torch.nan, obs)


@pytest.fixture
def registered():
    for system in (FlatStep, ListReset, FragileModels):
        turing.register_system(system)
    yield
    for system in (FlatStep, ListReset, FragileModels):
        turing.unregister_system(system.name)


@pytest.mark.parametrize(
    ("env_id", "call", "message"),
    [
        ("contract-tests/FlatStep-v0", "step", r"contract-flat-step: step returned shape \(1,\)"),
        ("contract-tests/ListReset-v0", "reset", r"contract-list-reset: reset returned list"),
    ],
)
def test_gymnasium_envs_report_contract_errors_in_one_line(registered, env_id, call, message):
    env = gymnasium.make(env_id)
    with pytest.raises(turing.SystemContractError, match=message) as caught:
        env.reset(seed=0)
        env.step(np.zeros(env.action_space.shape, np.float32))
    assert "\n" not in str(caught.value)


def test_a_gymnasium_step_with_the_wrong_number_of_actions_is_a_user_error():
    env = gymnasium.make("turing/AgentInference-v0")
    env.reset(seed=0)
    with pytest.raises(turing.UserError, match=r"step\(\) takes 1 action values"):
        env.step(np.zeros(3, np.float32))


def test_the_genuine_system_producing_nan_names_the_step_and_the_values():
    class NaNAfterThree(AgentInference):
        name = "contract-nan-after-three"

        def reset(self, params, noise):
            state, obs = super().reset(params, noise)
            return (state, 0), obs

        def step(self, state, params, action, noise):
            inner, t = state
            inner, obs = super().step(inner, params, action, noise)
            return (inner, t + 1), obs * (torch.nan if t + 1 >= 3 else 1.0)

    evaluator = Evaluator(
        NaNAfterThree(), "passive", torch.tensor([0.2, 0.2, 0.3, 0.2]), steps=8, backend="eager"
    )
    with pytest.raises(turing.SystemContractError) as caught:
        evaluator.evaluate(torch.rand(4, 2), torch.zeros(2, 41), stream_key(0, "simulation", 0))
    message = str(caught.value)
    assert "genuine system produced a non-finite observation at step 3 of 8" in message
    assert "a=0.2" in message.replace(" ", "") and "\n" not in message


def test_a_run_whose_models_produced_nan_says_so_at_the_end(registered, tmp_path):
    result = turing.learn(
        FragileModels.name,
        mode="passive",
        generations=3,
        models=10,
        interrogators=4,
        steps=20,
        c2st_trials=0,
        init="uniform",
        true_params={"a": 0.1},
        out=tmp_path / "run",
        progress=False,
    )
    failed = result.data["failed_models"]
    counts = [int(c) for c in result.history["failed_models"]]
    assert failed["generations"] == [g for g, c in enumerate(counts) if c > 0]
    assert failed["generations"][0] == 0 and failed["most"] == max(counts) > 0
    assert failed["models"] == 10
    shown = ", ".join(str(g) for g in failed["generations"])
    assert (
        f"of 10 models produced NaN or infinite observations in generations {shown}"
        in result.summary()
    )
