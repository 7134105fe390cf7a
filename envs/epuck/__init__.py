"""Case study 2: an e-puck robot infers its own sensor layout (``sensor-self-id``).

Modules: :mod:`~turing.envs.epuck.constants` (the world's numbers, shared by both
simulators), :mod:`~turing.envs.epuck.sim` (the batched torch simulator used for training),
:mod:`~turing.envs.epuck.system` (the System: parameters, genuine layouts, passive
controller, metrics), :mod:`~turing.envs.epuck.layout_plot` (figures), and the PyBullet
world, Gymnasium env and replay scene built on the same constants. The physical robot of
the reality-gap study, ``turing/EpuckBullet-v0`` (:mod:`~turing.envs.epuck.physics`,
:mod:`~turing.envs.epuck.infrared`, :mod:`~turing.envs.epuck.physics_env`), is registered
here too.
"""

from turing.envs.epuck import physics_env as _physics_env
from turing.envs.epuck.system import SensorSelfId, parse_layout

_physics_env.register()

__all__ = ["SensorSelfId", "parse_layout"]
