"""The C2ST judge: random inputs, 0.5 for genuine vs genuine, clearly more for a wrong
model, determinism, and the run-folder entry point."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import turing
from turing.reports.c2st import c2st, c2st_run, random_inputs


@pytest.fixture(scope="module")
def agent():
    system = turing.make_system("agent-inference")
    return system, system.make_truth()


def test_random_inputs_are_held_levels_within_bounds(agent):
    system, _ = agent
    inputs = random_inputs(system, 200, 100, torch.Generator().manual_seed(0), "cpu", max_hold=7)
    assert inputs.shape == (99, 1, 200)
    assert inputs.min() >= system.action_low and inputs.max() <= system.action_high
    changes = (inputs[1:] != inputs[:-1])[:, 0]  # [98, 200]
    for trial in range(20):
        where = np.flatnonzero(changes[:, trial].numpy())
        holds = np.diff(np.concatenate([[-1], where]))
        assert holds.max() <= 7
    # levels spread over the whole range
    assert inputs.std() > 0.2


@pytest.mark.parametrize("seed", [0, 1])
def test_genuine_against_genuine_is_indistinguishable(agent, seed):
    system, truth = agent
    judged = c2st(system, truth, truth.reference, trials=300, seed=seed)
    # 300 held-out trials: a standard deviation of 0.029 around 0.5 if nothing is learned
    assert abs(judged.accuracy - 0.5) < 0.1
    assert judged.test_trials == 300


def test_a_wrong_model_is_clearly_distinguished(agent):
    system, truth = agent
    wrong = dict(truth.reference, a=0.5)
    assert c2st(system, truth, wrong, trials=300, seed=0).accuracy > 0.85
    subtle = dict(truth.reference, b=0.4)
    assert c2st(system, truth, subtle, trials=300, seed=0).accuracy > 0.65


def test_same_seed_same_accuracy_and_vector_estimates(agent):
    system, truth = agent
    first = c2st(system, truth, [0.7, 0.2, 0.3, 0.2], trials=100, seed=3)
    second = c2st(system, truth, {"a": 0.7, "b": 0.2, "delta": 0.3, "p": 0.2}, trials=100, seed=3)
    assert first.accuracy == second.accuracy
    assert first.estimate == {"a": 0.7, "b": 0.2, "delta": 0.3, "p": 0.2}


def test_bad_input_is_a_user_error(agent):
    system, truth = agent
    with pytest.raises(turing.UserError, match="at least 10 trials"):
        c2st(system, truth, truth.reference, trials=5)
    with pytest.raises(turing.UserError, match="4 values"):
        c2st(system, truth, [0.5, 0.5], trials=20)
    with pytest.raises(turing.UserError, match="outside its bounds"):
        c2st(system, truth, [1.5, 0.5, 0.5, 0.5], trials=20)


def test_a_run_stores_its_c2st_and_a_finished_run_folder_can_be_judged_again(tmp_path):
    result = turing.learn(
        "agent-inference",
        generations=2,
        seed=4,
        out=tmp_path / "run",
        progress=False,
        models=6,
        interrogators=6,
        steps=30,
        c2st_trials=40,
    )
    stored = json.loads((result.path / "result.json").read_text())
    assert 0.0 <= stored["c2st"] <= 1.0
    assert stored["c2st_details"]["trials"] == 40
    assert "C2ST accuracy" in result.summary()
    again = c2st_run(result.path)
    assert again.accuracy == stored["c2st"]
    other = c2st_run(result.path, estimate="top10_median", trials=20)
    assert other.trials == 20
    with pytest.raises(turing.UserError, match="unknown estimate"):
        c2st_run(result.path, estimate="mean")


def test_c2st_can_be_skipped(tmp_path):
    result = turing.learn(
        "agent-inference",
        generations=1,
        out=tmp_path / "run",
        progress=False,
        models=4,
        interrogators=4,
        steps=20,
        c2st_trials=0,
    )
    assert "c2st" not in result.data
    with pytest.raises(turing.UserError, match="c2st-trials"):
        turing.learn(
            "agent-inference", generations=1, out=tmp_path / "bad", progress=False, c2st_trials=3
        )
