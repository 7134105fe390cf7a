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
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import turing
from turing.cli.common import assignments
from turing.reports import experiment as E

SYSTEM = "agent-inference"
PAPER_METHODS = ("interrogate", "passive")
EXTENDED_METHODS = ("passive-io", "metric")
COSTLY_METHODS = ("gan", "gan-interrogate", "sbi")
PARAMETERS = ("a", "b", "delta", "p")
# The targets at the paper's budget (top-10 median estimate, median over 10 seeds).
TARGETS = {"a": 0.02, "b": 0.02, "delta": 0.02, "p": 0.08}


@dataclass
class Args:
    """Case study 1: Turing Learning against the passive baseline and the extended
    baselines, on a light-responsive agent."""

    seeds: int = 5
    """seeds per method (first-seed .. first-seed + seeds - 1)"""
    first_seed: int = 0
    """the first seed"""
    generations: int = 150
    """generations per run"""
    paper: bool = False
    """the paper's budget: 10 seeds x 1000 generations (overrides --seeds and --generations)"""
    extended: bool = True
    """add passive-io and metric to the paper's two methods"""
    all_methods: bool = False
    """also gan, gan-interrogate and sbi (when installed)"""
    methods: tuple[str, ...] = ()
    """run exactly these methods instead"""
    models: int = 100
    """model population size"""
    interrogators: int = 100
    """interrogator population size"""
    steps: int | None = None
    """observations per trial (default: the system's, 100)"""
    true_params: str = ""
    """genuine values that differ from the spec's, e.g. a=0.6,p=0.35"""
    c2st_trials: int = 1000
    """trials per class of the C2ST judge of each run; 0 skips it"""
    workers: int = 0
    """runs at once (0: one per CPU core)"""
    executor: Literal["local", "ray"] = "local"
    """worker processes on this machine, or Ray tasks"""
    address: str | None = None
    """Ray cluster address (default: a local Ray)"""
    device: str = "cpu"
    """torch device of every run"""
    out: str = ""
    """report folder (default: reports/case-study-1/<budget>)"""
    publish: bool = False
    """copy the report and its figures to docs/results/case-study-1/"""
    quiet: bool = False
    """no progress display"""


def run(args: Args | None = None, **changes) -> Path:
    """Runs (or continues) the comparison and writes the report; returns its folder."""
    args = dataclasses.replace(args or Args(), **changes)
    seeds, generations = (10, 1000) if args.paper else (args.seeds, args.generations)
    wanted = list(args.methods) or [
        *PAPER_METHODS,
        *(EXTENDED_METHODS if args.extended or args.all_methods else ()),
        *(COSTLY_METHODS if args.all_methods else ()),
    ]
    methods = E.choose_methods(SYSTEM, wanted)
    folder = Path(
        args.out or f"reports/case-study-1/{'paper' if args.paper else f's{seeds}-g{generations}'}"
    )

    # Every random number of every run derives from that run's seed: the comparison is
    # reproducible from this file, its arguments and the library version.
    finished = E.run_comparison(
        SYSTEM,
        methods=methods,
        seeds=range(args.first_seed, args.first_seed + seeds),
        out=folder,
        generations=generations,
        models=args.models,
        interrogators=args.interrogators,
        steps=args.steps,
        true_params=assignments(args.true_params, "--true-params"),
        c2st_trials=args.c2st_trials,
        device=args.device,
        executor=args.executor,
        workers=args.workers,
        address=args.address,
        progress=not args.quiet,
    )
    paper = E.sub_summary(
        finished, PAPER_METHODS, "paper", f"{finished.comparison.title()} (the paper's comparison)"
    )
    write_report(folder, finished, paper, args, generations)
    if args.publish:
        E.publish(folder, Path("docs/results/case-study-1"))
    print(finished.summary.table("top10_median"))
    print(f"\nreport: {folder / 'report.md'}")
    return folder


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
    if summary.failures:
        lines += ["", "Failed runs: " + "; ".join(f"{k}: {v}" for k, v in summary.failures.items())]
    (folder / "report.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    try:
        import tyro
    except ImportError:
        sys.exit('this script\'s command line needs tyro: pip install -e ".[experiments]"')
    try:
        run(tyro.cli(Args))
    except turing.UserError as exc:
        sys.exit(f"case_study_1.py: {exc}")
