"""Comparisons: grids of runs (methods x seeds) of one system, run in parallel.

- :mod:`turing.comparisons.cells`: a comparison's cells and its stored definition;
- :mod:`turing.comparisons.comparison`: :class:`Comparison` (create, run, summarise) and
  :func:`compare_methods`;
- :mod:`turing.comparisons.executors`: where cells run (inline, worker processes, batches
  in lockstep), :mod:`turing.comparisons.ray_executor` (Ray tasks) and
  :mod:`turing.comparisons.monitor` (progress and ``log.csv``).
"""
