"""Case study 1 of Gross, Gu, Li, Gauci (NIPS 2017): infer an agent's behaviour while
controlling its environment (``agent-inference``, spec: ``docs/specs/case-study-1-agent.md``).

The paper's claim: models inferred by interrogators that *choose* the light the agent
sees (``interrogate``, Turing Learning) are more accurate than models inferred by
discriminators that only watch it under its natural light (``passive``, the GAN-like
setting). This script reproduces that comparison and extends it with the baselines a
reviewer asks for next, all on the same system, seeds and budget:

* ``passive-io``: the discriminator also sees the light (knowing the input vs choosing it);
* ``metric``: the same evolution strategy minimising a hand-made error metric (the mean
  squared error of the speeds under the natural light), biased because the agent's
  switching is random;
* with ``--all-methods``: ``gan`` / ``gan-interrogate`` (adversarial variational
  optimisation with a gradient-trained recurrent discriminator, passive or choosing the
  light itself) and ``sbi`` (neural posterior estimation, with the ``sbi`` extra). At equal
  simulation budget they cost about 15x the time per generation of the evolutionary methods.

Every (method, seed) run is an ordinary run folder of ``turing.Comparison``; the script
only chooses the grid and writes the report. Running the same command again continues an
interrupted report: finished runs are kept, unfinished ones resume from their checkpoints
(the report folder is named after the budget, not the time, for that reason).

Budgets (generations of 100 models x 100 interrogators, 20,000 trials of 100 steps each):

* default: 5 seeds x 150 generations of interrogate, passive, passive-io and metric, 20
  runs: 12.0 min measured with 2 workers on a 2-core machine that other jobs kept busy
  (load average 5-8), so under half an hour on a laptop.
* ``--paper``: 5 seeds x 1000 generations (the paper's budget): about 7x the default.
* ``--all-methods``: adds gan, gan-interrogate (about 15x interrogate's time per
  generation at the same simulation budget) and sbi.
* ``--no-extended``: only the paper's two methods.

Usage (``pip install -e ".[experiments]"`` for the command line)::

    python experiments/case_study_1.py                  # laptop budget, all cores
    python experiments/case_study_1.py --paper --workers 16
    python experiments/case_study_1.py --paper --executor ray --address auto

Writes ``reports/case-study-1/<budget>/``: ``report.md`` (both tables, p-values, figures),
``paper/`` (the paper's two methods alone: summary.md, summary.csv, plots/), the full
comparison's ``summary.md``, ``summary.csv``, ``cells.csv``, ``plots/`` and every run under
``runs/<method>/seed-<k>/``.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

import turing
from turing.cli.common import assignments
from turing.reports.summary import summarise_results
from turing.reports.summary_files import write_summary
from turing.runs.result import Result

SYSTEM = "agent-inference"
PAPER_METHODS = ("interrogate", "passive")
EXTENDED_METHODS = ("passive-io", "metric")
# An order of magnitude dearer per generation than the evolutionary methods (measured:
# gan ~6.5 s, gan-interrogate ~5.5 s, sbi minutes, interrogate ~0.4 s, on one loaded core).
COSTLY_METHODS = ("gan", "gan-interrogate", "sbi")
PAPER_GENERATIONS = 1000
# docs/specs/case-study-1-agent.md: the prototype's absolute errors of the best model, median
# over 5 seeds x 300 generations, for orientation (not targets).
PROTOTYPE = {
    "interrogate": (0.003, 0.015, 0.008, 0.089),
    "passive": (0.049, 0.037, 0.132, 0.596),
    "metric": (0.083, 0.092, 0.015, 0.196),
}


@dataclass
class Args:
    """Case study 1: Turing Learning against the passive baseline and the extended baselines,
    on a light-responsive agent."""

    seeds: int = 5
    """seeds per method (seeds first-seed .. first-seed + seeds - 1)"""
    first_seed: int = 0
    """the first seed"""
    generations: int = 150
    """generations per run (iterations of equal simulation cost for the gradient methods)"""
    paper: bool = False
    """the paper's budget: 1000 generations (overrides --generations)"""
    extended: bool = True
    """add the cheap baselines beyond the paper (passive-io, metric)"""
    all_methods: bool = False
    """also gan, gan-interrogate and sbi (when installed): about 15x the time per generation"""
    methods: tuple[str, ...] = ()
    """run exactly these methods instead (e.g. --methods interrogate metric)"""
    models: int = 100
    """model population size"""
    interrogators: int = 100
    """interrogator population size"""
    steps: int | None = None
    """steps per trial (default: the system's, 100)"""
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
    quiet: bool = False
    """no progress display"""


def choose_methods(args: Args) -> list[str]:
    """The paper's methods, plus the extended ones this installation supports."""
    if args.methods:
        return list(args.methods)
    wanted = list(PAPER_METHODS)
    if args.extended or args.all_methods:
        wanted += EXTENDED_METHODS
    if args.all_methods:
        wanted += COSTLY_METHODS
    system = turing.make_system(SYSTEM)
    methods = []
    for method in wanted:
        try:  # sbi needs an optional extra: leave it out, and say so, when missing
            turing.get_method(method).check_supported(system, method)
        except (turing.UserError, turing.SystemContractError) as exc:
            print(f"leaving out {method}: {exc}", file=sys.stderr)
            continue
        methods.append(method)
    return methods


