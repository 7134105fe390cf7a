"""The built-in systems, registered through the public API like any plugin.

Installed as ``turing.envs``; importing :mod:`turing` registers them.
"""

from turing.envs.agent_inference import AgentInference
from turing.envs.epuck import SensorSelfId
from turing.envs.pendulum import Pendulum
from turing.envs.range_sensor import RangeSensorId
from turing.envs.swarm import SwarmAggregation

__all__ = ["AgentInference", "Pendulum", "RangeSensorId", "SensorSelfId", "SwarmAggregation"]
