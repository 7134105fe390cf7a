"""The PyBullet world and the Gymnasium env of case study 2 agree with the torch simulator."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import turing  # noqa: F401  (registers the systems and their envs)
from turing import Noise
from turing.engine import stream_key
from turing.envs.bullet_view import BulletView
from turing.envs.epuck import constants as C
from turing.envs.epuck import sim
from turing.envs.epuck.bullet import EpuckWorld
from turing.envs.epuck.env import SensorSelfIdEnv
from turing.errors import UserError

ENV_ID = "turing/SensorSelfId-v0"


@pytest.fixture(scope="module")
def world():
    view = BulletView()
    yield EpuckWorld(view)
    view.close()


def random_layouts(n: int, generator: torch.Generator) -> torch.Tensor:
    """The genuine layout and ``n - 1`` random model layouts, ``[24, n]`` float64."""
    theta = (torch.rand(8, n - 1, generator=generator, dtype=torch.float64) * 2 - 1) * math.pi
    r = C.MODEL_RADIUS_MIN + torch.rand(8, n - 1, generator=generator, dtype=torch.float64) * (
        C.BODY_RADIUS - C.MODEL_RADIUS_MIN
    )
    return torch.cat(
        [sim.genuine_layout(1, dtype=torch.float64), sim.layout_from_polar(theta, r)], dim=1
    )


def test_same_pose_same_readings(world):
    """Noise off: rays by rayTestBatch read what the analytic ray casting reads (1e-3)."""
    generator = torch.Generator().manual_seed(0)
    n = 60
    starts = Noise.for_trials(stream_key(0, "test"), n).starts()
    poses = sim.sample_start_poses(n, starts, dtype=torch.float64)
    layouts = random_layouts(n, generator)
    expected = sim.sensor_readings(poses, layouts)
    robot = world.add_robot(0, layouts[:, 0]) if not world.robots else world.robots[0]
    worst = 0.0
    for k in range(n):
        robot.layout = layouts[:, k : k + 1]
        world.place(poses[:, k : k + 1])
        got = world.readings()[:, 0]
        worst = max(worst, float((got - expected[:, k]).abs().max()))
        # Nothing in range reads exactly 0 in both (no stale values).
        np.testing.assert_array_equal(got == 0, expected[:, k] == 0)
    assert worst < 1e-3
    assert expected.max() > 0.05, "the poses should put some obstacle within range"


def test_trajectories_stay_close(world):
    """Noise off, same start and commands: 20 steps within 1e-3 of the torch simulator,
    100 steps (with contacts) within 1e-2."""
    generator = torch.Generator().manual_seed(1)
    robot = world.robots[0] if world.robots else world.add_robot(0, sim.genuine_layout(1)[:, 0])
    robot.layout = sim.genuine_layout(1, dtype=torch.float64)
    contacts = 0
    for trial in range(3):
        start = Noise.for_trials(stream_key(1, "test"), 1, first_stream=trial).starts()
        pose = sim.sample_start_poses(1, start, dtype=torch.float64)
        world.place(pose)
        for t in range(100):
            # Mostly forward, so that the robot meets walls and cylinders.
            action = torch.rand(2, 1, generator=generator, dtype=torch.float64) * 1.4 - 0.4
            pose, expected = sim.control_step(pose, robot.layout, action)
            contacts += int(touching(float(pose[0, 0]), float(pose[1, 0])))
            world.drive(action)
            got = world.readings()
            limit = 1e-3 if t < 20 else 1e-2
            assert float((got - expected).abs().max()) < limit, (trial, t)
            assert float((world.poses()[:2] - pose[:2]).abs().max()) < (1e-3 if t < 20 else 1e-2)
    assert contacts > 0, "the test should include contacts"


def touching(x: float, y: float) -> bool:
    """Whether a body centred at (x, y) touches a wall or a cylinder."""
    wall = min(x, y, C.ARENA_SIZE - x, C.ARENA_SIZE - y) - C.BODY_RADIUS
    cylinder = (
        min(math.hypot(x - cx, y - cy) for cx, cy in C.CYLINDER_CENTRES)
        - C.BODY_RADIUS
        - C.CYLINDER_RADIUS
    )
    return min(wall, cylinder) < 1e-4


def test_body_never_ends_inside_an_obstacle(world):
    robot = world.robots[0] if world.robots else world.add_robot(0, sim.genuine_layout(1)[:, 0])
    generator = torch.Generator().manual_seed(2)
    world.place(torch.tensor([[C.BODY_RADIUS + 0.5], [25.0], [math.pi]], dtype=torch.float64))
    for _ in range(300):
        action = torch.rand(2, 1, generator=generator, dtype=torch.float64) * 2 - 1
        world.drive(action + 0.5)  # biased forward: long pushes into walls and cylinders
        x, y, _ = robot.pose
        assert C.BODY_RADIUS - 1e-6 <= x <= C.ARENA_SIZE - C.BODY_RADIUS + 1e-6
        assert C.BODY_RADIUS - 1e-6 <= y <= C.ARENA_SIZE - C.BODY_RADIUS + 1e-6
        gaps = [math.hypot(x - cx, y - cy) for cx, cy in C.CYLINDER_CENTRES]
        assert min(gaps) >= C.BODY_RADIUS + C.CYLINDER_RADIUS - 1e-6


# ----------------------------------------------------------------------------- the env
@pytest.mark.parametrize("backend", ["bullet", "torch"])
def test_check_env(backend):
    env = gymnasium.make(ENV_ID, backend=backend)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("noise", [False, True])
def test_backends_start_alike_and_stay_close(noise):
    """reset(seed=s) gives the same start pose in both backends, and the same readings
    within 1e-3 over 20 steps of the same commands (with noise on, both draw the same
    noise)."""
    for seed in (3, 4):
        envs = [
            gymnasium.make(ENV_ID, backend=b, noise=noise).unwrapped for b in ("bullet", "torch")
        ]
        (obs_b, info_b), (obs_t, info_t) = (env.reset(seed=seed) for env in envs)
        np.testing.assert_allclose(info_b["pose"], info_t["pose"], atol=1e-5)
        assert np.abs(obs_b - obs_t).max() < 1e-3
        commands = np.random.default_rng(seed).uniform(-1, 1, (20, 2)).astype(np.float32)
        for k, command in enumerate(commands):
            (obs_b, *_), (obs_t, *_) = (env.step(command) for env in envs)
            assert np.abs(obs_b - obs_t).max() < 1e-3, k
        for env in envs:
            env.close()


def test_episode_is_one_trial():
    env = SensorSelfIdEnv(steps=5)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[3] for _ in range(4)]
    assert flags == [False, False, False, True]
    env.close()


def test_sensors_forms_and_bad_input():
    positions = [
        (x, y, phi) for (x, y), phi in zip(C.SENSOR_POSITIONS, C.SENSOR_FACINGS, strict=True)
    ]
    genuine = SensorSelfIdEnv(backend="torch")
    listed = SensorSelfIdEnv(sensors=positions, backend="torch")
    torch.testing.assert_close(genuine.layout, listed.layout)
    polar = SensorSelfIdEnv(sensors=[[0.5 * k, 2.0] for k in range(8)], backend="torch")
    torch.testing.assert_close(polar.layout[:8, 0], 2.0 * torch.cos(0.5 * torch.arange(8.0)))
    named = SensorSelfIdEnv(sensors={"theta_0": 0.1, "r_0": 1.0}, backend="torch")
    assert float(named.layout[16, 0]) == pytest.approx(0.1)
    with pytest.raises(UserError, match="7 sensors"):
        SensorSelfIdEnv(sensors=positions[:7])
    with pytest.raises(UserError, match="outside"):
        SensorSelfIdEnv(sensors=[[0.0, 4.5]] * 8)
    with pytest.raises(UserError, match="backend"):
        SensorSelfIdEnv(backend="enki")
    with pytest.raises(UserError, match="render_mode"):
        SensorSelfIdEnv(render_mode="ascii")


@pytest.mark.parametrize("backend", ["bullet", "torch"])
def test_rgb_array_frames(backend):
    env = gymnasium.make(
        ENV_ID, backend=backend, render_mode="rgb_array", size=(160, 160)
    ).unwrapped
    env.reset(seed=5)
    first = env.render()
    for _ in range(15):
        env.step(np.array([1.0, 0.6], dtype=np.float32))
    last = env.render()
    assert first.shape == (160, 160, 3) and first.dtype == np.uint8
    assert not np.array_equal(first, last)
    env.close()


def test_rendering_the_same_pose_gives_the_same_frame():
    frames = []
    for backend in ("bullet", "torch"):
        env = SensorSelfIdEnv(
            backend=backend, noise=False, render_mode="rgb_array", size=(128, 128), renderer="tiny"
        )
        env.reset(seed=6)
        for _ in range(5):
            env.step(np.array([0.7, 0.5], dtype=np.float32))
        frames.append(env.render().astype(int))
        env.close()
    assert np.abs(frames[0] - frames[1]).mean() < 1.0


def test_overlay_lands_where_the_renderer_draws():
    """Lines and texts are projected onto frames with the renderer's own camera."""
    from turing.envs.bullet_view import Camera

    view = BulletView(size=(200, 120), renderer="tiny")
    pb = view.pb
    marker = pb.createVisualShape(
        pb.GEOM_SPHERE, radius=0.02, rgbaColor=[1, 0, 0, 1], physicsClientId=view.id
    )
    position = (0.13, -0.05, 0.02)
    pb.createMultiBody(0, -1, marker, basePosition=list(position), physicsClientId=view.id)
    view.set_camera(Camera(target=(0.0, 0.0, 0.0), distance=0.8, yaw=20.0, pitch=-60.0))
    frame = view.frame().astype(int)
    red = (frame[..., 0] > 150) & (frame[..., 1] < 80) & (frame[..., 2] < 80)
    rows, cols = np.nonzero(red)
    pixels, front = view.project(np.array([position]))
    assert front[0] and red.sum() > 10
    assert abs(cols.mean() - pixels[0, 0]) < 2.5 and abs(rows.mean() - pixels[0, 1]) < 2.5
    view.line("probe", (0.0, 0.0, 0.0), position, (0.0, 0.0, 1.0), 2.0)
    drawn = view.frame().astype(int)
    assert (np.abs(drawn - frame).sum(axis=2) > 0).sum() > 20
    view.close()
