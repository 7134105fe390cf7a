"""The batched torch simulator of case study 2: e-pucks in the arena, one sensor layout per trial.

This is the single source of truth of the ``sensor-self-id`` system (the definition is
``docs/specs/case-study-2-sensors.md``; every number comes from
:mod:`turing.envs.epuck.constants`). It advances ``n`` independent trials at once, each with
its own body-frame sensor layout, so that the genuine robot and every model run in one batch.
The PyBullet world of the Gymnasium env reuses the pieces below (start poses, ray geometry,
IR response, reading formula, wheel noise), so the two simulators cannot drift apart.

Conventions (the engine's, see :mod:`turing.contracts.system`): the trial axis is **last**.

* pose ``[3, n]``: x, y (cm, arena frame, corners (0, 0) and (50, 50)) and heading (rad,
  counter-clockwise from +x; any value on input, wrapped to [-pi, pi) by :func:`drive`);
* layout ``[24, n]``: rows 0..7 the sensors' body-frame x, rows 8..15 their body-frame y
  (cm; x forward, y left), rows 16..23 their facings (rad, 0 = forward, CCW positive);
* action ``[2, n]``: left and right wheel commands in [-1, 1] (x 12.8 cm/s);
* readings ``[8, n]``: what an interrogator sees, ``min(1, raw / 3000)`` in [0, 1].

Random draws (:class:`turing.Noise`, none inside :func:`control_step`, which can therefore
be compiled): the start pose of a trial comes from its start stream, attempt ``j`` of the
rejection sampling from block ``j`` (:func:`sample_start_poses`); the first reading's IR
noise is ``normal(8)`` at step 0 (blocks 0 and 1); each control step draws the wheel factors
``uniform(2)`` (block 0), then the IR noise ``normal(8)`` (blocks 1 and 2). A trial's draws
therefore depend only on its streams, never on the other trials of its batch: the
single-trial env seeded with ``s`` and any batch holding that trial see the same numbers.

Kinematics: each 0.1 s control step is integrated in 10 substeps of 0.01 s. Wheel speeds are
constant over a control step, so each substep moves the body along the exact arc of the
differential drive (a chord of length ``2 v sin(w dt / 2) / w`` in the direction
``heading + w dt / 2``); after each substep any penetration of a wall or a cylinder is
resolved by moving the body out along the contact normal (no bounce, heading unchanged).
Since the cylinders are further apart, and further from the walls, than the body's
diameter, the body touches at most two walls (in a corner) or one cylinder, so one pass
resolves every contact exactly.

Speed: everything is elementwise over the trial axis, so that the engine derives its fused
kernel from these functions (:mod:`turing.engine.fused`: whole trials on lane vectors, the
interrogator included; what CPU runs use), and ``torch.compile`` (the ``compiled`` backend)
fuses a whole control step into a few loops over contiguous trial vectors; eagerly, each of
a step's few hundred small operations is a separate pass over memory. Two choices keep the
fused kernel exactly what the original hand-written C kernel computed (engine 3's native
results): the rays' directions by the angle-sum formulas (the facings' sines and cosines are
then constants of a trial) and the IR response as a division.
"""

from __future__ import annotations

import itertools
import math

import torch

from turing.engine.random import Noise
from turing.envs.epuck import constants as C

Tensor = torch.Tensor

N = C.N_SENSORS
LAYOUT_SIZE = 3 * N
"""Simulation parameters per trial: body-frame x, y and facing of each of the 8 sensors."""

SUBSTEP = C.CONTROL_STEP / C.SUBSTEPS
"""Seconds per integration substep."""

MIN_CYLINDER_DISTANCE = C.BODY_RADIUS + C.CYLINDER_RADIUS
"""Closest the body's centre may come to a cylinder's axis."""

