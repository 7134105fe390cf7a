"""How systems get in and how the outside world sees them.

- :mod:`turing.integrations.registry`: the registry of systems (names, Gymnasium ids,
  factories, contract checks);
- :mod:`turing.integrations.plugins`: systems from installed packages (entry points) and
  from modules named on the command line;
- :mod:`turing.integrations.gym_envs`: the Gymnasium view of any system's simulator (one
  trial, or a batched vector env);
- :mod:`turing.integrations.turing_test_env`: ``turing/TuringTest-v0``, a Turing test of any
  system for interrogators trained by reinforcement learning.
"""