def report_folder(args: Args, generations: int, methods: list[str]) -> Path:
    if args.out:
        return Path(args.out)
    scope = "paper-methods" if methods == list(PAPER_METHODS) else f"{len(methods)}-methods"
    return Path("reports") / "case-study-1" / f"s{args.seeds}-g{generations}-{scope}"


def run(args: Args | None = None, **changes) -> Path:
    """Runs (or continues) the comparison and writes the report; returns its folder.

    Args:
        args: the configuration (default: the defaults).
        **changes: fields of :class:`Args` to change, e.g. ``run(seeds=1, generations=2)``.

    Returns:
        the report folder.
    """
    args = dataclasses.replace(args or Args(), **changes)
    generations = PAPER_GENERATIONS if args.paper else args.generations
    methods = choose_methods(args)
    folder = report_folder(args, generations, methods)
    start = time.perf_counter()

    # Every random number of every run derives from that run's seed (turing.contracts.seeding): the
    # comparison is reproducible from this file, its arguments and the library version.
    comparison = turing.Comparison.create(
        SYSTEM,
        methods=methods,
        seeds=list(range(args.first_seed, args.first_seed + args.seeds)),
        out=folder,
        generations=generations,
        models=args.models,
        interrogators=args.interrogators,
        steps=args.steps,
        true_params=assignments(args.true_params, "--true-params"),
        c2st_trials=args.c2st_trials,
        device=args.device,
    )
    summary = comparison.run(
        executor=args.executor,
        workers=args.workers or None,
        address=args.address,
        progress=not args.quiet,
    )
    seconds = time.perf_counter() - start

    # The paper's comparison on its own: same runs, two methods, own tests and figures.
    results = [Result.load(c.path) for c in comparison.cells() if c.status == "finished"]
    paper_methods = [m for m in PAPER_METHODS if m in methods]
    paper = summarise_results(
        results,
        methods=paper_methods,
        planned={m: len(comparison.seeds) for m in paper_methods},
        title=f"{comparison.title()} (the paper's comparison)",
    )
    write_summary(paper, folder / "paper", results)
    write_report(folder, args, comparison, summary, paper, seconds)
    print(summary.table())
    print(f"\nreport: {folder / 'report.md'}")
    return folder


def write_report(folder: Path, args: Args, comparison, summary, paper, seconds: float) -> None:
    """``report.md``: what ran, the paper's table, the extended table, figures."""
    errors = [f"abs_error_{p}" for p in summary.parameters]
    lines = [
        f"# Case study 1: {comparison.title()}",
        "",
        f"Generated by `experiments/case_study_1.py` in {seconds / 60:.1f} min on "
        f"{platform.node()} ({os.cpu_count()} CPU cores, {args.executor} executor, "
        f"torch {torch.__version__}, turing-learning {turing.__version__}). "
        f"{args.models} models x {args.interrogators} interrogators; genuine values "
        f"{summary_true_params(comparison)}.",
        "",
        "Absolute error of each parameter, median [25th, 75th percentile] over seeds; p: "
        "two-sided Mann-Whitney U test of `interrogate` against the method.",
        "",
        "## The paper's comparison: interrogation vs passive observation",
        "",
        "Best model of the last generation:",
        "",
        paper.headline(errors),
        "",
        "Per-parameter median of the best model over the last 50 generations (steadier):",
        "",
        paper.headline(errors, "last50_median"),
        "",
        "![paper](paper/plots/box_best.png)",
        "",
        "## Extended comparison",
        "",
        summary.headline(errors),
        "",
        "Last-50 median:",
        "",
        summary.headline(errors, "last50_median"),
        "",
        "Cost per run (wall time in seconds on one core, simulated trial-steps):",
        "",
        summary.headline(["wall_seconds", "simulated_steps"], estimate=""),
        "",
        "![box plots](plots/box_best.png)",
        "",
        "![convergence](plots/convergence_best.png)",
    ]
    if summary.recorded("c2st"):
        lines += [
            "",
            "C2ST of the best model (held-out accuracy of a classifier telling it from the "
            "genuine agent under random light; 0.5: indistinguishable):",
            "",
            summary.headline(["c2st"]),
        ]
    lines += [
        "",
        "## For orientation: the spec's prototype (5 seeds x 300 generations, best model)",
        "",
        "| method | a | b | delta | p |",
        "|---|---|---|---|---|",
        *[
            f"| `{m}` | " + " | ".join(f"{v:g}" for v in values) + " |"
            for m, values in PROTOTYPE.items()
        ],
        "",
        "Every table's numbers are in `summary.csv` (all methods) and `paper/summary.csv`; "
        "every run's in `cells.csv` and `runs/`.",
    ]
    if summary.failures:
        lines += ["", "Failed runs: " + "; ".join(f"{k}: {v}" for k, v in summary.failures.items())]
    (folder / "report.md").write_text("\n".join(lines) + "\n")


def summary_true_params(comparison) -> str:
    overrides = comparison.definition["run"]["true_params"]
    values = {p.name: p.genuine for p in turing.make_system(SYSTEM).parameters} | overrides
    return ", ".join(f"{k} = {v:g}" for k, v in values.items())


if __name__ == "__main__":
    try:
        import tyro
    except ImportError:
        sys.exit('this script\'s command line needs tyro: pip install -e ".[experiments]"')
    try:
        run(tyro.cli(Args))
    except turing.UserError as exc:
        sys.exit(f"case_study_1: error: {exc}")
