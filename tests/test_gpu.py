"""GPU runs (skipped without CUDA): the engine on CUDA computes what it computes on the CPU.

Trials draw their random numbers from counter-based streams, so a CUDA run and a CPU run of
the same trials see the same numbers: their results differ by float rounding only.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest
import torch

import turing
from turing.agents import ElmanShape
from turing.engine import PASSIVE, Engine, Judge, Noise, stream_key
from turing.engine.evaluator import Evaluator, Request
from turing.envs import AgentInference
from turing.envs.epuck import sim
from turing.envs.epuck.system import SensorSelfId

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _judge(shape, n, device, seed=1):
    generator = torch.Generator().manual_seed(seed)
    weights = torch.randn(7, shape.n_weights, generator=generator) * 2
    index = torch.randint(0, 7, (n,), generator=generator)
    return Judge(shape, weights.to(device), index.to(device))


def _epuck_params(n):
    generator = torch.Generator().manual_seed(0)
    theta = (torch.rand(8, n, generator=generator) * 2 - 1) * math.pi
    radius = torch.rand(8, n, generator=generator) * 3.6 + 0.05
    return sim.layout_from_polar(theta, radius)


def test_a_run_on_cuda_is_reproducible_and_learns(tmp_path):
    settings = dict(generations=40, seed=2, device="cuda", progress=False, c2st_trials=0)
    first = turing.learn("agent-inference", out=tmp_path / "a", **settings)
    second = turing.learn("agent-inference", out=tmp_path / "b", **settings)
    assert first.estimates == second.estimates
    assert first.abs_error["top10_median"]["a"] < 0.1
    assert first.data["device"].startswith("cuda")
    assert first.data["backend"] == "compiled"


@pytest.mark.parametrize("mode", ["interrogate", "passive"])
def test_cuda_graphs_judge_the_agent_as_the_cpu_reference_does(mode):
    system, n = AgentInference(), 4000
    params = torch.rand(4, n, generator=torch.Generator().manual_seed(0))
    shape = ElmanShape(1, 2 if mode == "interrogate" else 1, 5)
    inputs = "judge" if mode == "interrogate" else PASSIVE
    noise = Noise.for_trials(stream_key(1, "simulation", 0), n)
    noise.input_stream = noise.stream // 2
    cpu = Engine(system, 100, backend="eager").run(params, noise, _judge(shape, n, "cpu"), inputs)
    gpu_noise = Noise(noise.key.cuda(), noise.stream.cuda(), input_stream=noise.input_stream.cuda())
    engine = Engine(system, 100, device="cuda", backend="compiled")
    first = engine.run(params.cuda(), gpu_noise, _judge(shape, n, "cuda"), inputs)
    again = engine.run(params.cuda(), gpu_noise, _judge(shape, n, "cuda"), inputs)  # replayed
    assert torch.equal(first.judgement, again.judgement)
    assert torch.allclose(first.judgement.cpu(), cpu.judgement, atol=1e-4)
    agreement = (first.judged_genuine.cpu() == cpu.judged_genuine).double().mean().item()
    assert agreement > 0.999


def test_cuda_graphs_read_the_epucks_sensors_as_the_cpu_kernel_does():
    system, n = SensorSelfId(), 3000
    params = _epuck_params(n)
    noise = Noise.for_trials(stream_key(2, "simulation", 0), n)
    shape = ElmanShape(8, 3, 5)
    cpu = Engine(system, 100, backend="auto").run(params, noise, _judge(shape, n, "cpu"))
    gpu_noise = Noise(noise.key.cuda(), noise.stream.cuda())
    gpu = Engine(system, 100, device="cuda", backend="compiled").run(
        params.cuda(), gpu_noise, _judge(shape, n, "cuda")
    )
    agreement = (gpu.judged_genuine.cpu() == cpu.judged_genuine).double().mean().item()
    assert agreement > 0.97  # closed loop: a trial at a threshold may go another way
    recorded_cpu = Engine(system, 3, backend="eager").run(
        params[:, :200], noise.select(torch.arange(200)), record=True, inputs=PASSIVE
    )
    recorded_gpu = Engine(system, 3, device="cuda", backend="compiled").run(
        params[:, :200].cuda(), gpu_noise.select(torch.arange(200, device="cuda")),
        record=True, inputs=PASSIVE,
    )  # fmt: skip
    assert torch.allclose(recorded_gpu.observations.cpu(), recorded_cpu.observations, atol=1e-4)


def test_runs_batched_on_cuda_get_exactly_what_they_get_alone():
    system = SensorSelfId()
    genuine = torch.tensor(system.make_truth().simulation)
    evaluator = Evaluator(system, "interrogate", genuine, 40, device="cuda", backend="compiled")
    requests = []
    for run in range(3):
        models = _epuck_params(10 + run).cuda()
        weights = torch.randn(
            8, evaluator.shape.n_weights, generator=torch.Generator().manual_seed(run)
        )
        requests.append(Request(models, weights, stream_key(run, "simulation", 3)))
    together = evaluator.evaluate_many(requests)
    for request, batched in zip(requests, together, strict=True):
        alone = evaluator.evaluate(request.models, request.weights, request.key)
        assert torch.equal(alone.model, batched.model)
        assert torch.equal(alone.genuine, batched.genuine)


def test_a_killed_cuda_run_resumes_bit_identically(tmp_path):
    args = ["sensor-self-id", "--generations", "12", "--models", "20", "--interrogators", "20",
            "--seed", "3", "--device", "cuda", "--checkpoint-every", "3", "--c2st-trials", "0",
            "--quiet"]  # fmt: skip
    cli = [sys.executable, "-m", "turing.cli", "run"]
    subprocess.run([*cli, *args, "--out", str(tmp_path / "whole")], check=True)
    process = subprocess.Popen([*cli, *args, "--out", str(tmp_path / "killed")])
    metrics = tmp_path / "killed" / "metrics.csv"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if metrics.exists() and len(metrics.read_text().splitlines()) > 7:
            break
        time.sleep(0.2)
    process.kill()
    process.wait()
    subprocess.run([*cli, "--resume", str(tmp_path / "killed"), "--quiet"], check=True)

    def rows(path):
        lines = (path / "metrics.csv").read_text().splitlines()
        header = lines[0].split(",")
        keep = [i for i, name in enumerate(header) if "seconds" not in name]
        return [[line.split(",")[i] for i in keep] for line in lines]

    assert rows(tmp_path / "whole") == rows(tmp_path / "killed")
