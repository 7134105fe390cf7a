"""Case study 2's hand-written C kernel of engine 3 (``epuck_kernel_engine3.c``, deleted from
``envs/epuck`` when the generated kernel replaced it), kept here only as the yardstick the
generated kernel is timed against (``paths.py sensor-self-id``)."""

from __future__ import annotations

import math
from pathlib import Path

from turing.engine.native import NativeKernel
from turing.envs.epuck import constants as C
from turing.envs.epuck import sim
from turing.envs.epuck.system import SensorSelfId

HERE = Path(__file__).resolve().parent


def kernel_constants() -> tuple[tuple[str, float], ...]:
    """The constants of ``kernel.c`` (compiled in as definitions), from the values this module
    computes with, so that the native kernel and this simulator cannot drift apart."""
    low, high = C.WHEEL_NOISE
    return (
        ("ARENA_SIZE", C.ARENA_SIZE),
        ("BODY_LOW", sim._LOW),
        ("BODY_HIGH", sim._HIGH),
        ("GRID0", sim._GRID[0]),
        ("GRID1", sim._GRID[1]),
        ("GRID2", sim._GRID[2]),
        ("GRID_MID0", sim._GRID_MIDPOINTS[0]),
        ("GRID_MID1", sim._GRID_MIDPOINTS[1]),
        ("GRID_SPACING", sim._SPACING),
        ("GRID_EDGE_LOW", sim._GRID[0] - 0.5 * sim._SPACING),
        ("GRID_EDGE_HIGH", sim._GRID[-1] + 0.5 * sim._SPACING),
        ("CYLINDER_RADIUS2", C.CYLINDER_RADIUS**2),
        ("MIN_CYLINDER_DISTANCE", sim.MIN_CYLINDER_DISTANCE),
        ("MIN_CYLINDER_DISTANCE2", sim.MIN_CYLINDER_DISTANCE**2),
        ("MAX_WHEEL_SPEED", C.MAX_WHEEL_SPEED),
        ("WHEEL_NOISE_LOW", low),
        ("WHEEL_NOISE_SPAN", high - low),
        ("SUBSTEP", sim.SUBSTEP),
        ("SUBSTEPS", int(C.SUBSTEPS)),
        ("TURN_PER_SPEED", sim.SUBSTEP / C.WHEEL_BASE),
        ("PI_F", math.pi),
        ("TWO_PI_F", 2 * math.pi),
        ("RAY_RANGE", C.RAY_RANGE),
        ("HALF_RANGE", 0.5 * C.RAY_RANGE),
        ("COS_OFFSET", sim._COS_OFFSET),
        ("SIN_OFFSET", sim._SIN_OFFSET),
        ("INV_COS_OFFSET", 1.0 / sim._COS_OFFSET),
        ("IR_K", sim._IR_K),
        ("IR_X0", C.IR_X0),
        ("IR_C", C.IR_C),
        ("IR_M", C.IR_M),
        ("IR_MAX", C.IR_MAX),
        ("INV_NORMALISER", 1.0 / C.IR_NORMALISER),
        ("IR_NOISE_STD", C.IR_NOISE_STD),
    )


class HandWrittenEpuck(SensorSelfId):
    """``sensor-self-id`` (uncalibrated) simulated by engine 3's hand-written kernel."""

    def native_kernel(self, steps: int) -> NativeKernel:
        return NativeKernel(
            HERE / "epuck_kernel_engine3.c", (float(self.noise),), kernel_constants()
        )
