"""Reports: statistics, tables and figures of runs and comparisons, and the neutral judges.

- :mod:`turing.reports.statistics`: medians, quartiles, Mann-Whitney U, Holm correction,
  effect sizes;
- :mod:`turing.reports.summary`: a comparison's summary (``summary.csv``, ``summary.md``,
  ``cells.csv``) from its run folders alone; :mod:`turing.reports.figures` its box and
  convergence plots;
- :mod:`turing.reports.run_figures`: the figures of one run;
- :mod:`turing.reports.experiment`: what the case-study scripts share (report folders,
  tables against the paper);
- :mod:`turing.reports.c2st`: the classifier two-sample test of an inferred model;
- :mod:`turing.reports.bench`: speed figures of the trial engine's backends.
"""
