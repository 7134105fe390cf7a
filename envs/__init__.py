"""The built-in systems, registered through the public API like any plugin.

Installed as ``turing.envs``; importing :mod:`turing` registers them.
"""

from turing.envs.agent import AgentInference

__all__ = ["AgentInference"]
