"""Case study 2's batched simulator: geometry, sensor model, kinematics, contacts, seeding.

Readings are checked against a plain-Python ray caster written from the spec, kinematics
against the closed-form arc of a differential drive, and the no-penetration guarantee over
long random runs.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from turing import Noise
from turing.engine import stream_key
from turing.envs.epuck import constants as C
from turing.envs.epuck import sim

COS15 = math.cos(math.radians(15))


def layout_all(x: float, y: float, facing: float, n: int = 1) -> torch.Tensor:
    """A layout with all 8 sensors at one body-frame place and facing, ``[24, n]``."""
    column = [x] * 8 + [y] * 8 + [facing] * 8
    return torch.tensor(column, dtype=torch.float64).reshape(-1, 1).expand(-1, n).contiguous()


def pose(x: float, y: float, heading: float) -> torch.Tensor:
    return torch.tensor([[x], [y], [heading]], dtype=torch.float64)


def reference_distances(x, y, heading, layout) -> list[list[float]]:
    """Distances of the 3 x 8 rays from the spec, one ray at a time, in plain Python, every
    wall and cylinder tested; ``inf`` when nothing is within range."""
    out = []
    for offset in C.RAY_OFFSETS:
        row = []
        for i in range(8):
            sx, sy, facing = layout[i], layout[8 + i], layout[16 + i]
            ox = x + sx * math.cos(heading) - sy * math.sin(heading)
            oy = y + sx * math.sin(heading) + sy * math.cos(heading)
            angle = heading + facing + offset
            ux, uy = math.cos(angle), math.sin(angle)
            best = math.inf
            for bound, origin, u in (
                (C.ARENA_SIZE, ox, ux),
                (0.0, ox, ux),
                (C.ARENA_SIZE, oy, uy),
                (0.0, oy, uy),
            ):
                if u != 0 and (bound - origin) / u >= 0:
                    best = min(best, (bound - origin) / u)
            for cx, cy in C.CYLINDER_CENTRES:
                fx, fy = ox - cx, oy - cy
                b = fx * ux + fy * uy
                disc = b * b - (fx * fx + fy * fy - C.CYLINDER_RADIUS**2)
                if disc >= 0:
                    near = -b - math.sqrt(disc)
                    if near >= 0:
                        best = min(best, near)
            row.append(best if best <= C.RAY_RANGE else math.inf)
        out.append(row)
    return out


def reference_reading(left: float, centre: float, right: float) -> float:
    raw = (
        C.ir_response(left)
        + C.ir_response(centre)
        - 2 * C.ir_response(centre / COS15)
        + C.ir_response(right)
    )
    return min(1.0, min(max(raw, 0.0), C.IR_MAX) / C.IR_NORMALISER)


def trials(n: int, seed: int, first_stream: int = 0) -> Noise:
    """The random streams of ``n`` trials (streams ``first_stream ..``) of a test key."""
    return Noise.for_trials(stream_key(seed, "test"), n, first_stream=first_stream)


def random_layouts(n: int, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    theta = (torch.rand(8, n, generator=generator, dtype=dtype) * 2 - 1) * math.pi
    r = 0.01 + torch.rand(8, n, generator=generator, dtype=dtype) * (C.BODY_RADIUS - 0.01)
    return sim.layout_from_polar(theta, r)


def clearance(poses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per robot: distance of its centre from the nearest wall-limit of its centre and from
    the nearest cylinder surface-limit (both >= 0 when it touches nothing)."""
    x, y = poses[0], poses[1]
    wall = torch.stack(
        [
            x - C.BODY_RADIUS,
            C.ARENA_SIZE - C.BODY_RADIUS - x,
            y - C.BODY_RADIUS,
            C.ARENA_SIZE - C.BODY_RADIUS - y,
        ]
    ).amin(0)
    centres = torch.tensor(C.CYLINDER_CENTRES, dtype=poses.dtype)
    d = torch.hypot(x[None] - centres[:, :1], y[None] - centres[:, 1:]).amin(0)
    return wall, d - sim.MIN_CYLINDER_DISTANCE


