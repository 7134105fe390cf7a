"""The pendulum model system: gymnasium's Pendulum-v1 reproduced, generalised, identifiable."""

from __future__ import annotations

import math
import re

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import turing
from turing.engine import PASSIVE, Engine, Noise, stream_key
from turing.envs.pendulum import Pendulum, pendulum_step

PENDULUM_V1 = (10.0, 1.0, 1.0, 0.0, 2.0)  # g, m, l, damping, max_torque


def _physics(values=PENDULUM_V1, n=1, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype).reshape(5, 1).expand(5, n).contiguous()


def _side_by_side(seed: int, steps: int, dtype: torch.dtype, g: float = 10.0) -> float:
    """Largest observation difference between Pendulum-v1 and the system from the same start
    under the same random actions (some beyond the torque limit)."""
    system = Pendulum()
    env = gymnasium.make("Pendulum-v1", g=g).unwrapped
    first, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    params = system.simulation_params(torch.tensor([[g], [0.0], [2.0]], dtype=dtype))
    noise = Noise.for_trials(stream_key(seed, "pendulum-test"), 1)
    start = torch.tensor(env.state, dtype=dtype).reshape(2, 1)
    state, obs = system.reset(params, noise.at(0), start=start)
    worst = float(np.abs(obs[:, 0].numpy().astype(np.float32) - first).max())
    for t in range(steps):
        action = rng.uniform(-2.5, 2.5, size=1).astype(np.float32)
        expected, *_ = env.step(action)
        state, obs = system.step(state, params, torch.tensor(action).reshape(1, 1), noise.at(t + 1))
        worst = max(worst, float(np.abs(obs[:, 0].numpy().astype(np.float32) - expected).max()))
    return worst


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("g", [10.0, 6.3])
def test_float64_trials_reproduce_pendulum_v1_to_float_precision(seed, g):
    # Pendulum-v1 computes in float64 and returns float32: over 150 steps the observations
    # agree to a few float32 roundings of the returned values (rates reach 8 rad/s, whose
    # float32 spacing is 9.5e-7; torch's and numpy's sines may differ in the last bit).
    assert _side_by_side(seed, 150, torch.float64, g) < 5e-6


@pytest.mark.parametrize("seed", range(4))
def test_float32_trials_stay_within_a_thousandth_of_pendulum_v1(seed):
    # Training simulates in float32: rounding grows along the trial but stays far below
    # anything an interrogator could use over 100 steps.
    assert _side_by_side(seed, 100, torch.float32) < 1e-3


def test_start_states_are_pendulum_v1s_distribution_and_seeded():
    system = Pendulum()
    noise = Noise.for_trials(stream_key(3, "starts"), 20_000)
    start = system.sample_starts(20_000, noise.starts(), "cpu")
    theta, thdot = start.double()
    assert -math.pi <= float(theta.min()) and float(theta.max()) < math.pi
    assert -1 <= float(thdot.min()) and float(thdot.max()) < 1
    assert abs(float(theta.mean())) < 0.05 and abs(float(theta.std()) - math.pi / 3**0.5) < 0.03
    assert abs(float(thdot.std()) - 1 / 3**0.5) < 0.01
    again = system.sample_starts(20_000, noise.starts(), "cpu")
    assert torch.equal(start, again)


def test_damping_dissipates_and_the_torque_limit_clips():
    theta = torch.tensor([0.5, 0.5], dtype=torch.float64)
    thdot = torch.tensor([3.0, 3.0], dtype=torch.float64)
    free = _physics(n=2)
    damped = _physics((10.0, 1.0, 1.0, 0.5, 2.0), n=2)
    energy = []
    for physics in (free, damped):
        th, w = theta.clone(), thdot.clone()
        for _ in range(60):
            th, w = pendulum_step(th, w, torch.zeros(2, dtype=torch.float64), physics)
        # Energy of the rod (potential from the pivot, 0 upright is the maximum).
        energy.append(float((w[0] ** 2 / 2 / 3 + 10.0 / 2 * torch.cos(th[0])).item()))
    assert energy[1] < energy[0] - 1.0
    # A limit of 0.5 N m: commands of 0.5 and 2 give the same step; 0.4 does not.
    limited = _physics((10.0, 1.0, 1.0, 0.0, 0.5), n=3)
    command = torch.tensor([0.5, 2.0, 0.4], dtype=torch.float64)
    _, w = pendulum_step(torch.zeros(3, dtype=torch.float64), torch.zeros(3), command, limited)
    assert float(w[0]) == float(w[1]) != float(w[2])
    assert float(w[0]) == pytest.approx(3.0 * 0.5 * 0.05)


