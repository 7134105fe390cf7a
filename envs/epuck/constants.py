"""The e-puck world of case study 2, in one place: arena, cylinders, body, wheels, sensors.

Both simulators (the batched torch simulator used for training and the PyBullet world used
by the Gymnasium env, the GUI and videos) build the world from these constants, so they
cannot drift apart. Units: cm, s, rad (PyBullet takes metres: multiply by ``METRES_PER_CM``).
Values from ``docs/specs/case-study-2-sensors.md`` (read from the authors' Enki-based
code and Enki's e-puck model).
"""

from __future__ import annotations

import math

METRES_PER_CM = 0.01

# ----------------------------------------------------------------------------- arena
ARENA_SIZE = 50.0
"""Square arena with walls on its four sides, corners (0, 0) and (50, 50)."""

CYLINDER_RADIUS = 1.85
CYLINDER_HEIGHT = 10.0
CYLINDER_GRID: tuple[float, ...] = (12.5, 25.0, 37.5)
"""Coordinates of the cylinder grid lines (the same along x and y)."""
CYLINDER_CENTRES: tuple[tuple[float, float], ...] = tuple(
    (x, y) for x in CYLINDER_GRID for y in CYLINDER_GRID
)
"""Nine static cylinders on a 3 x 3 grid."""

WALL_HEIGHT = 10.0
"""Height of the arena walls (for drawing and PyBullet; the 2-D model ignores it)."""

# ----------------------------------------------------------------------------- body
BODY_RADIUS = 3.7
BODY_HEIGHT = 4.7
BODY_MASS_KG = 0.152
WHEEL_BASE = 5.1
MAX_WHEEL_SPEED = 12.8
"""Wheel speed limit, cm/s."""

CONTROL_STEP = 0.1
"""Seconds per control step."""
SUBSTEPS = 10
"""Integration substeps per control step (0.01 s each)."""
WHEEL_NOISE = (0.95, 1.05)
"""Each wheel command is multiplied by U[0.95, 1.05) once per control step and wheel."""

TRIAL_STEPS = 100
"""Control steps per trial (10 s)."""

# ----------------------------------------------------------------------------- sensors
N_SENSORS = 8
SENSOR_HEIGHT = 2.5
SENSOR_POSITIONS: tuple[tuple[float, float], ...] = (
    (3.35, -1.05),
    (2.30, -2.60),
    (0.00, -3.30),
    (-3.00, -1.80),
    (-3.00, 1.80),
    (0.00, 3.30),
    (2.30, 2.60),
    (3.35, 1.05),
)
"""Body-frame positions p_i of the genuine e-puck's sensors (cm; x forward, y left)."""

SENSOR_FACINGS_DEG: tuple[float, ...] = (-18.0, -45.0, -90.0, -142.0, 142.0, 90.0, 45.0, 18.0)
"""Body-frame facing directions phi_i of the genuine sensors (0 = forward, CCW positive)."""

SENSOR_FACINGS = tuple(math.radians(d) for d in SENSOR_FACINGS_DEG)

REFERENCE_ANGLES = SENSOR_FACINGS
"""theta*_i = phi_i: what inferred sensor angles are compared with."""
REFERENCE_RADII = tuple(math.hypot(x, y) for x, y in SENSOR_POSITIONS)
"""r*_i = |p_i|: what inferred sensor radii are compared with."""

RAY_OFFSETS = (-math.radians(15.0), 0.0, math.radians(15.0))
"""Each sensor casts three rays: phi - 15 deg, phi, phi + 15 deg."""
RAY_RANGE = 12.0

# IR response of one ray at distance x (cm):
#   F(x) = m                                   for x < x0
#   F(x) = m (c - x0^2) / (x^2 - 2 x0 x + c)   for x0 <= x <= RAY_RANGE
#   F(x) = 0                                   beyond
IR_M = 3731.0
IR_X0 = 0.3
IR_C = 0.7
IR_NOISE_STD = 10.0
IR_MAX = 3731.0
"""Raw readings are clipped to [0, IR_MAX]."""
IR_NORMALISER = 3000.0
"""What an interrogator observes: s_i = min(1, raw_i / IR_NORMALISER)."""

MODEL_RADIUS_MIN = 0.01
"""Lower bound of a model sensor's radius (the spec's (0, 3.7] with the original code's
start value as the bound)."""


def ir_response(x: float) -> float:
    """F(x) of one ray (scalar reference implementation, for tests and drawing)."""
    if not math.isfinite(x) or x > RAY_RANGE:
        return 0.0
    if x < IR_X0:
        return IR_M
    return IR_M * (IR_C - IR_X0**2) / (x * x - 2 * IR_X0 * x + IR_C)