# ----------------------------------------------------------------------------- geometry
def test_world_geometry_allows_the_simulators_shortcuts():
    # One contact at a time (one resolution pass is exact): cylinders are further apart,
    # and further from the walls, than the body's diameter.
    spacing = min(b - a for a, b in zip(C.CYLINDER_GRID, C.CYLINDER_GRID[1:], strict=False))
    assert spacing - 2 * C.CYLINDER_RADIUS > 2 * C.BODY_RADIUS
    assert (
        min(C.CYLINDER_GRID[0], C.ARENA_SIZE - C.CYLINDER_GRID[-1]) - C.CYLINDER_RADIUS
        > 2 * C.BODY_RADIUS
    )
    # The ray caster's "smallest projection is hit first" needs spacing > sqrt(5) rc.
    assert spacing > math.sqrt(5) * C.CYLINDER_RADIUS
    assert sorted(C.CYLINDER_CENTRES) == sorted(
        (x, y) for x in C.CYLINDER_GRID for y in C.CYLINDER_GRID
    )


def test_nearest_cylinder_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(2, 2000, generator=g, dtype=torch.float64) * C.ARENA_SIZE
    cx, cy = sim.nearest_cylinder(xy[0], xy[1])
    centres = torch.tensor(C.CYLINDER_CENTRES, dtype=torch.float64)
    nearest = torch.hypot(xy[0][None] - centres[:, :1], xy[1][None] - centres[:, 1:]).argmin(0)
    torch.testing.assert_close(torch.stack([cx, cy]), centres[nearest].T)


def test_ray_distances_match_a_plain_ray_caster():
    # Random poses, plus robots touching a cylinder or a wall (where most rays hit something
    # close), with random layouts: the simulator tests 3 candidate cylinders per ray, the
    # reference all 9.
    g = torch.Generator().manual_seed(1)
    free = sim.sample_start_poses(400, trials(400, 1).starts(), dtype=torch.float64)
    centres = torch.tensor(C.CYLINDER_CENTRES, dtype=torch.float64)[
        torch.randint(0, 9, (200,), generator=g)
    ]
    around = torch.rand(200, generator=g, dtype=torch.float64) * 2 * math.pi
    touching = torch.stack(
        [
            centres[:, 0] + sim.MIN_CYLINDER_DISTANCE * torch.cos(around),
            centres[:, 1] + sim.MIN_CYLINDER_DISTANCE * torch.sin(around),
            torch.rand(200, generator=g, dtype=torch.float64) * 2 * math.pi,
        ]
    )
    walls = free[:, :100].clone()
    walls[0, :50] = C.BODY_RADIUS
    walls[1, 50:] = C.ARENA_SIZE - C.BODY_RADIUS
    poses = torch.cat([free, touching, walls], dim=1)
    n = poses.shape[1]
    layouts = random_layouts(n, g)
    got = sim.ray_distances(poses, layouts)
    assert got.shape == (3, 8, n)
    expected = torch.tensor(
        [reference_distances(*poses[:, j].tolist(), layouts[:, j].tolist()) for j in range(n)],
        dtype=torch.float64,
    ).permute(1, 2, 0)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-9)
    in_range = torch.isfinite(expected)
    assert 0.2 < float(in_range.double().mean()) < 0.9  # both cases are well represented


def test_readings_match_the_spec_formula_at_random_poses():
    g = torch.Generator().manual_seed(2)
    n = 300
    poses = sim.sample_start_poses(n, trials(n, 2).starts(), dtype=torch.float64)
    layouts = random_layouts(n, g)
    readings = sim.sensor_readings(poses, layouts)
    assert readings.shape == (8, n)
    assert float(readings.min()) >= 0 and float(readings.max()) <= 1
    distances = sim.ray_distances(poses, layouts)
    for j in range(0, n, 7):
        for i in range(8):
            expected = reference_reading(*(float(distances[k, i, j]) for k in range(3)))
            assert float(readings[i, j]) == pytest.approx(expected, abs=1e-9)
    # Over the batch both ends of the scale occur: saturated (<= 0.8 cm) and blind sensors.
    assert float((readings == 1).double().mean()) > 0 and float((readings == 0).double().mean()) > 0


