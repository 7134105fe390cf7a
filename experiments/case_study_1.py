"""Case study 1 of Gross, Gu, Li, Gauci (NIPS 2017): infer an agent's behaviour while
controlling its environment (``agent-inference``, spec: ``docs/specs/case-study-1-agent.md``).

Turing Learning (``interrogate``: models coevolve with interrogators that set the light and
judge) against the GAN-like baseline (``passive``: discriminators watch the agent under its
natural light), on the same seeds and budget, plus ``passive-io`` (the discriminator also
sees the light) and ``metric`` (the same ES minimising a squared error). ``--all-methods``
adds the gradient-trained ``gan``, ``gan-interrogate`` and ``sbi`` (an order of magnitude
dearer per generation).

Budgets:

* default: 5 seeds x 150 generations at the paper's sizes (100 x 100); about 15 minutes
  with 2 workers on 2 cores;
* ``--paper``: the paper's budget, 10 seeds x 1000 generations (40 runs; about 70 minutes
  with one worker on a loaded 2-core machine). Its report is committed under
  ``docs/results/case-study-1/`` (``--publish``).

Every (method, seed) run is an ordinary run folder of a ``turing.Comparison``: the same
command again continues an interrupted report. Usage (``pip install -e ".[experiments]"``)::

    python experiments/case_study_1.py
    python experiments/case_study_1.py --paper --workers 1 --publish
    python experiments/case_study_1.py --paper --executor ray --address auto

Writes ``reports/case-study-1/<budget>/``: ``report.md`` (tables with Holm-corrected
p-values and effect sizes, targets, figures), ``paper/`` (interrogate vs passive alone),
``summary.md``, ``summary.csv``, ``cells.csv``, ``plots/`` and ``runs/<method>/seed-<k>/``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from turing.reports import experiment as E

SYSTEM = "agent-inference"
PAPER_METHODS = ("interrogate", "passive")
EXTENDED_METHODS = ("passive-io", "metric")
COSTLY_METHODS = ("gan", "gan-interrogate", "sbi")
PARAMETERS = ("a", "b", "delta", "p")
# The targets at the paper's budget (top-10 median estimate, median over 10 seeds).
TARGETS = {"a": 0.02, "b": 0.02, "delta": 0.02, "p": 0.08}


@dataclass
class Args(E.CaseStudyOptions):
    """Case study 1: Turing Learning against the passive baseline and the extended
    baselines, on a light-responsive agent."""


def run(args: Args | None = None, **changes) -> Path:
    """Runs (or continues) the comparison and writes the report; returns its folder."""
    args = dataclasses.replace(args or Args(), **changes)
    study = E.run_case_study(
        SYSTEM, args, paper=PAPER_METHODS, extended=EXTENDED_METHODS, more=COSTLY_METHODS,
        root="reports/case-study-1",
    )  # fmt: skip
    write_report(study.folder, study.finished, study.paper, args, study.generations)
    return E.conclude(study.finished, "case-study-1" if args.publish else None)


def write_report(folder: Path, finished: E.Finished, paper, args: Args, generations: int) -> None:
    """``report.md``: what ran, the targets, the paper's comparison, the extended one."""
    summary = finished.summary
    errors = [f"abs_error_{p}" for p in PARAMETERS]
    estimate = "top10_median"
    interrogate = {
        p: E.median_value(summary, "interrogate", f"abs_error_{p}", estimate) for p in PARAMETERS
    }
    significant = [
        p for p in PARAMETERS if E.holm_p(summary, "passive", f"abs_error_{p}", estimate) < 0.01
    ]
    targets = [
        (f"`interrogate` top-10-median error of {p}", f"{interrogate[p]:.4f}", f"<= {TARGETS[p]}",
         interrogate[p] <= TARGETS[p])
        for p in PARAMETERS
    ]  # fmt: skip
    targets.append(
        ("parameters where `interrogate` beats `passive` (Holm p < 0.01)",
         ", ".join(significant) or "none", ">= 2", len(significant) >= 2)
    )  # fmt: skip
    settings = (
        f"{len(finished.comparison.seeds)} seeds x {generations} generations of {args.models} "
        f"models x {args.interrogators} interrogators."
    )
    lines = [
        f"# Case study 1: {finished.comparison.title()}",
        "",
        *E.header("experiments/case_study_1.py", finished, settings),
        "",
        E.statistics_note(),
        "",
        "## Targets (top-10 median estimate)",
        "",
        E.targets_table(targets),
        "",
        "## The paper's comparison: interrogation vs passive observation",
        "",
    ]
    for est, label in (("top10_median", "Per-parameter median of the top 10 models of the last generation"),
                       ("best", "Best model of the last generation (what the paper reported)"),
                       ("last50_median", "Median of the best model over the last 50 generations")):  # fmt: skip
        lines += [f"{label}:", "", E.test_table(paper, errors, est), ""]
    lines += [
        "![paper: box plots](paper/plots/box_top10_median.png)",
        "",
        "![paper: convergence](paper/plots/convergence_top10_median.png)",
        "",
        "## Extended comparison",
        "",
        E.test_table(summary, [*errors, "c2st"], estimate),
        "",
        "Best estimate:",
        "",
        E.test_table(summary, [*errors, "c2st"], "best"),
        "",
        "Cost per run (wall time in seconds, simulated trial-steps):",
        "",
        summary.headline(["wall_seconds", "simulated_steps"], estimate=""),
        "",
        "![box plots](plots/box_top10_median.png)",
        "",
        "![convergence](plots/convergence_top10_median.png)",
        "",
        "Every number is in `summary.csv` (all methods) and `paper/summary.csv`; every run's in "
        "`cells.csv`.",
    ]
    E.write_markdown(folder, lines, summary)


if __name__ == "__main__":
    E.main(run, Args, "case_study_1.py")