_LOW = C.BODY_RADIUS
_HIGH = C.ARENA_SIZE - C.BODY_RADIUS
# Grid lines of the cylinders and the midpoints between them: the nearest cylinder of a
# point is the nearest grid line along x combined with the nearest along y.
_GRID = C.CYLINDER_GRID
_GRID_MIDPOINTS = tuple((a + b) / 2 for a, b in itertools.pairwise(_GRID))
_SPACING = _GRID[1] - _GRID[0]
# The ray caster tests 3 candidate cylinders per ray (see ray_distances): exact only on a
# regular grid whose diagonal neighbours lie beyond the reach of a ray's half-segment.
if any(abs(b - a - _SPACING) > 1e-9 for a, b in itertools.pairwise(_GRID)) or not (
    _SPACING / math.sqrt(2) > 0.5 * C.RAY_RANGE + C.CYLINDER_RADIUS
):
    raise RuntimeError(
        "constants.CYLINDER_GRID must be regular with spacing > sqrt(2) (RAY_RANGE / 2 + "
        "CYLINDER_RADIUS); sim.ray_distances relies on it"
    )

_COS_OFFSET = math.cos(C.RAY_OFFSETS[2])
_SIN_OFFSET = math.sin(C.RAY_OFFSETS[2])
_IR_K = C.IR_M * (C.IR_C - C.IR_X0**2)