# ----------------------------------------------------------------------------- sensor model
@pytest.mark.parametrize("gap", [0.05, 0.3, 1.0, 2.5, 6.0, 11.0])
def test_a_wall_seen_head_on_reads_F_of_its_distance(gap):
    # A sensor on the body's rim (3.7, 0) facing forward, the robot facing the east wall,
    # between two cylinder rows so that the side rays see the wall too.
    x = C.ARENA_SIZE - C.BODY_RADIUS - gap
    readings = sim.sensor_readings(pose(x, 31.25, 0.0), layout_all(C.BODY_RADIUS, 0.0, 0.0))
    expected = min(1.0, C.ir_response(gap) / C.IR_NORMALISER)
    torch.testing.assert_close(
        readings[:, 0], torch.full((8,), expected, dtype=torch.float64), rtol=0, atol=1e-9
    )


def test_ir_response_is_the_spec_curve():
    distances = [0.0, 0.1, 0.2999, 0.3, 0.5, 1.0, 4.0, 11.99, 12.0, 12.01, 30.0, math.inf]
    got = sim.ir_response(torch.tensor(distances, dtype=torch.float64))
    expected = torch.tensor([C.ir_response(d) for d in distances], dtype=torch.float64)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-9)
    assert float(got[0]) == C.IR_M and float(got[-1]) == 0.0 and float(got[-3]) == 0.0


def test_centre_ray_correction():
    inf = math.inf
    cases = [
        (5.0 / COS15, 5.0, 5.0 / COS15),  # a flat wall head-on: exactly F(5)
        (inf, 0.2, inf),  # only the centre ray: F(0.2) - 2 F(0.2 / cos 15) < 0, reads 0
        (2.0, 2.0, 2.5),  # a corner: F(2) + F(2) - 2 F(2 / cos 15) + F(2.5)
        (inf, 11.8, inf),  # the corrected distance is out of range: no correction
        (2.0, inf, 7.0),  # side rays only
        (inf, inf, inf),  # nothing in range: exactly 0
    ]
    distances = (
        torch.tensor(cases, dtype=torch.float64).T.reshape(3, 1, len(cases)).expand(3, 8, -1)
    )
    readings = sim.readings_from_distances(distances)
    expected = torch.tensor([reference_reading(*c) for c in cases], dtype=torch.float64)
    torch.testing.assert_close(readings[0], expected, rtol=0, atol=1e-12)
    assert float(readings[0, 0]) == pytest.approx(C.ir_response(5.0) / C.IR_NORMALISER, abs=1e-12)
    # A thin obstacle that only the centre ray sees cancels out (as in Enki), except where
    # the corrected distance 11.8 / cos 15 lies beyond the range.
    assert float(readings[0, 1]) == 0.0
    assert float(readings[0, 3]) == pytest.approx(C.ir_response(11.8) / C.IR_NORMALISER, abs=1e-12)
    assert float(readings[0, 2]) > 0 and float(readings[0, 5]) == 0.0


def test_noise_is_added_to_raw_readings_then_clipped():
    distances = torch.full((3, 8, 4), math.inf, dtype=torch.float64)
    noise = torch.tensor([-50.0, 0.0, 30.0, 5000.0], dtype=torch.float64).expand(8, -1)
    readings = sim.readings_from_distances(distances, noise)
    torch.testing.assert_close(
        readings[0], torch.tensor([0.0, 0.0, 30.0 / 3000.0, 1.0], dtype=torch.float64)
    )


def test_nothing_in_range_reads_exactly_zero_and_readings_are_never_stale():
    # Facing the east wall from close by, then driving backwards out of range. Enki keeps
    # the last value of a ray that hits nothing; here the reading must drop to exactly 0.
    layout = layout_all(3.5, 0.0, 0.0).float()
    state = pose(C.ARENA_SIZE - 3.5 - 1.0, 31.25, 0.0).float()
    first = sim.sensor_readings(state, layout)
    assert float(first.min()) > 0.5
    seen = []
    for _ in range(14):
        state, readings = sim.control_step(state, layout, torch.tensor([[-1.0], [-1.0]]))
        seen.append(float(readings[0, 0]))
    assert seen[-1] == 0.0  # 1 + 14 x 1.28 cm > 12 cm from the wall, nothing else ahead
    assert all(b <= a for a, b in itertools.pairwise(seen))
    assert float(state[0]) == pytest.approx(C.ARENA_SIZE - 4.5 - 14 * 1.28, abs=1e-3)  # float32


