"""The fast e-puck simulator with calibration parameters (``sensor-self-id``,
``--system-options calibrate=true``): the spec's simulator (:mod:`turing.envs.epuck.sim`)
plus five parameters that explain most of how the physical robot of
``turing/EpuckBullet-v0`` moves and reads differently (measured by
``experiments/physics_gap.py``; ``docs/specs/epuck-bullet.md``).

The calibrated simulation vector is the layout ``[24]`` followed by :data:`CALIBRATION`
``[5]``:

* ``motor_lag`` (s): the time a wheel takes from rest to full speed (12.8 cm/s). Each
  wheel's speed moves towards its target at ``12.8 / motor_lag`` cm/s^2 (the physical
  robot's torque-limited motors), so the state carries the wheels' speeds: ``[5, n]``, the
  pose then the left and right speeds (cm/s) at the end of the last step, 0 at reset. Within
  a step the wheels drive at their mean speed over it (:func:`lagged_speeds`) along the
  spec's exact arc. 0: no lag.
* ``contact_slip``: the share of its along-the-surface motion that a body pushed against a
  wall or a cylinder keeps. The spec's contact resolution lets the body slide freely (1);
  the physical robot's wheels grip the floor and its shell rubs, so it mostly stalls
  (measured about 0.15). In each substep, a body in contact gives back ``1 -
  contact_slip`` of its displacement's component along the surface.
* ``contact_turn``: the spec's body turns as its wheels say whatever it touches; the
  physical robot, pressed against a wall or a cylinder, turns less (friction on its shell
  resists; measured: 0.67 of the commanded turn per step in contact, 0.95 in free space).
  In every substep that ends in contact, the body turns ``contact_turn`` times the
  substep's turn (the heading and the direction of the following substeps). 1: no change.
* ``ir_range_scale`` and ``ir_gain``: each ray's response becomes ``ir_gain F(x /
  ir_range_scale)`` (raw units, before the noise and the clipping); a ray still sees nothing
  beyond 12 cm.

With the neutral values (:data:`NEUTRAL_CALIBRATION`) every step computes exactly what the
spec's simulator computes (tests/test_epuck_calibration.py). The native kernel
(``kernel.c`` compiled with ``CALIBRATE=1``) computes the same, in ``#if CALIBRATE`` blocks.
"""

from __future__ import annotations

import math

import torch

from turing.contracts.system import Parameter
from turing.envs.epuck import constants as C
from turing.envs.epuck import sim

Tensor = torch.Tensor

CALIBRATION = ("motor_lag", "contact_slip", "contact_turn", "ir_range_scale", "ir_gain")
"""Rows 24..28 of a calibrated simulation vector."""
NEUTRAL_CALIBRATION = (0.0, 1.0, 1.0, 1.0, 1.0)
"""Calibration values that leave the spec's simulator as it is."""
SIZE = sim.LAYOUT_SIZE + len(CALIBRATION)
"""Rows of a calibrated simulation vector."""

PARAMETERS = (
    Parameter(
        "motor_lag",
        0.0,
        0.5,
        NEUTRAL_CALIBRATION[0],
        unit="s",
        description="calibration: a wheel's time from rest to full speed (0: at once)",
    ),
    Parameter(
        "contact_slip",
        0.0,
        1.0,
        NEUTRAL_CALIBRATION[1],
        description="calibration: share of its motion along a wall or cylinder that a body "
        "pushed against it keeps (1: slides freely)",
    ),
    Parameter(
        "contact_turn",
        0.0,
        2.0,
        NEUTRAL_CALIBRATION[2],
        description="calibration: share of its commanded turn that a body touching a wall "
        "or cylinder makes (1: all of it)",
    ),
    Parameter(
        "ir_range_scale",
        0.5,
        3.0,
        NEUTRAL_CALIBRATION[3],
        description="calibration: each IR ray's response is F(x / ir_range_scale)",
    ),
    Parameter(
        "ir_gain",
        0.2,
        3.0,
        NEUTRAL_CALIBRATION[4],
        description="calibration: raw IR readings are multiplied by it",
    ),
)
"""What ``calibrate=True`` adds to the inferred parameters; their genuine values are the
neutral ones (the fast simulator itself)."""

_LOW = C.BODY_RADIUS
_HIGH = C.ARENA_SIZE - C.BODY_RADIUS
_INV_COS_OFFSET = 1.0 / math.cos(C.RAY_OFFSETS[2])


def lagged_speeds(previous: Tensor, target: Tensor, motor_lag: Tensor) -> tuple[Tensor, Tensor]:
    """Each wheel's speed moving from ``previous`` towards ``target`` (cm/s) at ``12.8 /
    motor_lag`` cm/s^2 for one control step.

    Returns:
        ``(mean, end)``: the mean speed over the step and the speed at its end. With
        ``motor_lag = 0`` both are ``target`` exactly.
    """
    reach = (C.MAX_WHEEL_SPEED / motor_lag) * C.CONTROL_STEP  # inf without lag
    change = target - previous
    # Within reach the speed ramps to the target (for |change| / accel) and stays there;
    # otherwise it ramps all step long.
    reached = change.abs() <= reach
    sign = torch.sign(change)
    mean = torch.where(
        reached, target - change * change.abs() / (2.0 * reach), previous + sign * (0.5 * reach)
    )
    end = torch.where(reached, target, previous + sign * reach)
    return mean, end


