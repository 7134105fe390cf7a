"""The fast e-puck simulator's calibration parameters (``sensor-self-id``, ``calibrate=true``):
off, the spec's system bit for bit; on, each parameter does what it says, in both
simulators (the native kernel against torch: tests/test_engine.py)."""

from __future__ import annotations

import csv
import hashlib
import json
import math

import pytest
import torch

import turing
from turing.agents import ElmanShape
from turing.engine import PASSIVE, Engine, Judge, Noise, native, stream_key
from turing.envs.epuck import calibration, sim
from turing.envs.epuck import constants as C
from turing.envs.epuck.system import SensorSelfId

needs_native = pytest.mark.skipif(native.compiler() is None, reason="needs a C compiler")

# What the spec's system computed before the calibration existed (commit 70857d2, x86-64,
# torch 2.13.0 CPU): the recorded trials of a fixed batch (sha256 of observations and
# network outputs) and the metrics.csv rows of a short seeded run (wall times aside).
# Engine 4: native trials are engine 3's (the generated kernel computes what kernel.c did);
# the torch simulator now computes as that kernel did (angle sums, divisions), so eager
# trials have digests of engine 4 (engine 3's: judge ddd42a49ec9cba69, passive
# 88111ff43fbcb10a). The run's rows: main at e074947 writes c488635f... on both backends
# (diagnostic and preset columns joined metrics.csv after 70857d2's a75a907e...).
BEFORE_TRIALS = {
    ("eager", "judge"): "57a01a65fbf940b6",
    ("eager", "passive"): "2922ebe83f48f638",
    ("native", "judge"): "4ce56a92911585ac",
    ("native", "passive"): "57615b2274e2b8dd",
}
BEFORE_RUN = "c488635f6446a78df8671f758a6bccc17cfda02347aa855ee3689f26d293a375"


def _batch(system, n=64, seed=3):
    generator = torch.Generator().manual_seed(seed)
    theta = (torch.rand(8, n, generator=generator) * 2 - 1) * 3.1
    radius = 0.5 + 3.0 * torch.rand(8, n, generator=generator)
    params = system.simulation_params(torch.cat([theta, radius]))
    shape = ElmanShape(8, 3, 5)
    weights = torch.randn(5, shape.n_weights, generator=generator) * 2
    judge = Judge(shape, weights, torch.arange(n) % 5, False)
    passive = ElmanShape(8, 1, 5)
    watcher = Judge(passive, weights[:, : passive.n_weights], torch.arange(n) % 5, False)
    return params, judge, watcher


@pytest.mark.parametrize("backend", ["eager", "native"])
def test_without_the_option_trials_are_bit_identical_to_before(backend):
    if backend == "native" and native.compiler() is None:
        pytest.skip("no C compiler")
    system = SensorSelfId()
    params, judge, watcher = _batch(system)
    noise = Noise.for_trials(stream_key(21, "bit-identity"), 64)
    for name, reader, inputs in (("judge", judge, "judge"), ("passive", watcher, PASSIVE)):
        trials = Engine(system, 40, backend=backend, threads=1).run(
            params, noise, reader, inputs, record=True
        )
        digest = hashlib.sha256(
            trials.observations.numpy().tobytes() + trials.outputs.numpy().tobytes()
        ).hexdigest()
        assert digest[:16] == BEFORE_TRIALS[(backend, name)]


@pytest.mark.parametrize("backend", ["eager", "native"])
def test_without_the_option_a_seeded_run_writes_the_metrics_of_before(tmp_path, backend):
    if backend == "native" and native.compiler() is None:
        pytest.skip("no C compiler")
    turing.learn(
        "sensor-self-id",
        generations=3,
        models=6,
        interrogators=6,
        steps=30,
        seed=11,
        backend=backend,
        threads=1,
        out=tmp_path / "run",
        progress=False,
        c2st_trials=0,
    )
    with (tmp_path / "run" / "metrics.csv").open() as handle:
        rows = [{k: v for k, v in r.items() if "seconds" not in k} for r in csv.DictReader(handle)]
    assert hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest() == BEFORE_RUN
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert "calibrate" not in json.dumps(config.get("system_options", {}))


