"""turing/EpuckBullet-v0: the physical e-puck (PyBullet dynamics, its own infrared model)."""

from __future__ import annotations

import itertools
import math

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import turing
from turing.envs.epuck import constants as C
from turing.envs.epuck.infrared import InfraredModel
from turing.envs.epuck.physics_arena import is_free, sample_start

ENV_ID = "turing/EpuckBullet-v0"


@pytest.fixture(scope="module")
def quiet_env():
    env = gymnasium.make(ENV_ID, noise=False)
    yield env.unwrapped
    env.close()


def _episode(env, seed: int, steps: int = 30):
    observation, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    observations, poses = [observation], [info["pose"]]
    for _ in range(steps - 1):
        observation, _, _, _, info = env.step(rng.uniform(-1, 1, 2).astype(np.float32))
        observations.append(observation)
        poses.append(info["pose"])
    return np.array(observations), np.array(poses)


def test_made_by_id_after_import_turing_with_sensor_self_ids_spaces():
    env = gymnasium.make(ENV_ID)
    model = turing.make_system("sensor-self-id")
    assert env.observation_space.shape == (model.observation_size,)
    assert env.action_space.shape == (model.action_size,)
    assert float(env.observation_space.low[0]) == model.observation_low
    assert float(env.action_space.low[0]) == model.action_low
    assert float(env.action_space.high[0]) == model.action_high
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_episodes_depend_on_their_seed_alone():
    env = gymnasium.make(ENV_ID)
    first = _episode(env, 1)
    other = _episode(env, 2)
    again = _episode(env, 1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[1], other[1])
    fresh = gymnasium.make(ENV_ID)
    assert all(np.array_equal(a, b) for a, b in zip(first, _episode(fresh, 1), strict=True))
    env.close()
    fresh.close()


def test_an_episode_is_one_trial_of_the_given_length():
    env = gymnasium.make(ENV_ID, steps=5)
    env.reset(seed=0)
    flags = [env.step(np.zeros(2, np.float32))[3] for _ in range(4)]
    assert flags == [False, False, False, True]
    env.close()


def test_start_poses_are_free_and_cover_the_arena():
    rng = np.random.default_rng(0)
    starts = np.array([sample_start(rng) for _ in range(4000)])
    assert all(is_free(x, y) for x, y, _ in starts)
    assert starts[:, 0].min() < 6 and starts[:, 0].max() > 44
    assert abs(starts[:, 0].mean() - 25) < 0.8 and abs(starts[:, 1].mean() - 25) < 0.8
    assert 0 <= starts[:, 2].min() and starts[:, 2].max() < 2 * math.pi


def test_readings_rise_towards_a_wall_and_open_space_reads_zero(quiet_env):
    world = quiet_env._world
    front = []
    for gap in (8.0, 4.0, 2.0, 1.0, 0.5):
        # Facing the right-hand wall, on the line between two cylinders' rows.
        world.reset(C.ARENA_SIZE - C.BODY_RADIUS - gap, 31.25, 0.0)
        readings = world.sense(None)
        front.append(readings[[0, 7]].mean())
        assert readings[0] == pytest.approx(readings[7], abs=0.02)  # the two front sensors
    assert all(a < b for a, b in itertools.pairwise(front))
    assert front[2] > 0.1 and front[-1] > 0.3  # a wall 2 cm ahead reads high ...
    assert front[0] < 0.03  # ... one 8 cm ahead hardly at all
    # A cell's centre looking along the corridors: the front and side sensors see nothing.
    world.reset(18.75, 18.75, 0.0)
    assert np.all(world.sense(None)[[0, 2, 5, 7]] == 0.0)


def test_response_curve_falls_with_distance_and_cuts_off_at_its_range():
    model = InfraredModel()
    curve = [model.head_on(d) for d in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)]
    assert all(a > b for a, b in itertools.pairwise(curve))
    assert 0.8 < curve[0] < 1.0
    assert model.head_on(model.range_cm + 0.1) == 0.0
    # Incidence matters: a surface tilted by 60 degrees returns half as much.
    straight = model.returns(np.array([[2.0] * 13]), np.ones((1, 13)))
    tilted = model.returns(np.array([[2.0] * 13]), np.full((1, 13), 0.5))
    assert tilted[0] == pytest.approx(straight[0] / 2)