def test_cell_centre_sees_nothing_along_the_axes():
    # From the middle of a grid cell, rays within 15 degrees of an axis miss every cylinder
    # and end beyond 12 cm at the walls.
    for heading in (0.0, math.pi / 2, math.pi, -math.pi / 2):
        readings = sim.sensor_readings(pose(31.25, 31.25, heading), layout_all(0.01, 0.0, 0.0))
        assert torch.equal(readings, torch.zeros_like(readings))


# ----------------------------------------------------------------------------- kinematics
def test_straight_line_and_turn_on_the_spot():
    state = pose(25.0, 31.25, 0.3)
    forward = sim.drive(
        state, torch.tensor([12.8], dtype=torch.float64), torch.tensor([12.8], dtype=torch.float64)
    )
    torch.testing.assert_close(
        forward[:, 0],
        torch.tensor(
            [25.0 + 1.28 * math.cos(0.3), 31.25 + 1.28 * math.sin(0.3), 0.3], dtype=torch.float64
        ),
    )
    spin = sim.drive(
        state, torch.tensor([-12.8], dtype=torch.float64), torch.tensor([12.8], dtype=torch.float64)
    )
    turned = 0.3 + 2 * 12.8 / C.WHEEL_BASE * C.CONTROL_STEP
    torch.testing.assert_close(spin[:, 0], torch.tensor([25.0, 31.25, turned], dtype=torch.float64))


def test_free_motion_follows_the_exact_arc():
    g = torch.Generator().manual_seed(3)
    n = 50
    start = torch.stack(
        [torch.full((n,), 31.25), torch.full((n,), 31.25), torch.rand(n, generator=g) * 6 - 3]
    ).double()
    v_left = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * C.MAX_WHEEL_SPEED
    v_right = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * C.MAX_WHEEL_SPEED
    end = sim.drive(start, v_left, v_right)
    v = (v_left + v_right) / 2
    w = (v_right - v_left) / C.WHEEL_BASE
    turn = w * C.CONTROL_STEP
    chord = torch.where(turn.abs() > 1e-12, 2 * v / w * torch.sin(turn / 2), v * C.CONTROL_STEP)
    expected_x = start[0] + chord * torch.cos(start[2] + turn / 2)
    expected_y = start[1] + chord * torch.sin(start[2] + turn / 2)
    torch.testing.assert_close(end[0], expected_x, rtol=0, atol=1e-10)
    torch.testing.assert_close(end[1], expected_y, rtol=0, atol=1e-10)
    wrapped = torch.remainder(start[2] + turn + math.pi, 2 * math.pi) - math.pi
    torch.testing.assert_close(end[2], wrapped)
    assert float(end[2].min()) >= -math.pi and float(end[2].max()) < math.pi


def test_wheel_commands_scale_take_noise_and_clip():
    action = torch.tensor([[1.0, 0.5, -1.0], [0.2, 1.0, -0.9]])
    factors = torch.tensor([[1.04, 0.96, 1.05], [1.0, 1.02, 0.95]])
    v_left, v_right = sim.wheel_speeds(action, factors)
    torch.testing.assert_close(v_left, torch.tensor([12.8, 0.5 * 0.96 * 12.8, -12.8]))
    torch.testing.assert_close(v_right, torch.tensor([0.2 * 12.8, 12.8, -0.9 * 0.95 * 12.8]))
    step = trials(100_000, 0).at(1)
    draws = sim.draw_wheel_factors(step)
    assert draws.shape == (2, 100_000)
    assert float(draws.min()) >= 0.95 and float(draws.max()) < 1.05
    assert float(draws.mean()) == pytest.approx(1.0, abs=1e-3)
    noise = sim.draw_ir_noise(step)
    assert noise.shape == (8, 100_000)
    assert float(noise.mean()) == pytest.approx(0.0, abs=0.05)
    assert float(noise.std()) == pytest.approx(C.IR_NOISE_STD, rel=0.02)