def test_the_ridge_gives_identical_trials_and_the_combinations_say_so():
    system = Pendulum(infer="all")
    # (g, m, l) = (10, 1, 1) and (20, 0.25, 2) share 3 g / (2 l) = 15 and 3 / (m l^2) = 3.
    models = torch.tensor([[10.0, 20.0], [1.0, 0.25], [1.0, 2.0], [0.0, 0.0], [2.0, 2.0]])
    params = system.simulation_params(models.double())
    noise = Noise.for_trials(stream_key(1, "ridge"), 1)
    start = torch.tensor([[0.3, 0.3], [0.1, 0.1]], dtype=torch.float64)
    state, obs = system.reset(params, noise.at(0), start=start)
    for t in range(100):
        action = torch.full((1, 2), 1.5 * math.sin(0.3 * t), dtype=torch.float64)
        state, obs = system.step(state, params, action, noise.at(t + 1))
        assert torch.allclose(obs[:, 0], obs[:, 1], atol=1e-9)
    truth = system.make_truth()
    far = {"g": 20.0, "m": 0.25, "l": 2.0, "damping": 0.0, "max_torque": 2.0}
    metrics = system.metrics(far, truth)
    assert abs(far["g"] - truth.reference["g"]) == 10.0  # the raw error is large ...
    assert metrics["gravity_term_error"] < 1e-12  # ... the identifiable ones vanish
    assert metrics["torque_gain_error"] < 1e-12
    assert metrics["gravity_term"] == pytest.approx(15.0)


def test_known_values_fill_in_what_is_not_inferred():
    system = Pendulum(infer="g", m=2.0, l=0.5, damping=0.1)
    assert system.parameter_names == ("g",)
    truth = system.make_truth({"g": 6.3})
    assert truth.simulation == pytest.approx((6.3, 2.0, 0.5, 0.1, 2.0))
    assert system.options()["infer"] == "g"
    # The combinations use the known values: 3 g / (2 l) = 3 * 6.3 / 1.
    assert system.metrics({"g": 6.3}, truth)["gravity_term"] == pytest.approx(18.9)
    # An inferred parameter's option value is its genuine value.
    assert Pendulum(infer="g+damping", damping=0.2).make_truth().reference["damping"] == 0.2
    rebuilt = turing.make_system("pendulum", **system.options())
    assert rebuilt.make_truth({"g": 6.3}).simulation == truth.simulation


@pytest.mark.parametrize(
    "options, message",
    [
        ({"infer": "g+mass"}, "infer='g+mass' must name distinct parameters"),
        ({"infer": "g+g"}, "must name distinct parameters"),
        ({"m": 0.0}, "parameter m=0.0 is outside its bounds"),
        ({"hold": 0}, "hold must be a whole number >= 1"),
    ],
)
def test_bad_options_are_one_line_user_errors(options, message):
    with pytest.raises(turing.UserError, match=re.escape(message)):
        turing.make_system("pendulum", **options)


def test_passive_schedule_is_piecewise_constant_and_compilable():
    system = Pendulum(hold=10)
    noise = Noise.for_trials(stream_key(2, "passive"), 500)
    inputs = system.passive_inputs(500, 100, noise.inputs(), "cpu")
    assert inputs.shape == (10, 500)
    assert float(inputs.min()) >= -2 and float(inputs.max()) <= 2 and float(inputs.std()) > 1.0
    obs = torch.zeros(3, 500)
    params = system.simulation_params(torch.tensor([[10.0], [0.0], [2.0]]).expand(3, 500))
    actions = [system.passive_action(t, obs, params, inputs) for t in range(99)]
    for t in range(99):
        assert torch.equal(actions[t], inputs[t // 10].unsqueeze(0))
        # The compiled engine passes t as a 0-dim tensor.
        as_tensor = system.passive_action(torch.tensor(t), obs, params, inputs)
        assert torch.equal(as_tensor, actions[t])


def test_gymnasium_view_passes_check_env_and_is_seeded():
    env = gymnasium.make("turing/Pendulum-v0", params={"g": 6.3})
    check_env(env.unwrapped, skip_render_check=True)
    first = [env.reset(seed=4)[0]] + [env.step(np.array([1.0], np.float32))[0] for _ in range(5)]
    again = [env.reset(seed=4)[0]] + [env.step(np.array([1.0], np.float32))[0] for _ in range(5)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    other = env.reset(seed=5)[0]
    assert not np.array_equal(first[0], other)
    # Pendulum-v1's spaces exactly, bounds included: interrogators read cos, sin and the
    # rate each scaled to [0, 1].
    genuine = gymnasium.make("Pendulum-v1")
    assert env.observation_space == genuine.observation_space
    assert env.action_space == genuine.action_space


def test_batched_trials_equal_trials_simulated_alone():
    system = Pendulum()
    n = 7
    params = system.simulation_params(torch.rand(3, n) * torch.tensor([[20.0], [1.0], [2.0]]))
    params[4] = params[4].clamp_min(0.1)
    noise = Noise.for_trials(stream_key(9, "batch"), n)
    together = Engine(system, 40, backend="eager").run(params, noise, None, PASSIVE, record=True)
    alone = Engine(system, 40, backend="eager").run(
        params[:, 3:4], noise.select(torch.tensor([3])), None, PASSIVE, record=True
    )
    assert torch.equal(together.observations[..., 3:4], alone.observations)


@pytest.mark.parametrize("mode", ["interrogate", "passive", "metric"])
def test_a_short_run_reports_the_identifiable_combinations(tmp_path, mode):
    result = turing.learn(
        "pendulum",
        mode=mode,
        generations=3,
        models=6,
        interrogators=6,
        seed=1,
        out=tmp_path / "run",
        progress=False,
        c2st_trials=0,
    )
    assert set(result.estimates["best"]) == {"g", "damping", "max_torque"}
    for key in ("gravity_term", "gravity_term_error", "damping_rate_error"):
        assert math.isfinite(result.data[key]["best"])
    assert "gravity_term_best" in result.history
    assert (tmp_path / "run" / "plots" / "combinations.png").exists()
