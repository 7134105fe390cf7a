"""Case study 1: a light-responsive agent (``agent-inference``): the system
(:mod:`.system`) and its replay scene (:mod:`.replay`)."""

from turing.envs.agent_inference.system import AgentInference

__all__ = ["AgentInference"]