# ----------------------------------------------------------------------------- contacts
def test_driving_into_a_wall_stops_at_the_wall():
    state = pose(C.ARENA_SIZE - C.BODY_RADIUS - 0.5, 31.25, 0.0)
    for _ in range(3):
        state = sim.drive(
            state,
            torch.tensor([12.8], dtype=torch.float64),
            torch.tensor([12.8], dtype=torch.float64),
        )
    assert float(state[0]) == pytest.approx(C.ARENA_SIZE - C.BODY_RADIUS, abs=1e-12)
    assert float(state[1]) == pytest.approx(31.25) and float(state[2]) == pytest.approx(0.0)


def test_driving_into_a_cylinder_slides_around_it_without_entering():
    # Aimed slightly off the axis of the cylinder at (25, 25): pushed out along the normal,
    # it keeps its heading and slides round it.
    state = pose(25.0 - sim.MIN_CYLINDER_DISTANCE - 1.0, 25.3, 0.0)
    for _ in range(30):
        state = sim.drive(
            state,
            torch.tensor([12.8], dtype=torch.float64),
            torch.tensor([12.8], dtype=torch.float64),
        )
        _wall, cylinder = clearance(state)
        assert float(cylinder.min()) >= -1e-9
    assert float(state[0]) > 25.0  # got past it
    assert float(state[2]) == pytest.approx(0.0)


