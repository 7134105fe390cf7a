"""Population members: interrogator networks, model genomes and passive inputs.

Installed as ``turing.agents``.
"""

from turing.agents.interrogators import ElmanShape, ElmanTrials, InterrogatorPopulation
from turing.agents.models import ModelPopulation
from turing.agents.schedules import held_levels, held_levels_at

__all__ = [
    "ElmanShape",
    "ElmanTrials",
    "InterrogatorPopulation",
    "ModelPopulation",
    "held_levels",
    "held_levels_at",
]
