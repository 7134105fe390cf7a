"""The trial engine's versions, and which run folders of earlier ones continue.

A run folder records the engine that wrote it (``config.json``'s ``engine``). A folder of
an earlier engine is continued only where this engine computes exactly what that one did,
so that a resumed run's rows are the rows it would have written; otherwise it is refused in
one line.

* Engine 2 (turing-learning 0.2): counter-based streams.
* Engine 3: interrogators read observations scaled by the declared bounds
  (:mod:`turing.engine.scaling`).
* Engine 4: native kernels are generated from the systems' torch methods
  (:mod:`turing.engine.fused`). They are bit-identical to engine 3's hand-written kernels of
  the built-in systems (``tests/data/engine3_native.npz``), so native runs continue; case
  study 2's and the swarm's torch simulators now round like those kernels (the rays'
  directions by angle sums, divisions where they multiplied by a reciprocal), so their
  ``eager`` and ``compiled`` runs of engine 3 do not; nor do native runs of the calibrated
  e-puck (``calibrate=true``), whose kernel is now generated from
  ``envs/epuck/calibration.py`` (engine 3's hand-written ``#if CALIBRATE`` blocks differed
  from it by float rounding in about one trial in ten).
"""

from __future__ import annotations

ENGINE_VERSION = 4
"""Recorded in every run folder."""

CONTINUED = (2, 3)
"""Earlier engines whose folders may continue (see :func:`torch_changed`)."""

_REROUNDED = (
    ("turing.envs.epuck.system", "SensorSelfId"),
    ("turing.envs.swarm.system", "SwarmAggregation"),
)
"""Systems whose torch simulators engine 4 computes with other roundings (by name: the
engine does not import the systems)."""


def torch_changed(stored_engine: int, system, backend: str) -> str:
    """Why engine ``stored_engine``'s run of ``system`` on ``backend`` would continue with
    other results here, or ``""`` if it continues exactly."""
    if stored_engine >= 4:
        return ""
    epuck = any((c.__module__, c.__name__) == _REROUNDED[0] for c in type(system).__mro__)
    if backend == "native" and epuck and getattr(system, "calibrate", False):
        return (
            f"whose native calibrated {system.name} kernel was hand-written (engine "
            f"{ENGINE_VERSION} generates it from the calibrated torch simulator)"
        )
    if backend not in ("eager", "compiled"):
        return ""
    for cls in type(system).__mro__:
        if (cls.__module__, cls.__name__) in _REROUNDED:
            return (
                f"whose {backend} {system.name} simulator rounded some operations otherwise "
                f"than engine {ENGINE_VERSION}'s (which computes as the native kernel does)"
            )
    return ""