def test_robots_never_end_inside_a_wall_or_a_cylinder():
    g = torch.Generator().manual_seed(4)
    n, steps = 500, 300
    noise = trials(n, 4)
    state = sim.sample_start_poses(n, noise.starts())
    layout = sim.genuine_layout(n)
    trajectory, seen = [], []
    for t in range(steps):
        if t % 25 == 0:  # hold commands for a while, so that robots push into obstacles
            action = torch.rand(2, n, generator=g) * 2 - 1
            action[:, : n // 2] = action[:, : n // 2].sign()  # half of them at full speed
        step = noise.at(t + 1)
        factors = sim.draw_wheel_factors(step)
        state, readings = sim.control_step(state, layout, action, factors, sim.draw_ir_noise(step))
        trajectory.append(state)
        seen.append(readings)
    wall, cylinder = clearance(torch.cat(trajectory, dim=1).double())
    assert float(wall.min()) >= -1e-4 and float(cylinder.min()) >= -1e-4  # float32 rounding
    assert float(cylinder.min()) < 0.01 and float(wall.min()) < 0.01  # they did push
    assert torch.isfinite(torch.stack(seen)).all()


# ----------------------------------------------------------------------------- start poses
def test_start_poses_are_valid_uniform_and_seeded():
    n = 20_000
    poses = sim.sample_start_poses(n, trials(n, 5).starts())
    wall, cylinder = clearance(poses.double())
    assert float(wall.min()) >= 0 and float(cylinder.min()) >= 0
    assert float(poses[2].min()) >= 0 and float(poses[2].max()) < 2 * math.pi
    # Uniform over the free area: symmetric about the centre, headings uniform.
    assert float(poses[0].mean()) == pytest.approx(25.0, abs=0.3)
    assert float(poses[1].mean()) == pytest.approx(25.0, abs=0.3)
    assert float(poses[2].mean()) == pytest.approx(math.pi, abs=0.05)
    # Some start touching distance of a cylinder or wall, i.e. the whole free area is used.
    assert float(cylinder.min()) < 0.05 and float(wall.min()) < 0.01
    again = sim.sample_start_poses(n, trials(n, 5).starts())
    assert torch.equal(poses, again)
    assert not torch.equal(poses, sim.sample_start_poses(n, trials(n, 6).starts()))
    # A trial's pose depends only on its own stream, not on the batch it is drawn in.
    for j in (0, 1, 777, n - 1):
        alone = sim.sample_start_poses(1, trials(1, 5, first_stream=j).starts())
        assert torch.equal(alone[:, 0], poses[:, j])


def test_start_poses_come_from_the_start_streams():
    # A single-trial simulator starts where the same trial of a batch does: reset draws the
    # pose from the trial's start stream.
    from turing.envs.epuck import SensorSelfId

    system = SensorSelfId()
    layout = sim.genuine_layout(1)
    for seed in range(5):
        noise = Noise.for_trials(stream_key(seed, "env", 0), 1)
        state, _ = system.reset(layout, noise.at(0))
        expected = sim.sample_start_poses(1, noise.starts())
        assert torch.equal(state, expected)
        # Draws are float32 whatever the simulation's dtype: float64 starts there too.
        wide, _ = system.reset(layout.double(), noise.at(0))
        assert torch.equal(wide, expected.double())
    # A trial given another trial's start stream starts where that one does (the metric
    # baseline starts a model trial where its genuine twin started).
    batch = trials(4, 7)
    twins = Noise(batch.key, batch.stream, start_stream=torch.tensor([0, 0, 3, 2]))
    state, _ = system.reset(sim.genuine_layout(4), twins.at(0))
    own, _ = system.reset(sim.genuine_layout(4), batch.at(0))
    assert torch.equal(state, own[:, [0, 0, 3, 2]])


# ----------------------------------------------------------------------------- batching
@pytest.mark.parametrize("noisy", [False, True])
def test_batched_trials_equal_trials_run_one_at_a_time(noisy):
    # Trial j alone, with the streams it has in the batch (key and stream id j), draws the
    # same start pose and noise and simulates the same trajectory.
    from turing.envs.epuck import SensorSelfId

    system = SensorSelfId(noise=noisy)
    g = torch.Generator().manual_seed(6)
    n, steps = 6, 40
    layouts = random_layouts(n, g, dtype=torch.float32)
    actions = torch.rand(steps, 2, n, generator=g) * 2 - 1

    def run(params, noise, commands):
        state, obs = system.reset(params, noise.at(0))
        trace = [obs]
        for t, action in enumerate(commands):
            state, obs = system.step(state, params, action, noise.at(t + 1))
            trace.append(obs)
        return state, torch.stack(trace)

    batched_state, batched = run(layouts, trials(n, 6), actions)
    for j in range(n):
        state, alone = run(
            layouts[:, j : j + 1], trials(1, 6, first_stream=j), actions[:, :, j : j + 1]
        )
        torch.testing.assert_close(alone[..., 0], batched[..., j], rtol=0, atol=1e-5)
        torch.testing.assert_close(state[:, 0], batched_state[:, j], rtol=0, atol=1e-4)


def test_noisy_trials_are_reproducible_from_the_seed():
    from turing.envs.epuck import SensorSelfId

    system = SensorSelfId()
    layout = sim.genuine_layout(8)
    actions = torch.rand(20, 2, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1

    def run(seed):
        noise = trials(8, seed)
        state, obs = system.reset(layout, noise.at(0))
        trace = [obs]
        for t, action in enumerate(actions):
            state, obs = system.step(state, layout, action, noise.at(t + 1))
            trace.append(obs)
        return torch.stack(trace)

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))


@pytest.mark.slow
def test_compiled_step_matches_the_eager_step():
    # What the engine's compiled backend does: the system's step, its Philox draws
    # included, as one torch.compile graph, the step given as a 0-dim tensor.
    from turing.envs.epuck import SensorSelfId

    system = SensorSelfId()
    g = torch.Generator().manual_seed(7)
    n = 512
    noise = trials(n, 7)
    state = sim.sample_start_poses(n, noise.starts())
    layout = random_layouts(n, g, dtype=torch.float32)

    def step(state, layout, action, t, noise):
        return system.step(state, layout, action, noise.at(t))

    compiled = torch.compile(step, dynamic=False)
    eager_state, compiled_state = state, state
    for t in range(1, 21):
        action = torch.rand(2, n, generator=g) * 2 - 1
        eager_state, eager_obs = step(eager_state, layout, action, t, noise)
        at = torch.tensor(t)
        compiled_state, compiled_obs = compiled(compiled_state, layout, action, at, noise)
        # Rounding differs (fused, vectorised maths); trajectories stay together over 2 s.
        torch.testing.assert_close(compiled_obs, eager_obs, rtol=0, atol=2e-3)
    torch.testing.assert_close(compiled_state[:2], eager_state[:2], rtol=0, atol=1e-3)