@pytest.mark.parametrize("backend", ["eager", "native"])
def test_neutral_calibration_changes_nothing(backend):
    if backend == "native" and native.compiler() is None:
        pytest.skip("no C compiler")
    plain, calibrated = SensorSelfId(), SensorSelfId(calibrate=True)
    params, judge, _ = _batch(plain)
    neutral = torch.tensor(calibration.NEUTRAL_CALIBRATION).reshape(-1, 1).expand(-1, 64)
    noise = Noise.for_trials(stream_key(4, "neutral"), 64)
    a = Engine(plain, 50, backend=backend, threads=1).run(params, noise, judge, record=True)
    b = Engine(calibrated, 50, backend=backend, threads=1).run(
        torch.cat([params, neutral]), noise, judge, record=True
    )
    assert torch.equal(a.observations, b.observations) and torch.equal(a.outputs, b.outputs)


def test_the_option_adds_five_parameters_with_neutral_genuine_values():
    system = turing.make_system("sensor-self-id", calibrate=True)
    assert system.parameter_names[16:] == calibration.CALIBRATION
    assert system.options() == {"noise": True, "calibrate": True}
    truth = system.make_truth()
    assert truth.simulation[24:] == calibration.NEUTRAL_CALIBRATION
    assert [truth.reference[n] for n in calibration.CALIBRATION] == list(
        calibration.NEUTRAL_CALIBRATION
    )
    lagging = system.make_truth({"motor_lag": 0.05, "theta_0": 0.1})
    assert lagging.simulation[24] == 0.05 and lagging.spec["motor_lag"] == 0.05
    assert lagging.simulation[16] == pytest.approx(0.1)
    with pytest.raises(turing.UserError, match="no parameter 'motor_lag'"):
        SensorSelfId().make_truth({"motor_lag": 0.05})
    with pytest.raises(turing.UserError, match="outside its bounds"):
        system.make_truth({"contact_slip": 1.5})
    with pytest.raises(turing.UserError, match="calibrate must be true or false"):
        SensorSelfId(calibrate="yes")
    model = torch.rand(21, 5)
    assert torch.equal(system.simulation_params(model)[24:], model[16:])


def test_lagged_speeds_ramp_at_the_motors_acceleration():
    target = torch.tensor([12.8, 12.8, -12.8, 5.0], dtype=torch.float64)
    previous = torch.tensor([0.0, 0.0, 12.8, 5.0], dtype=torch.float64)
    lag = torch.tensor([0.05, 0.2, 0.05, 0.1], dtype=torch.float64)
    mean, end = calibration.lagged_speeds(previous, target, lag)
    # 0 -> 12.8 in 0.05 s: a ramp (mean 6.4) for half the step, then 12.8: mean 9.6.
    assert mean[0].item() == pytest.approx(9.6) and end[0].item() == 12.8
    # 0 -> 12.8 in 0.2 s: half-way after the step (6.4), mean 3.2.
    assert mean[1].item() == pytest.approx(3.2) and end[1].item() == pytest.approx(6.4)
    # A reversal from full speed with a 0.05 s lag takes the whole step: mean 0.
    assert mean[2].item() == pytest.approx(0.0, abs=1e-12)
    assert end[2].item() == pytest.approx(-12.8)
    assert mean[3].item() == end[3].item() == 5.0  # at the target already
    no_lag = calibration.lagged_speeds(previous, target, torch.zeros(4, dtype=torch.float64))
    assert torch.equal(no_lag[0], target) and torch.equal(no_lag[1], target)


def _state(x, y, heading, speeds=(0.0, 0.0)):
    return torch.tensor([[x], [y], [heading], [speeds[0]], [speeds[1]]], dtype=torch.float64)


def _vector(lag=0.0, slip=1.0, turn=1.0, scale=1.0, gain=1.0):
    layout = sim.genuine_layout(1, dtype=torch.float64)
    values = torch.tensor([[lag], [slip], [turn], [scale], [gain]], dtype=torch.float64)
    return torch.cat([layout, values])


def test_motor_lag_delays_the_start_and_is_carried_between_steps():
    forward = torch.ones(2, 1, dtype=torch.float64)
    moved = {}
    for lag in (0.0, 0.05):
        state, _ = calibration.control_step(_state(6.25, 18.75, 0.0), _vector(lag=lag), forward)
        moved[lag] = state[0, 0].item() - 6.25
        assert state[3:, 0].tolist() == [12.8, 12.8]  # at full speed by the end
        state, _ = calibration.control_step(state, _vector(lag=lag), forward)
        assert state[0, 0].item() - 6.25 - moved[lag] == pytest.approx(1.28)
    assert moved[0.0] == pytest.approx(1.28) and moved[0.05] == pytest.approx(0.96)


