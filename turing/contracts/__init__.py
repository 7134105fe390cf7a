"""The contracts: what a system must provide, how a run is configured, where randomness
comes from.

- :mod:`turing.contracts.system`: :class:`Parameter`, :class:`Truth` and :class:`System`,
  the simulator contract every system implements;
- :mod:`turing.contracts.presentation`: the optional hooks that summarise and show a
  system's results (metrics, figures, replay scene);
- :mod:`turing.contracts.config`: :class:`RunConfig`, everything that determines a run's
  result, each option declared once with its description;
- :mod:`turing.contracts.seeding`: named numpy and torch generators derived from a run's
  root seed (the populations' streams; trials draw from :mod:`turing.engine.random`).
"""
