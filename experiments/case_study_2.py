"""Case study 2 of Gross, Gu, Li, Gauci (NIPS 2017): an e-puck robot infers its own sensor
configuration (``sensor-self-id``, spec: ``docs/specs/case-study-2-sensors.md``).

The robot's 8 infrared sensors (an angle and a radius each, 16 parameters) are inferred by
models coevolving with interrogators that drive the robot's wheels and read its sensors
(``interrogate``, Turing Learning), against discriminators that only watch the robot run
its own obstacle avoidance (``passive``, the GAN-like setting). The extended comparison
adds, on the same seeds and budget:

* ``metric``: the same evolution strategy minimising the mean squared error of the
  readings under the robot's own controller (a hand-made metric);
* ``gan``: adversarial variational optimisation with a gradient-trained recurrent
  discriminator under the passive input;
* ``passive-io``, ``gan-interrogate``, ``sbi`` with ``--all-methods`` (``sbi`` needs its
  extra).

Headline numbers: the mean angle error (degrees) and mean radius error (cm) over the 8
sensors, and the C2ST of the inferred robot against the genuine one; every parameter's
error is in ``summary.csv``. Every (method, seed) run is an ordinary run folder of
``turing.Comparison``: running the same command again continues an interrupted report.

Budgets. A generation of the paper's 100 models x 100 interrogators is 20,000 trials of
100 control steps; on a 2-core laptop that is tens of seconds, so the default shrinks the
populations rather than the number of generations:

* default: 3 seeds x 80 generations of 20 models x 20 interrogators (800 trials per
  generation), interrogate, passive, metric and gan, 12 runs: 21.4 min measured with 2
  workers on a 2-core machine that other jobs kept busy (load average 4-7). At this
  budget no method has inferred the layout yet (mean angle errors of 50-100 degrees), and
  with 3 seeds per method the smallest two-sided Mann-Whitney p-value is 0.1: it shows
  the pipeline, not the paper's result.
* ``--paper``: 1000 generations of 100 x 100 (the paper's budget); for a GPU
  (``--device cuda``) or a Ray cluster.

Usage (``pip install -e ".[experiments]"`` for the command line)::

    python experiments/case_study_2.py                      # laptop budget, all cores
    python experiments/case_study_2.py --paper --seeds 5 --device cuda
    python experiments/case_study_2.py --paper --executor ray --address auto

Writes ``reports/case-study-2/<budget>/``: ``report.md`` (tables, p-values, figures),
``paper/`` (interrogate vs passive alone), the full comparison's ``summary.md``,
``summary.csv``, ``cells.csv``, ``plots/`` and every run under ``runs/<method>/seed-<k>/``
(each with the inferred sensor layout drawn over the genuine one in ``plots/layout.png``).
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

SYSTEM = "sensor-self-id"
PAPER_METHODS = ("interrogate", "passive")
EXTENDED_METHODS = ("metric", "gan")
OPTIONAL_METHODS = ("passive-io", "gan-interrogate", "sbi")
PAPER_GENERATIONS = 1000
PAPER_POPULATION = 100
HEADLINE = ("mean_angle_error_deg", "mean_radius_error_cm")


@dataclass
class Args:
    """Case study 2: an e-puck infers its own infrared sensor layout; Turing Learning against
    the passive baseline and the extended baselines."""

    seeds: int = 3
    """seeds per method (seeds first-seed .. first-seed + seeds - 1)"""
    first_seed: int = 0
    """the first seed"""
    generations: int = 80
    """generations per run (iterations of equal simulation cost for the gradient methods)"""
    paper: bool = False
    """the paper's budget: 1000 generations of 100 models x 100 interrogators (overrides
    --generations, --models and --interrogators)"""
    extended: bool = True
    """add the metric and gan baselines to the paper's two methods"""
    all_methods: bool = False
    """also passive-io, gan-interrogate and sbi (when installed)"""
    methods: tuple[str, ...] = ()
    """run exactly these methods instead (e.g. --methods interrogate metric)"""
    models: int = 20
    """model population size (the paper's: 100)"""
    interrogators: int = 20
    """interrogator population size (the paper's: 100)"""
    steps: int | None = None
    """control steps per trial (default: the system's, 100)"""
    true_params: str = ""
    """genuine sensors that differ from the real e-puck's, e.g. theta_0=-0.5,r_0=3.0"""
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
    """report folder (default: reports/case-study-2/<budget>)"""
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
        wanted += OPTIONAL_METHODS
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
    budget = f"s{args.seeds}-g{generations}-p{args.models}x{args.interrogators}"
    return Path("reports") / "case-study-2" / f"{budget}-{scope}"


def run(args: Args | None = None, **changes) -> Path:
    """Runs (or continues) the comparison and writes the report; returns its folder.

    Args:
        args: the configuration (default: the defaults).
        **changes: fields of :class:`Args` to change, e.g. ``run(seeds=1, generations=2)``.

    Returns:
        the report folder.
    """
    args = dataclasses.replace(args or Args(), **changes)
    if args.paper:
        args = dataclasses.replace(args, models=PAPER_POPULATION, interrogators=PAPER_POPULATION)
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
    print(summary.headline([*HEADLINE, "c2st"]))
    print(f"\nreport: {folder / 'report.md'}")
    return folder


def write_report(folder: Path, args: Args, comparison, summary, paper, seconds: float) -> None:
    """``report.md``: what ran, the paper's table, the extended table, figures."""
    headline = [*HEADLINE, "c2st"]
    errors = [f"abs_error_{p}" for p in summary.parameters]
    lines = [
        f"# Case study 2: {comparison.title()}",
        "",
        f"Generated by `experiments/case_study_2.py` in {seconds / 60:.1f} min on "
        f"{platform.node()} ({os.cpu_count()} CPU cores, {args.executor} executor, "
        f"{args.device}, torch {torch.__version__}, turing-learning {turing.__version__}). "
        f"{args.models} models x {args.interrogators} interrogators.",
        "",
        "Mean angle error (degrees) and mean radius error (cm) over the 8 sensors, C2ST of "
        "the inferred robot (0.5: indistinguishable from the genuine one under random wheel "
        "commands); median [25th, 75th percentile] over seeds; p: two-sided Mann-Whitney U "
        "test of `interrogate` against the method.",
        "",
        "## The paper's comparison: interrogation vs passive observation",
        "",
        "Best model of the last generation:",
        "",
        paper.headline(headline),
        "",
        "Per-parameter median of the best model over the last 50 generations (steadier):",
        "",
        paper.headline(HEADLINE, "last50_median"),
        "",
        "## Extended comparison",
        "",
        summary.headline(headline),
        "",
        "Last-50 median:",
        "",
        summary.headline(HEADLINE, "last50_median"),
        "",
        "Cost per run (wall time in seconds on one core, simulated trial-steps):",
        "",
        summary.headline(["wall_seconds", "simulated_steps"], estimate=""),
        "",
        "![box plots](plots/box_best.png)",
        "",
        "![convergence](plots/convergence_best.png)",
        "",
        "## Every parameter (best model)",
        "",
        summary.headline(errors),
        "",
        "All numbers are in `summary.csv` (all methods) and `paper/summary.csv`; every run's "
        "in `cells.csv` and `runs/` (each run's `plots/layout.png` draws its inferred layout "
        "over the genuine one).",
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
        sys.exit(f"case_study_2: error: {exc}")