def resolve_contacts(
    x: Tensor, y: Tensor, step_x: Tensor, step_y: Tensor, stick: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`sim.resolve_contacts` with friction: a body that entered a wall or a cylinder
    with the substep's displacement ``(step_x, step_y)`` is moved out along the normal and
    gives back ``stick = 1 - contact_slip`` of the displacement's component along the
    surface (a wall's direction, or the cylinder's tangent).

    Returns:
        ``(x, y, touched)``: the corrected centres, and whether each body was in contact.
    """
    x_wall = (x < _LOW) | (x > _HIGH)
    y_wall = (y < _LOW) | (y > _HIGH)
    x = (x - torch.where(y_wall, stick * step_x, 0.0)).clamp(_LOW, _HIGH)
    y = (y - torch.where(x_wall, stick * step_y, 0.0)).clamp(_LOW, _HIGH)
    cx, cy = sim.nearest_cylinder(x, y)
    dx = x - cx
    dy = y - cy
    d2 = dx * dx + dy * dy
    inside = d2 < sim.MIN_CYLINDER_DISTANCE**2
    scale = sim.MIN_CYLINDER_DISTANCE * torch.rsqrt(d2.clamp_min(1e-12))
    # The tangent's share of the step: the step less its component along the normal.
    normal = (step_x * dx + step_y * dy) / d2.clamp_min(1e-12)
    back = torch.where(inside, stick, 0.0)
    cx = cx - back * (step_x - normal * dx)
    cy = cy - back * (step_y - normal * dy)
    x = torch.where(inside, cx + dx * scale, x)
    return x, torch.where(inside, cy + dy * scale, y), x_wall | y_wall | inside


def drive(
    pose: Tensor, v_left: Tensor, v_right: Tensor, contact_slip: Tensor, contact_turn: Tensor
) -> Tensor:
    """:func:`sim.drive` (10 substeps along the exact arc) with :func:`resolve_contacts`; a
    substep that ends in contact turns the body ``contact_turn`` times its turn."""
    x, y, heading = pose[0], pose[1], pose[2]
    v = 0.5 * (v_left + v_right)
    turn = (v_right - v_left) * (sim.SUBSTEP / C.WHEEL_BASE)
    half = 0.5 * turn
    sinc = torch.where(half.abs() > 1e-4, torch.sin(half) / half, torch.ones_like(half))
    chord = v * sim.SUBSTEP * sinc
    c, s = torch.cos(heading + half), torch.sin(heading + half)
    cos_turn, sin_turn = torch.cos(turn), torch.sin(turn)
    held = contact_turn * turn
    cos_held, sin_held = torch.cos(held), torch.sin(held)
    stick = 1.0 - contact_slip
    touching = torch.zeros_like(x)  # substeps that ended in contact
    for _ in range(C.SUBSTEPS):
        step_x, step_y = chord * c, chord * s
        x, y, touched = resolve_contacts(x + step_x, y + step_y, step_x, step_y, stick)
        touching = touching + touched.to(x.dtype)
        rotate_c = torch.where(touched, cos_held, cos_turn)
        rotate_s = torch.where(touched, sin_held, sin_turn)
        c, s = c * rotate_c - s * rotate_s, s * rotate_c + c * rotate_s
    # With contact_turn 1 this is the spec's heading + 10 turn exactly.
    heading = heading + turn * ((C.SUBSTEPS - touching) + contact_turn * touching)
    heading = torch.remainder(heading + math.pi, 2 * math.pi) - math.pi
    return torch.stack([x, y, heading])


def readings_from_distances(
    distances: Tensor, vector: Tensor, ir_noise: Tensor | None = None
) -> Tensor:
    """:func:`sim.readings_from_distances` with each ray's response ``ir_gain F(x /
    ir_range_scale)``, the calibration read from the simulation vector ``[29, n]``."""
    inverse = 1.0 / vector[sim.LAYOUT_SIZE + 3]
    left, centre, right = distances[0] * inverse, distances[1] * inverse, distances[2] * inverse
    raw = sim.ir_response(left) + sim.ir_response(centre) + sim.ir_response(right)
    raw = (raw - 2 * sim.ir_response(centre * _INV_COS_OFFSET)) * vector[sim.LAYOUT_SIZE + 4]
    if ir_noise is not None:
        raw = raw + ir_noise
    return (raw.clamp(0.0, C.IR_MAX) * (1.0 / C.IR_NORMALISER)).clamp_max(1.0)


def sensor_readings(pose: Tensor, vector: Tensor, ir_noise: Tensor | None = None) -> Tensor:
    """Readings ``[8, n]`` of robots at ``pose`` (``[3, n]`` or the state ``[5, n]``)."""
    return readings_from_distances(sim.ray_distances(pose, vector), vector, ir_noise)


def control_step(
    state: Tensor,
    vector: Tensor,
    action: Tensor,
    wheel_factors: Tensor | None = None,
    ir_noise: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """:func:`sim.control_step`, calibrated.

    Args:
        state: ``[5, n]``: pose, and the wheels' speeds at the end of the last step.
        vector: ``[29, n]``: the layout, then :data:`CALIBRATION`.
        action, wheel_factors, ir_noise: as :func:`sim.control_step`'s.

    Returns:
        ``(state, readings)``.
    """
    v_left, v_right = sim.wheel_speeds(action, wheel_factors)
    motor_lag = vector[sim.LAYOUT_SIZE]
    mean_left, end_left = lagged_speeds(state[3], v_left, motor_lag)
    mean_right, end_right = lagged_speeds(state[4], v_right, motor_lag)
    slip, turn = vector[sim.LAYOUT_SIZE + 1], vector[sim.LAYOUT_SIZE + 2]
    pose = drive(state[:3], mean_left, mean_right, slip, turn)
    readings = sensor_readings(pose, vector, ir_noise)
    return torch.cat([pose, torch.stack([end_left, end_right])]), readings