# ----------------------------------------------------------------------------- layouts
def split_layout(layout: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Views ``(x, y, facing)`` ``[8, n]`` of a layout ``[24, n]`` (or of the first 24 rows
    of a calibrated simulation vector, :mod:`turing.envs.epuck.calibration`)."""
    return layout[:N], layout[N : 2 * N], layout[2 * N : 3 * N]


def layout_from_polar(theta: Tensor, r: Tensor) -> Tensor:
    """The layout of a model: sensor ``i`` at ``(r_i cos theta_i, r_i sin theta_i)`` facing
    ``theta_i``.

    Args:
        theta: angles ``[8, n]`` (rad).
        r: radii ``[8, n]`` (cm).

    Returns:
        the layout ``[24, n]``.
    """
    return torch.cat([r * torch.cos(theta), r * torch.sin(theta), theta])


def genuine_layout(
    n: int = 1, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> Tensor:
    """The real e-puck's layout (positions ``p_i``, facings ``phi_i``), ``[24, n]``."""
    column = [x for x, _ in C.SENSOR_POSITIONS]
    column += [y for _, y in C.SENSOR_POSITIONS]
    column += list(C.SENSOR_FACINGS)
    return (
        torch.tensor(column, dtype=dtype, device=device).reshape(-1, 1).expand(-1, n).contiguous()
    )


# ----------------------------------------------------------------------------- geometry
def nearest_cylinder(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Centre ``(cx, cy)`` of the cylinder nearest to each point ``(x, y)``."""
    cx = torch.full_like(x, _GRID[0])
    cy = torch.full_like(y, _GRID[0])
    for midpoint, line in zip(_GRID_MIDPOINTS, _GRID[1:], strict=True):
        cx = torch.where(x >= midpoint, line, cx)
        cy = torch.where(y >= midpoint, line, cy)
    return cx, cy


def is_free(x: Tensor, y: Tensor) -> Tensor:
    """Whether a body centred at ``(x, y)`` lies wholly inside the arena and overlaps no
    cylinder (touching is allowed)."""
    inside = (x >= _LOW) & (x <= _HIGH) & (y >= _LOW) & (y <= _HIGH)
    cx, cy = nearest_cylinder(x, y)
    clear = (x - cx).square() + (y - cy).square() >= MIN_CYLINDER_DISTANCE**2
    return inside & clear


def resolve_contacts(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Moves bodies that penetrate a wall or a cylinder out along the contact normal.

    Args:
        x, y: body centres ``[n]``.

    Returns:
        the corrected centres: inside ``[3.7, 46.3]^2`` and at least ``3.7 + 1.85`` from
        every cylinder's axis (up to rounding).
    """
    x = x.clamp(_LOW, _HIGH)
    y = y.clamp(_LOW, _HIGH)
    cx, cy = nearest_cylinder(x, y)
    dx = x - cx
    dy = y - cy
    d2 = dx * dx + dy * dy
    inside = d2 < MIN_CYLINDER_DISTANCE**2
    # The body moves at most 0.128 cm per substep, so it never reaches a cylinder's axis
    # (d2 > 0); the clamp only keeps the unused branch finite.
    scale = MIN_CYLINDER_DISTANCE * torch.rsqrt(d2.clamp_min(1e-12))
    return torch.where(inside, cx + dx * scale, x), torch.where(inside, cy + dy * scale, y)


# ----------------------------------------------------------------------------- randomness
START_ATTEMPTS = 10_000
"""Rejection-sampling attempts before a start pose is declared impossible (about half of
the arena's free positions accept, so 10,000 attempts fail with probability 2^-10000)."""


def sample_start_poses(
    n: int,
    noise: Noise,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Start poses of ``n`` trials: uniform over the places where the whole body is inside
    the arena and overlaps no cylinder, heading uniform in [0, 2 pi).

    Rejection sampling: attempt ``j`` of a trial reads the three uniforms (x, y, heading)
    of block ``j`` of its stream, until one is free. Vectorised over the trials still
    without a pose.

    Args:
        n: trials.
        noise: the trials' start draws (:meth:`turing.Noise.starts`).
        device: torch device.
        dtype: floating point type.

    Returns:
        poses ``[3, n]``: x, y (cm), heading (rad).
    """
    poses = torch.empty(3, n, device=device, dtype=dtype)
    todo = torch.arange(n, device=device)
    pending = noise
    for attempt in range(START_ATTEMPTS):
        if not todo.numel():
            return poses
        u = pending.uniform(3, slot=attempt).to(device=device, dtype=dtype)
        x = _LOW + (_HIGH - _LOW) * u[0]
        y = _LOW + (_HIGH - _LOW) * u[1]
        heading = (2 * math.pi) * u[2]
        ok = is_free(x, y)
        poses[:, todo[ok]] = torch.stack([x, y, heading])[:, ok]
        todo = todo[~ok]
        pending = pending.select(~ok)
    raise RuntimeError("no free start pose found (is the arena full?)")


def draw_wheel_factors(noise: Noise) -> Tensor:
    """Wheel noise of one control step: a factor ``U[0.95, 1.05)`` per wheel, ``[2, n]``."""
    low, high = C.WHEEL_NOISE
    return noise.uniform(2) * (high - low) + low


def draw_ir_noise(noise: Noise) -> Tensor:
    """IR noise of one reading, ``N(0, 10^2)`` per sensor (raw units), ``[8, n]``."""
    return noise.normal(N) * C.IR_NOISE_STD


# ----------------------------------------------------------------------------- motion
def wheel_speeds(action: Tensor, factors: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Left and right wheel speeds (cm/s) of wheel commands ``[2, n]`` in [-1, 1]: each
    command times 12.8, times its noise factor, clipped to +-12.8."""
    speeds = action * C.MAX_WHEEL_SPEED
    if factors is not None:
        speeds = speeds * factors
    speeds = speeds.clamp(-C.MAX_WHEEL_SPEED, C.MAX_WHEEL_SPEED)
    return speeds[0], speeds[1]


def drive(pose: Tensor, v_left: Tensor, v_right: Tensor) -> Tensor:
    """One control step of differential drive with contact resolution (10 substeps).

    Args:
        pose: ``[3, n]`` (x, y, heading).
        v_left, v_right: wheel speeds ``[n]`` (cm/s), constant over the step.

    Returns:
        the new pose ``[3, n]``, heading wrapped to [-pi, pi).
    """
    x, y, heading = pose[0], pose[1], pose[2]
    v = 0.5 * (v_left + v_right)
    turn = (v_right - v_left) * (SUBSTEP / C.WHEEL_BASE)  # heading change per substep
    half = 0.5 * turn
    # Chord of the arc travelled in one substep; sin(half) / half -> 1 as the turn vanishes.
    sinc = torch.where(half.abs() > 1e-4, torch.sin(half) / half, torch.ones_like(half))
    chord = v * SUBSTEP * sinc
    # Direction of substep k's chord is heading + (k + 1/2) turn: rotate it by `turn` each time.
    c, s = torch.cos(heading + half), torch.sin(heading + half)
    cos_turn, sin_turn = torch.cos(turn), torch.sin(turn)
    for _ in range(C.SUBSTEPS):
        x, y = resolve_contacts(x + chord * c, y + chord * s)
        c, s = c * cos_turn - s * sin_turn, s * cos_turn + c * sin_turn
    heading = torch.remainder(heading + C.SUBSTEPS * turn + math.pi, 2 * math.pi) - math.pi
    return torch.stack([x, y, heading])


# ----------------------------------------------------------------------------- sensors
def ray_origins(pose: Tensor, layout: Tensor) -> tuple[Tensor, Tensor]:
    """Arena-frame positions ``(x, y)`` ``[8, n]`` of the sensors (where their rays start)."""
    sx, sy, _ = split_layout(layout)
    cos_h, sin_h = torch.cos(pose[2]), torch.sin(pose[2])
    return pose[0] + sx * cos_h - sy * sin_h, pose[1] + sx * sin_h + sy * cos_h


def ray_directions(pose: Tensor, layout: Tensor) -> tuple[Tensor, Tensor]:
    """Arena-frame unit directions ``(ux, uy)`` ``[3, 8, n]`` of the rays: ray 0 at
    ``phi - 15 deg``, ray 1 at ``phi``, ray 2 at ``phi + 15 deg``.

    The centre ray's direction ``heading + phi`` comes from the angle-sum formulas, so that
    each step takes one sine and cosine (of the heading) and the facings' ones are the
    trial's constants (the fused kernel computes them once per trial)."""
    phi = split_layout(layout)[2]
    cos_h, sin_h = torch.cos(pose[2]), torch.sin(pose[2])
    cos_phi, sin_phi = torch.cos(phi), torch.sin(phi)
    cx = cos_h * cos_phi - sin_h * sin_phi
    cy = sin_h * cos_phi + cos_h * sin_phi
    # Side rays: the centre ray rotated by -15 and +15 degrees.
    ux = torch.stack([cx * _COS_OFFSET + cy * _SIN_OFFSET, cx, cx * _COS_OFFSET - cy * _SIN_OFFSET])
    uy = torch.stack([cy * _COS_OFFSET - cx * _SIN_OFFSET, cy, cy * _COS_OFFSET + cx * _SIN_OFFSET])
    return ux, uy


def _wall_distance(origin: Tensor, direction: Tensor) -> Tensor:
    """Distance along ``direction`` from ``origin`` (inside [0, 50]) to the wall it faces."""
    bound = torch.where(direction > 0, C.ARENA_SIZE, 0.0)
    distance = torch.where(direction == 0, math.inf, (bound - origin) / direction)
    return distance.clamp_min(0.0)


def ray_distances(pose: Tensor, layout: Tensor) -> Tensor:
    """Distance along each ray to the nearest wall or cylinder surface within the sensor's
    range (12 cm), ``inf`` where nothing is in range; ``[3, 8, n]``.

    Rays start at the sensor (inside the arena, outside every cylinder) and ignore the
    robot's own body. A ray from outside a cylinder of radius rc hits it iff the axis
    projects ahead of the origin (``b >= 0``) and passes within rc (``b^2 - q >= 0``, ``q``
    the squared distance to the axis minus rc^2), first at ``t = b - sqrt(b^2 - q)``.

    Only three cylinders can be hit within range, and they are found by arithmetic: a hit
    axis lies within rc of the ray's 12 cm segment, so within 6 + rc of its midpoint m; on
    a square grid of spacing 12.5 > sqrt(2) (6 + rc) those are at most the grid point
    nearest to m and its neighbours towards m along x and along y. Testing these three
    instead of all nine cylinders is exact and halves the cost of a step.
    """
    ox, oy = ray_origins(pose, layout)
    ux, uy = ray_directions(pose, layout)
    distance = torch.minimum(_wall_distance(ox, ux), _wall_distance(oy, uy))
    mx = ox + (0.5 * C.RAY_RANGE) * ux
    my = oy + (0.5 * C.RAY_RANGE) * uy
    cx, cy = nearest_cylinder(mx, my)
    nx = cx + torch.where(mx >= cx, _SPACING, -_SPACING)
    ny = cy + torch.where(my >= cy, _SPACING, -_SPACING)
    distance = torch.minimum(distance, _cylinder_distance(ox, oy, ux, uy, cx, cy))
    along_x = _cylinder_distance(ox, oy, ux, uy, nx, cy)
    distance = torch.minimum(distance, torch.where(_on_grid(nx), along_x, math.inf))
    along_y = _cylinder_distance(ox, oy, ux, uy, cx, ny)
    distance = torch.minimum(distance, torch.where(_on_grid(ny), along_y, math.inf))
    return torch.where(distance <= C.RAY_RANGE, distance, math.inf)


def _cylinder_distance(
    ox: Tensor, oy: Tensor, ux: Tensor, uy: Tensor, cx: Tensor, cy: Tensor
) -> Tensor:
    """Distance from ``(ox, oy)`` along ``(ux, uy)`` to the cylinder on axis ``(cx, cy)``,
    ``inf`` if the ray misses it."""
    dx, dy = cx - ox, cy - oy
    b = dx * ux + dy * uy
    disc = b * b - (dx * dx + dy * dy - C.CYLINDER_RADIUS**2)
    t = (b - torch.sqrt(disc.clamp_min(0.0))).clamp_min(0.0)
    return torch.where((disc >= 0) & (b >= 0), t, math.inf)


def _on_grid(line: Tensor) -> Tensor:
    """Whether a grid coordinate computed as a neighbour is one of the cylinder grid lines."""
    return (line > _GRID[0] - 0.5 * _SPACING) & (line < _GRID[-1] + 0.5 * _SPACING)


def ir_response(distance: Tensor) -> Tensor:
    """F(x) of one ray: 3731 below 0.3 cm, 3731 (c - x0^2) / (x^2 - 2 x0 x + c) up to the
    range of 12 cm, 0 beyond (and for rays that hit nothing, ``inf``)."""
    # A division (``number / tensor`` would be computed as the number times a reciprocal,
    # rounded twice): the fused kernel and the original C kernel divide.
    curve = torch.div(
        distance.new_tensor(_IR_K), distance * distance - 2 * C.IR_X0 * distance + C.IR_C
    )
    response = torch.where(distance <= C.RAY_RANGE, curve, 0.0)
    return torch.where(distance < C.IR_X0, C.IR_M, response)


def readings_from_distances(distances: Tensor, ir_noise: Tensor | None = None) -> Tensor:
    """What an interrogator observes, from the three rays' distances of each sensor.

    raw = F(d_left) + [F(d_centre) - 2 F(d_centre / cos 15deg)] + F(d_right) (+ noise),
    clipped to [0, 3731]; observed ``min(1, raw / 3000)``. The centre-ray correction makes a
    flat wall seen head-on read F(d_centre).

    Enki (the original simulator) does not reset a ray's value when it hits nothing in
    range, so its sensors repeat stale readings; here every reading is computed afresh from
    the current distances, and a ray with nothing in range contributes exactly 0.

    Args:
        distances: ``[3, 8, n]``: the left, centre and right ray of each sensor.
        ir_noise: ``[8, n]`` raw-unit noise, or ``None`` for none.

    Returns:
        readings ``[8, n]`` in [0, 1].
    """
    left, centre, right = distances[0], distances[1], distances[2]
    raw = ir_response(left) + ir_response(centre) + ir_response(right)
    raw = raw - 2 * ir_response(centre * (1.0 / _COS_OFFSET))
    if ir_noise is not None:
        raw = raw + ir_noise
    return (raw.clamp(0.0, C.IR_MAX) * (1.0 / C.IR_NORMALISER)).clamp_max(1.0)


def sensor_readings(pose: Tensor, layout: Tensor, ir_noise: Tensor | None = None) -> Tensor:
    """Normalised readings ``[8, n]`` of robots at ``pose`` ``[3, n]`` with sensor layouts
    ``layout`` ``[24, n]``, with the given IR noise (``None``: noise off)."""
    return readings_from_distances(ray_distances(pose, layout), ir_noise)


# ----------------------------------------------------------------------------- one step
def control_step(
    pose: Tensor,
    layout: Tensor,
    action: Tensor,
    wheel_factors: Tensor | None = None,
    ir_noise: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One control step: drive for 0.1 s, then read the sensors. Draws nothing, so it can
    be compiled.

    Args:
        pose: ``[3, n]``.
        layout: ``[24, n]``.
        action: wheel commands ``[2, n]`` in [-1, 1].
        wheel_factors: ``[2, n]`` (:func:`draw_wheel_factors`) or ``None`` (noise off).
        ir_noise: ``[8, n]`` (:func:`draw_ir_noise`) or ``None`` (noise off).

    Returns:
        ``(pose, readings)``.
    """
    v_left, v_right = wheel_speeds(action, wheel_factors)
    pose = drive(pose, v_left, v_right)
    return pose, sensor_readings(pose, layout, ir_noise)
