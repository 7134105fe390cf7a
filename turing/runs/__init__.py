"""One run: its folder, its loop, its result.

- :mod:`turing.runs.rundir`: the run folder (config, metrics, checkpoints, atomic writes,
  the writer's lock);
- :mod:`turing.runs.runner`: :class:`Runner`, the loop around any method (metrics rows,
  checkpoints, resuming, estimates, result);
- :mod:`turing.runs.lockstep`: several runs advanced together, their trials as one batch;
- :mod:`turing.runs.result`: :class:`Result`, a finished run read back from its folder;
- :mod:`turing.runs.api`: :func:`learn`, :func:`resume`, :func:`load`.
"""
