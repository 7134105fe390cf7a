"""Case study 2: an e-puck robot infers its own sensor layout (``sensor-self-id``).

Modules: :mod:`~turing.envs.epuck.constants` (the world's numbers, shared by both
simulators), :mod:`~turing.envs.epuck.sim` (the batched torch simulator used for training),
:mod:`~turing.envs.epuck.system` (the System: parameters, genuine layouts, passive
controller, metrics), :mod:`~turing.envs.epuck.layout_plot` (figures), and the PyBullet
world, Gymnasium env and replay scene built on the same constants.
"""

from turing.envs.epuck.system import SensorSelfId, parse_layout

__all__ = ["SensorSelfId", "parse_layout"]
