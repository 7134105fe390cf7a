"""GPU runs (skipped without CUDA): the same experiment on the device, statistically alike."""

from __future__ import annotations

import pytest
import torch

import turing

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_a_run_on_cuda_is_reproducible_and_learns(tmp_path):
    settings = dict(generations=40, seed=2, device="cuda", progress=False)
    first = turing.learn("agent-inference", out=tmp_path / "a", **settings)
    second = turing.learn("agent-inference", out=tmp_path / "b", **settings)
    assert first.estimates == second.estimates
    assert first.abs_error["top10_median"]["a"] < 0.1
    assert first.data["device"].startswith("cuda")


def test_cuda_and_cpu_judge_a_deterministic_agent_identically():
    from turing.envs import AgentInference
    from turing.evaluator import Evaluator

    system = AgentInference(noise_std=0.0)
    genuine = torch.tensor([0.8, 0.2, 0.3, 1.0])
    models = torch.rand(4, 30, generator=torch.Generator().manual_seed(0))
    models[3] = (models[3] > 0.5).float()  # p in {0, 1}: no randomness left
    weights = torch.randn(20, 47, generator=torch.Generator().manual_seed(1))
    cpu = Evaluator(system, "interrogate", genuine, 50).evaluate(models, weights, torch.Generator())
    gpu = Evaluator(system, "interrogate", genuine, 50, device="cuda").evaluate(
        models, weights, torch.Generator(device="cuda")
    )
    agreement = (cpu.model == gpu.model.cpu()).double().mean().item()
    assert agreement > 0.99  # float rounding may flip a judgement sitting at 0.5
