"""Case study 3: infer a robot swarm's aggregation controller (``swarm-aggregation``).

After Li, Gauci and Gross, "Turing learning: a metric-free approach to inferring behavior
and its application to swarms" (Swarm Intelligence 10(3), 2016). Modules:
:mod:`~turing.envs.swarm.sim` (the batched torch simulator, the definition),
``kernel.c`` (the same simulator as a native kernel), :mod:`~turing.envs.swarm.system`
(the System: parameters, mixed swarms, passive input, metrics, figures),
:mod:`~turing.envs.swarm.aggregation` (long runs of whole swarms and their dispersion),
:mod:`~turing.envs.swarm.draw` (2-D drawings), :mod:`~turing.envs.swarm.env` (the
Gymnasium env) and :mod:`~turing.envs.swarm.replay` (the replay scene). The spec is
``docs/specs/case-study-3-swarm.md``.
"""

from turing.envs.swarm.system import GENUINE, SwarmAggregation

__all__ = ["GENUINE", "SwarmAggregation"]
