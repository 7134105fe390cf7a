"""Fused kernels generated from a system's torch methods: they simulate what the torch
definition simulates (trial for trial, from the same random streams), a trial's numbers do
not depend on its batch, threads or position, the CUDA form computes what the CPU form
computes, and what cannot be fused is said in one line and simulated with torch."""

from __future__ import annotations

import ctypes
import math
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import turing
from turing import Parameter, System
from turing.agents import ElmanShape
from turing.engine import (
    PASSIVE,
    Engine,
    Fixed,
    Judge,
    Noise,
    native,
    native_kernel,
    resolve_backend,
    stream_key,
)
from turing.engine.fused import cuda, generated

needs_cc = pytest.mark.skipif(native.compiler() is None, reason="fused kernels need a C compiler")
MODES = {
    "interrogate": ("judge", False),
    "passive": (PASSIVE, False),
    "passive-io": (PASSIVE, True),
}


def batch(system, n: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    low, high = torch.tensor(system.lows), torch.tensor(system.highs)
    genes = low[:, None] + (high - low)[:, None] * torch.rand(
        len(low), n, generator=generator, dtype=torch.float64
    )
    params = system.simulation_params(genes.float(), system.make_truth())
    noise = Noise.for_trials(stream_key(seed, "simulation", 3), n)
    noise.input_stream = noise.stream // 2  # pairs share their passive inputs
    return params, noise


def judge_for(system, mode: str, n: int, seed: int = 1) -> Judge:
    inputs, sees_input = MODES[mode]
    extra = system.action_size if sees_input else 0
    outputs = 1 + system.action_size if inputs == "judge" else 1
    shape = ElmanShape(system.observation_size + extra, outputs, 5)
    generator = torch.Generator().manual_seed(seed)
    weights = torch.randn(7, shape.n_weights, generator=generator) * 2
    return Judge(shape, weights, torch.randint(0, 7, (n,), generator=generator), sees_input)


def fused_engine(system, steps: int, threads: int = 2) -> Engine:
    engine = Engine(system, steps, backend="native", threads=threads)
    if engine._kernel.generated is None:  # a built-in's hand-written kernel: generate one
        engine._kernel = native_kernel(system, steps, hand_written=False)
        engine._options = torch.zeros(1)
    return engine


# ----------------------------------------------------------------------------- equivalence
@needs_cc
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("name", ["agent-inference", "range-sensor-id"])
def test_the_generated_kernel_simulates_what_the_torch_definition_does(name, mode):
    system, n = turing.make_system(name), 130
    params, noise = batch(system, n)
    judge = judge_for(system, mode, n)
    inputs = MODES[mode][0]
    eager = Engine(system, 60, backend="eager").run(params, noise, judge, inputs, record=True)
    engine = fused_engine(system, 60)
    closed = engine.run(params, noise, judge, inputs, record=True)
    # Driven by the reference's own inputs, every observation agrees to float32 rounding of
    # the transcendental functions (arithmetic is bit-identical).
    replayed = engine.run(params, noise, judge, Fixed(eager.actions), record=True)
    assert torch.allclose(replayed.observations, eager.observations, atol=2e-4, rtol=1e-5)
    assert float((replayed.observations == eager.observations).double().mean()) > 0.5
    assert torch.allclose(closed.outputs[:3], eager.outputs[:3], atol=1e-5)
    agreement = (closed.judged_genuine == eager.judged_genuine).double().mean()
    assert float(agreement) > 0.97


@needs_cc
@pytest.mark.parametrize("mode", ["interrogate", "passive"])
def test_the_generated_epuck_kernel_simulates_what_its_torch_definition_does(mode):
    system, n = turing.make_system("sensor-self-id"), 96
    params, noise = batch(system, n)
    judge = judge_for(system, mode, n)
    inputs = MODES[mode][0]
    eager = Engine(system, 40, backend="eager").run(params, noise, judge, inputs, record=True)
    engine = fused_engine(system, 40)
    assert torch.allclose(
        engine.run(params, noise, judge, inputs, record=True).observations[:2],
        eager.observations[:2],
        atol=2e-5,
    )
    replayed = engine.run(params, noise, judge, Fixed(eager.actions), record=True)
    difference = (replayed.observations - eager.observations).abs()
    # Rounding shows only where a ray ends within rounding of its range or a contact begins.
    assert float((difference < 1e-3).double().mean()) > 0.999
    assert float(difference.amax(dim=(0, 1)).median()) < 1e-4


@needs_cc
def test_a_trials_numbers_do_not_depend_on_its_batch_threads_or_position():
    system, n = turing.make_system("range-sensor-id"), 203
    params, noise = batch(system, n, seed=4)
    judge = judge_for(system, "interrogate", n)
    one = fused_engine(system, 30, threads=1).run(params, noise, judge)
    three = fused_engine(system, 30, threads=3).run(params, noise, judge)
    assert torch.equal(one.judgement, three.judgement)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    shuffled = fused_engine(system, 30).run(
        params[:, order], noise.select(order), judge.select(order)
    )
    assert torch.equal(shuffled.judgement, one.judgement[order])
    alone = fused_engine(system, 30).run(params[:, 57:58], noise.select(torch.tensor([57])),
                                          judge.select(slice(57, 58)))  # fmt: skip
    assert torch.equal(alone.judgement[0], one.judgement[57])


# ----------------------------------------------------------------------------- CUDA form
@needs_cc
@pytest.mark.skipif(native.compiler("c++") is None, reason="needs a C++ compiler")
@pytest.mark.parametrize("name", ["agent-inference", "range-sensor-id"])
def test_the_cuda_source_computes_on_the_host_exactly_what_the_cpu_kernel_computes(name):
    system, n = turing.make_system(name), 70
    params, noise = batch(system, n)
    engine = fused_engine(system, 50)
    host = cuda.load_host(engine._kernel.generated)
    assert not isinstance(host, str), host
    scalar = fused_engine(system, 50)
    scalar._kernel = host
    for mode in MODES:
        judge, inputs = judge_for(system, mode, n), MODES[mode][0]
        vector = engine.run(params, noise, judge, inputs, record=True)
        one_by_one = scalar.run(params, noise, judge, inputs, record=True)
        for field in ("observations", "outputs", "actions", "judgement", "failed"):
            assert torch.equal(getattr(vector, field), getattr(one_by_one, field)), (mode, field)


SHIM = r"""
extern "C" float sqrtf(float), floorf(float), ceilf(float), truncf(float), rintf(float);
extern "C" float fmodf(float, float), fmaf(float, float, float);
#define __CUDACC_RTC__ 1
#define __device__
#define __global__
#define __restrict__
static inline float __int_as_float(int i) { float x; __builtin_memcpy(&x, &i, 4); return x; }
static inline int __float_as_int(float x) { int i; __builtin_memcpy(&i, &x, 4); return i; }
struct { unsigned x; } blockIdx, blockDim, threadIdx;
"""


@needs_cc
@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_the_cuda_source_parses_as_device_code_without_standard_headers():
    source = generated(turing.make_system("agent-inference"), 100)
    text = SHIM + cuda.source(source)
    done = subprocess.run(
        ["g++", "-fsyntax-only", "-x", "c++", "-std=c++17", f"-I{native.HERE}", "-"],
        input=text, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[:2000]


# ----------------------------------------------------------------------------- contract
class TwoActuators(System):
    """A linear system with per-dimension action bounds (a heater in [0, 1], a fan in
    [-2, 3]): a room's temperature relaxes towards the heater's setting, cooled by the fan."""

    name = "two-actuators"
    env_id = "turing/TwoActuatorsFused-v0"
    parameters = (Parameter("a", 0.0, 1.0, 0.5), Parameter("b", 0.0, 1.0, 0.3))
    observation_size = 1
    observation_low, observation_high = 0.0, 40.0
    action_size = 2
    action_low = (0.0, -2.0)
    action_high = (1.0, 3.0)

    def reset(self, params, noise):
        temperature = 20.0 + noise.normal(1)[0]
        return temperature, temperature.unsqueeze(0)

    def step(self, state, params, action, noise):
        a, b = params
        heater, fan = action
        state = state + a * (30.0 * heater - state) * 0.1 - b * fan + 0.1 * noise.normal(1)[0]
        return state, state.unsqueeze(0)

    def passive_action(self, t, observation, params, inputs):
        return torch.stack([torch.full_like(observation[0], 0.5), observation[0] * 0.0 + 1.0])


@needs_cc
def test_per_dimension_action_bounds_are_applied_per_dimension():
    system, n = TwoActuators(), 64
    params, noise = batch(system, n)
    for mode in ("interrogate", "passive-io"):
        judge, inputs = judge_for(system, mode, n), MODES[mode][0]
        eager = Engine(system, 30, backend="eager").run(params, noise, judge, inputs, record=True)
        fused = fused_engine(system, 30).run(params, noise, judge, inputs, record=True)
        assert torch.allclose(fused.observations, eager.observations, atol=1e-4)
        assert torch.allclose(fused.actions, eager.actions, atol=1e-5)
    heater, fan = eager.actions[:, 0], eager.actions[:, 1]
    assert float(heater.min()) >= 0.0 and float(heater.max()) <= 1.0
    assert float(fan.min()) >= -2.0 and float(fan.max()) <= 3.0


class Branching(TwoActuators):
    """Reads a tensor's value on the host in ``step``: cannot be traced."""

    name = "branching"

    def step(self, state, params, action, noise):
        if bool((action[0] > 0.5).any()):
            state = state + 1.0
        return state, state.unsqueeze(0)


class MixingTrials(TwoActuators):
    """Sums over the trial axis: would mix trials."""

    name = "mixing"

    def step(self, state, params, action, noise):
        state = state - state.mean(-1, keepdim=True) + action[0]
        return state, state.unsqueeze(0)


class Cumulative(TwoActuators):
    """Uses an operation without a lowering."""

    name = "cumulative"

    def step(self, state, params, action, noise):
        return state, torch.cumsum(action, 0)[:1]


class HostPassive(TwoActuators):
    """Its passive input reads the step on the host: only that part cannot be fused."""

    name = "host-passive"

    def passive_action(self, t, observation, params, inputs):
        level = 1.0 if int(t) % 10 < 5 else 0.0
        return torch.stack([torch.full_like(observation[0], level), observation[0] * 0.0])


@pytest.mark.parametrize(
    "system, words",
    [
        (Branching(), ["step cannot be traced", "test_fused.py", "if bool("]),
        (MixingTrials(), ["trial axis", "test_fused.py", "state.mean(-1"]),
        (Cumulative(), ["cumsum", "cannot be fused", "test_fused.py"]),
    ],
)
def test_what_cannot_be_fused_is_said_in_one_line_and_simulated_with_torch(system, words):
    reason = generated(system, 20)
    assert isinstance(reason, str) and "\n" not in reason
    for word in words:
        assert word in reason, reason
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_backend(system, 20, "cpu") == "eager"
    assert any(words[0] in str(w.message) for w in caught)
    with pytest.raises(RuntimeError, match="no native kernel"):
        Engine(system, 20, backend="native")


@needs_cc
def test_a_passive_input_that_cannot_be_fused_runs_on_torch_and_the_rest_fused():
    system, n = HostPassive(), 64
    source = generated(system, 30)
    assert "passive_action" in source.passive_error and "int(t)" in source.passive_error
    params, noise = batch(system, n)
    engine = fused_engine(system, 30)
    judge = judge_for(system, "passive", n)
    eager = Engine(system, 30, backend="eager").run(params, noise, judge, PASSIVE, record=True)
    fused = engine.run(params, noise, judge, PASSIVE, record=True)
    assert torch.equal(fused.observations, eager.observations)  # the eager loop ran it
    judge = judge_for(system, "interrogate", n)
    assert engine.run(params, noise, judge).judgement.shape == (n,)


def test_float64_arithmetic_is_refused_with_the_reason():
    class Double(TwoActuators):
        name = "double"

        def step(self, state, params, action, noise):
            state = (state.double() * math.pi).float()
            return state, state.unsqueeze(0)

    reason = generated(Double(), 10)
    assert isinstance(reason, str) and "float64" in reason


# ----------------------------------------------------------------------------- engine 3
GOLDEN = Path(__file__).with_name("data") / "engine3_native.npz"


@needs_cc
@pytest.mark.parametrize("name", ["agent-inference", "sensor-self-id"])
def test_the_generated_kernels_compute_what_engine_3s_hand_written_kernels_did(name):
    # tests/data/engine3_native.npz: the C kernels of turing-learning's engine 3 (before
    # they were replaced by generated ones) on fixed batches; native run folders of engine 3
    # continue bit for bit only if these reproduce exactly.
    golden = np.load(GOLDEN)
    system = turing.make_system(name)
    params, noise = batch(system, 48, seed=11)
    engine = Engine(system, 30, backend="native", threads=2)
    assert engine._kernel.generated is not None
    for mode in MODES:
        judge, inputs = judge_for(system, mode, 48, seed=12), MODES[mode][0]
        out = engine.run(params, noise, judge, inputs, record=True)
        assert np.array_equal(out.judgement.numpy(), golden[f"{name}/{mode}/judgement"]), mode
        last = out.observations[-1].numpy()
        assert np.array_equal(last, golden[f"{name}/{mode}/observations"]), mode


@needs_cc
@pytest.mark.skipif(native.compiler("c++") is None, reason="needs a C++ compiler")
def test_the_cuda_launch_hands_the_driver_the_arguments_the_cpu_kernel_gets():
    # The launch path of CudaKernel (arguments packed into one struct, one launch) with the
    # host build of the CUDA source standing in for the device: only NVRTC and the launch
    # itself are left to tests/test_gpu.py.
    system, n = turing.make_system("range-sensor-id"), 40
    params, noise = batch(system, n)
    engine = fused_engine(system, 25)
    host = cuda.load_host(engine._kernel.generated)
    launches = []

    def launch(grid, block, args):
        launches.append((grid, block))
        pointer = ctypes.cast(ctypes.c_void_p(args[0].data_ptr()), host._run.argtypes[0])
        assert host._run(pointer) == 0

    scalar = fused_engine(system, 25)
    scalar._kernel = cuda.CudaKernel(launch, engine._kernel.generated)
    for mode in MODES:
        judge, inputs = judge_for(system, mode, n), MODES[mode][0]
        expected = engine.run(params, noise, judge, inputs, record=True)
        got = scalar.run(params, noise, judge, inputs, record=True)
        assert torch.equal(expected.observations, got.observations), mode
        assert torch.equal(expected.judgement, got.judgement), mode
    assert launches[0] == ((1, 1, 1), (cuda.BLOCK, 1, 1))  # one launch: every trial whole