def test_drives_at_the_commanded_speed_on_open_floor(quiet_env):
    world = quiet_env._world
    for command in (0.3, 0.6, 1.0):
        world.reset(6.25, 18.75, 0.0)  # along the corridor between the first rows
        world.command(command * C.MAX_WHEEL_SPEED, command * C.MAX_WHEEL_SPEED)
        world.advance()  # accelerating
        start = world.pose()
        for _ in range(10):
            world.advance()
        end = world.pose()
        speed = math.hypot(*(end[:2] - start[:2])) / (10 * C.CONTROL_STEP)
        assert speed == pytest.approx(command * C.MAX_WHEEL_SPEED, rel=0.02)
        assert abs(end[1] - start[1]) < 0.05 and abs(end[2]) < 0.01  # straight ahead
    # Turning in place: the heading turns at (v_r - v_l) / wheel base.
    world.reset(18.75, 18.75, 0.0)
    world.command(-6.4, 6.4)
    world.advance()
    before = world.pose()
    for _ in range(3):
        world.advance()
    turned = math.remainder(world.pose()[2] - before[2], 2 * math.pi)
    assert turned / 0.3 == pytest.approx(2 * 6.4 / C.WHEEL_BASE, rel=0.05)
    assert math.hypot(*(world.pose()[:2] - before[:2])) < 0.1


def test_motors_saturate_when_accelerating_and_against_a_wall(quiet_env):
    world = quiet_env._world
    limit = quiet_env.physics.max_wheel_torque
    world.reset(6.25, 18.75, 0.0)
    world.command(C.MAX_WHEEL_SPEED, C.MAX_WHEEL_SPEED)
    world.advance()
    first = world.pose()[0] - 6.25
    world.advance()
    second = world.pose()[0] - 6.25 - first
    full = C.MAX_WHEEL_SPEED * C.CONTROL_STEP
    # From rest the torque limit costs a quarter of the first step's distance; the second
    # step runs at full speed.
    assert 0.6 * full < first < 0.85 * full and second == pytest.approx(full, rel=0.02)
    # A reversal at full speed: still going forward for a while.
    world.command(-C.MAX_WHEEL_SPEED, -C.MAX_WHEEL_SPEED)
    x = world.pose()[0]
    world.advance()
    assert world.pose()[0] - x > -0.5 * full
    # Pushing a wall head-on: wheels stalled, both motors at their torque limit.
    world.reset(C.ARENA_SIZE - C.BODY_RADIUS - 0.5, 31.25, 0.0)
    world.command(C.MAX_WHEEL_SPEED, C.MAX_WHEEL_SPEED)
    for _ in range(5):
        world.advance()
    speeds, torques = world.wheels()
    assert np.all(np.abs(speeds) < 0.5)
    assert np.allclose(np.abs(torques), limit, rtol=1e-6)
    assert world.pose()[0] <= C.ARENA_SIZE - C.BODY_RADIUS + 0.05  # the wall holds


def test_a_weaker_motor_accelerates_more_slowly():
    distances = []
    for torque in (0.004, 0.001):
        env = gymnasium.make(ENV_ID, noise=False, max_wheel_torque=torque).unwrapped
        env._world.reset(6.25, 18.75, 0.0)
        env._world.command(C.MAX_WHEEL_SPEED, C.MAX_WHEEL_SPEED)
        env._world.advance()
        distances.append(env._world.pose()[0] - 6.25)
        env.close()
    assert distances[1] < 0.6 * distances[0]


def test_a_layout_changes_what_the_sensors_see(quiet_env):
    genuine = [
        (x, y, math.radians(f))
        for (x, y), f in zip(C.SENSOR_POSITIONS, C.SENSOR_FACINGS_DEG, strict=True)
    ]
    same = gymnasium.make(ENV_ID, noise=False, layout=genuine).unwrapped
    turned = gymnasium.make(ENV_ID, noise=False, layout=[[0.0, 3.5]] * 8).unwrapped  # all ahead
    for env in (quiet_env, same, turned):
        env._world.reset(C.ARENA_SIZE - C.BODY_RADIUS - 1.0, 31.25, 0.0)
    base = quiet_env._world.sense(None)
    assert np.allclose(same._world.sense(None), base, atol=1e-6)
    ahead = turned._world.sense(None)
    assert np.all(ahead > 0.3) and np.allclose(ahead, ahead[0])
    same.close()
    turned.close()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mass": -1.0}, "mass=-1.0 must be a number > 0"),
        ({"timestep": 0.003}, "timestep=0.003 must divide the control step"),
        ({"ir_gain": 0}, "ir_gain=0 must be a number > 0"),
        ({"wheel_noise": -0.1}, "wheel_noise=-0.1 must be a number >= 0"),
        ({"render_mode": "window"}, "render_mode 'window' is unknown"),
        ({"layout": [[1.0, 2.0, 0.0]] * 7}, "has 7 sensors"),
        ({"steps": 0}, "steps must be a whole number >= 1"),
    ],
)
def test_bad_settings_are_one_line_user_errors(kwargs, message):
    with pytest.raises(turing.UserError, match=message):
        gymnasium.make(ENV_ID, **kwargs)


def test_rgb_array_frames():
    env = gymnasium.make(ENV_ID, render_mode="rgb_array", size=(64, 48), renderer="tiny")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8 and frame.std() > 0
    env.close()