def test_contact_slip_holds_a_body_pushed_along_a_wall_and_a_cylinder():
    # Driving at 45 degrees into the top wall, touching it: slides at v sin 45 freely,
    # not at all with slip 0, and at a fifth of that with slip 0.2.
    speed = 12.8 * 0.5
    action = torch.full((2, 1), 0.5, dtype=torch.float64)
    slid = {}
    for slip in (1.0, 0.2, 0.0):
        state = _state(18.75, C.ARENA_SIZE - C.BODY_RADIUS, math.pi / 4)
        state, _ = calibration.control_step(state, _vector(slip=slip), action)
        slid[slip] = state[0, 0].item() - 18.75
        assert state[1, 0].item() == pytest.approx(C.ARENA_SIZE - C.BODY_RADIUS)
    assert slid[1.0] == pytest.approx(speed * 0.1 / math.sqrt(2), rel=1e-6)
    assert slid[0.0] == pytest.approx(0.0, abs=1e-9)
    assert slid[0.2] == pytest.approx(0.2 * slid[1.0], rel=1e-6)
    # Against a cylinder: the body stays on its surface and slides less around it.
    cx, cy = C.CYLINDER_CENTRES[4]
    touching = sim.MIN_CYLINDER_DISTANCE
    angles = {}
    for slip in (1.0, 0.2):
        state = _state(cx - touching, cy, math.radians(30))  # left of it, heading into it
        for _ in range(3):
            state, _ = calibration.control_step(state, _vector(slip=slip), action)
        gap = math.hypot(state[0, 0].item() - cx, state[1, 0].item() - cy)
        # On the surface (the tangent's give-back leaves it a hair outside, never inside).
        assert touching - 1e-9 <= gap < touching + 1e-3
        angles[slip] = math.atan2(state[1, 0].item() - cy, state[0, 0].item() - cx)
    assert abs(angles[0.2] - math.pi) < 0.3 * abs(angles[1.0] - math.pi)


def test_contact_turn_scales_the_turn_of_a_body_in_contact():
    # Pressed against the top wall (heading straight at it), turning on the spot with the
    # right wheel pushing harder: in contact every substep.
    action = torch.tensor([[0.2], [1.0]], dtype=torch.float64)
    free_turn = (1.0 - 0.2) * 12.8 / C.WHEEL_BASE * 0.1
    turned = {}
    for turn in (1.0, 0.5, 0.0):
        state = _state(18.75, C.ARENA_SIZE - C.BODY_RADIUS, math.pi / 2)
        state, _ = calibration.control_step(state, _vector(turn=turn), action)
        turned[turn] = state[2, 0].item() - math.pi / 2
    assert turned[1.0] == pytest.approx(free_turn, rel=1e-9)
    assert turned[0.5] == pytest.approx(0.5 * free_turn, rel=1e-9)
    assert turned[0.0] == 0.0
    # In free space it changes nothing.
    free = [
        calibration.control_step(_state(18.75, 18.75, 0.0), _vector(turn=t), action)[0]
        for t in (1.0, 0.3)
    ]
    assert torch.equal(free[0], free[1])


def test_ir_calibration_stretches_and_scales_the_response():
    distances = torch.tensor([0.5, 1.0, 2.0, 4.0, 8.0, math.inf], dtype=torch.float64)
    rays = distances.reshape(1, 1, -1).expand(3, 1, -1)
    n = distances.numel()

    def read(scale, gain):
        vector = _vector(scale=scale, gain=gain).expand(-1, n)
        return calibration.readings_from_distances(rays, vector)[0]

    plain = sim.readings_from_distances(rays)[0]
    assert torch.equal(read(1.0, 1.0), plain)
    stretched = read(2.0, 1.0)
    assert stretched[3].item() == pytest.approx(plain[2].item())  # F(4 / 2) = F(2)
    assert stretched[5].item() == 0.0  # nothing in range stays nothing
    halved = read(1.0, 0.5)
    assert halved[4].item() == pytest.approx(0.5 * plain[4].item())


def test_a_calibrated_run_reports_its_calibration(tmp_path):
    result = turing.learn(
        "sensor-self-id",
        system_options={"calibrate": True},
        generations=2,
        models=6,
        interrogators=6,
        steps=20,
        seed=2,
        out=tmp_path / "run",
        progress=False,
        c2st_trials=0,
    )
    assert set(calibration.CALIBRATION) <= set(result.estimates["best"])
    assert math.isfinite(result.data["mean_angle_error_deg"]["best"])
