"""Case study 3, after Li, Gauci and Gross (Swarm Intelligence 2016): infer the aggregation
controller of a robot swarm from one robot's motion (``swarm-aggregation``, spec:
``docs/specs/case-study-3-swarm.md``).

Each robot of a swarm of e-pucks reads one binary line-of-sight sensor and sets its wheels to
``(v_l0, v_r0)`` when it sees nothing and ``(v_l1, v_r1)`` when it sees another robot; the
genuine controller is Gauci et al.'s aggregation controller (-0.7, -1, 1, -1). A model trial
puts a replica running the model among genuine robots; the discriminator sees the replica's
(or, in a genuine trial, a genuine robot's) linear and angular speed. The paper's claim:
Turing Learning infers the four speeds, a metric (the squared error of the robot's speeds)
does not. This script runs, on the same seeds and budget:

* ``passive``: Turing Learning as in the paper (the classifiers only observe);
* ``metric``: the same evolution strategy minimising the mean squared error between the
  focal robot's speeds in a genuine swarm and in a mixed swarm from the same start;
* ``interrogate``: Turing Learning with interrogators that may override the focal robot's
  sensor (this platform's extension; the reference of the summary's p-values).

It writes the parameter-error box plots (the comparison's ``plots/box_*.png``), the paper's
comparison (``passive`` against ``metric``: medians and two-sided Mann-Whitney p-values),
and the swarms' aggregation: homogeneous swarms of each run's inferred controller (top-10
median), from the start conditions of swarms of the genuine controller, their dispersion
after the trial's 10 s and after 60 s, and ``aggregation.png`` (dispersion over time for the
genuine controller and each method's median estimate). Every (method, seed) run is an
ordinary run folder of ``turing.Comparison``: the same command again continues an
interrupted report.

Budgets (generations of 100 models x 100 interrogators: 20,000 swarm trials of 100 steps):

* default: 10 seeds x 100 generations of interrogate, passive and metric, 30 runs. A
  generation takes 0.7-1.2 s on one core of this project's 2-core machine (shared with other
  jobs), a run 2-5 minutes; 3 seeds (9 runs) took 27 min with 2 workers at a load average of
  5, so the default takes about 1.5 hours there, well under an hour on a quiet machine. At 3
  seeds x 100 generations every Turing Learning estimate was within 0.1 of the genuine
  controller (median over seeds) and the metric's v_l1 off by 1.3.
* ``--generations 300``: the system's default budget, about 3x that.
* ``--tiny``: 2 seeds x 2 generations of 8 x 8, tiny aggregation runs: checks the pipeline
  in a minute (used by the tests).

Usage (``pip install -e ".[experiments]"`` for the command line)::

    python experiments/case_study_3.py                   # 10 seeds x 100 generations
    python experiments/case_study_3.py --workers 16 --generations 300
    python experiments/case_study_3.py --tiny --out /tmp/cs3

Writes ``reports/case-study-3/<budget>/``: ``report.md``, ``aggregation.png``,
``aggregation.csv`` (every run's dispersion ratios), the comparison's ``summary.md``,
``summary.csv``, ``cells.csv``, ``plots/`` and every run under ``runs/<method>/seed-<k>/``.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import turing
from turing.envs.swarm.aggregation import plot_aggregation, simulate_aggregation
from turing.reports import experiment as E
from turing.reports.statistics import mann_whitney
from turing.runs.result import Result

SYSTEM = "swarm-aggregation"
METHODS = ("interrogate", "passive", "metric")
ESTIMATE = "top10_median"
TOLERANCE = 0.1
"""Target: every parameter's error (median over seeds of the top-10 median) within this."""
AGGREGATION_TOLERANCE = 0.10
"""Target: the inferred swarms' mean dispersion after the trial within 10 % of the genuine."""


@dataclass
class Args(E.GridOptions):
    """Case study 3: Turing Learning (passive, as in the paper, and interrogating) against a
    metric on a robot swarm running Gauci et al.'s aggregation controller."""

    seeds: int = 10
    """seeds per method (first-seed .. first-seed + seeds - 1)"""
    generations: int = 100
    """generations per run"""
    c2st_trials: int = 0
    """trials per class of the C2ST judge of each run; 0 skips it"""
    methods: tuple[str, ...] = METHODS
    """methods to run (interrogate is the reference of the summary's p-values)"""
    n_robots: int = 10
    """robots per swarm"""
    swarms: int = 100
    """swarms per controller in the aggregation measurements"""
    aggregation_steps: int = 600
    """control steps of the aggregation runs (600 = 60 s)"""
    tiny: bool = False
    """a tiny budget to check the pipeline (2 seeds, 2 generations of 8 x 8, 4 swarms of 60
    steps; overrides the sizes above)"""


TINY = dict(
    seeds=2, generations=2, models=8, interrogators=8, steps=20, swarms=4, aggregation_steps=60
)


def report_folder(args: Args) -> Path:
    if args.out:
        return Path(args.out)
    scope = "-".join(args.methods)
    return Path("reports") / "case-study-3" / f"s{args.seeds}-g{args.generations}-{scope}"


def run(args: Args | None = None, **changes) -> Path:
    """Runs (or continues) the comparison and writes the report; returns its folder.

    Args:
        args: the configuration (default: the defaults).
        **changes: fields of :class:`Args` to change, e.g. ``run(tiny=True)``.
    """
    args = dataclasses.replace(args or Args(), **changes)
    if args.tiny:
        args = dataclasses.replace(args, **TINY)
    folder = report_folder(args)
    system_options = {"n_robots": args.n_robots}

    # Every random number of every run derives from that run's seed (turing.contracts.seeding): the
    # comparison is reproducible from this file, its arguments and the library version.
    finished = E.run_grid(SYSTEM, list(args.methods), args, folder, system_options=system_options)
    results = finished.results

    # The swarms of every run's inferred controller, from the genuine swarms' starts.
    system = turing.make_system(SYSTEM, **system_options)
    trial_steps = args.steps or system.default_steps
    aggregation = measure_aggregation(system, results, args, trial_steps)
    write_aggregation_csv(folder / "aggregation.csv", aggregation)
    figure = plot_aggregation(
        system,
        median_controllers(system, results, args.methods),
        folder / "aggregation.png",
        seed=args.first_seed,
        swarms=args.swarms,
        steps=args.aggregation_steps,
        trial_steps=trial_steps,
    )
    write_report(folder, args, finished, aggregation, figure)
    return E.conclude(finished, "case-study-3" if args.publish else None, ["aggregation.csv"])


def median_controllers(system, results: list[Result], methods) -> dict[str, list[float]]:
    """The genuine controller and, per method, the per-parameter median over seeds of the
    runs' top-10 median estimates."""
    controllers = {"genuine": list(system.genuine)}
    for method in methods:
        estimates = [r.estimates[ESTIMATE] for r in results if r.mode == method]
        if estimates:
            controllers[method] = [
                float(np.median([e[p] for e in estimates])) for p in system.parameter_names
            ]
    return controllers


def measure_aggregation(system, results: list[Result], args: Args, trial_steps: int) -> list[dict]:
    """Each run's inferred controller in homogeneous swarms (one batch with the genuine
    controller, shared starts): mean dispersion after the trial and at the end, and its
    ratio to the genuine swarms'."""
    runs = sorted(results, key=lambda r: (r.mode, r.seed))
    controllers = [list(system.genuine)] + [
        [r.estimates[ESTIMATE][p] for p in system.parameter_names] for r in runs
    ]
    dispersion, _ = simulate_aggregation(
        system, controllers, args.swarms, args.aggregation_steps, seed=args.first_seed
    )
    at = min(trial_steps, args.aggregation_steps)
    after, final = dispersion[at].mean(-1), dispersion[-1].mean(-1)
    rows = [
        {
            "method": "genuine",
            "seed": "",
            "after_trial": after[0],
            "final": final[0],
            "ratio_after_trial": 1.0,
            "ratio_final": 1.0,
        }
    ]
    for k, r in enumerate(runs, start=1):
        rows.append(
            {
                "method": r.mode,
                "seed": r.seed,
                "after_trial": after[k],
                "final": final[k],
                "ratio_after_trial": after[k] / after[0],
                "ratio_final": final[k] / final[0],
            }
        )
    return rows


def write_aggregation_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def paper_comparison(summary, system) -> list[str]:
    """``passive`` (the paper's Turing Learning) against ``metric``: per-parameter medians and
    two-sided Mann-Whitney p-values over seeds (the library's test)."""
    if not {"passive", "metric"} <= set(summary.methods):
        return ["(needs both passive and metric runs)"]
    samples = {
        m: {
            p: [c.values[(ESTIMATE, f"abs_error_{p}")] for c in summary.cells if c.method == m]
            for p in system.parameter_names
        }
        for m in ("passive", "metric")
    }
    lines = [
        "| parameter | passive (Turing Learning) | metric | p-value | metric worse |",
        "|---|---|---|---|---|",
    ]
    for p in system.parameter_names:
        a, b = samples["passive"][p], samples["metric"][p]
        if not a or not b:
            continue
        pvalue = mann_whitney(a, b)
        lines.append(
            f"| {p} | {np.median(a):.3g} | {np.median(b):.3g} | {pvalue:.2g} | "
            f"{'yes' if np.median(b) > np.median(a) else 'no'} |"
        )
    return lines


def target_table(summary, system, methods) -> list[str]:
    """Per method: the median over seeds of each parameter's top-10 median error, against the
    0.1 target."""
    lines = [
        "| method | " + " | ".join(system.parameter_names) + " | all within 0.1 |",
        "|---|" + "---|" * (len(system.parameter_names) + 1),
    ]
    for method in methods:
        if not summary.finished(method):
            continue
        values = [summary.value(method, f"abs_error_{p}", ESTIMATE) for p in system.parameter_names]
        ok = all(v <= TOLERANCE for v in values)
        lines.append(
            f"| `{method}` | "
            + " | ".join(f"{v:.3g}" for v in values)
            + f" | {'yes' if ok else 'no'} |"
        )
    return lines


def aggregation_table(rows: list[dict], methods, trial_seconds: float, final_seconds: float):
    lines = [
        f"| method | runs | ratio after {trial_seconds:g} s, median [min, max] | within 10 % | "
        f"ratio after {final_seconds:g} s, median |",
        "|---|---|---|---|---|",
    ]
    genuine = rows[0]
    lines.append(
        f"| genuine | | dispersion {genuine['after_trial']:.1f} | | "
        f"dispersion {genuine['final']:.1f} |"
    )
    for method in methods:
        ratios = np.array([r["ratio_after_trial"] for r in rows if r["method"] == method])
        finals = np.array([r["ratio_final"] for r in rows if r["method"] == method])
        if not ratios.size:
            continue
        within = int(np.sum(np.abs(ratios - 1) <= AGGREGATION_TOLERANCE))
        lines.append(
            f"| `{method}` | {ratios.size} | {np.median(ratios):.3f} [{ratios.min():.3f}, "
            f"{ratios.max():.3f}] | {within}/{ratios.size} | {np.median(finals):.3f} |"
        )
    return lines


def write_report(folder, args, finished, aggregation, figure) -> None:
    """``report.md``: what ran, the targets, the paper's comparison, the full comparison,
    aggregation, figures."""
    comparison, summary = finished.comparison, finished.summary
    system = turing.make_system(SYSTEM, n_robots=args.n_robots)
    errors = [f"abs_error_{p}" for p in summary.parameters]
    trial_seconds = (args.steps or system.default_steps) * 0.1
    lines = [
        f"# Case study 3: {comparison.title()}",
        "",
        *E.header(
            "experiments/case_study_3.py",
            finished,
            f"Swarms of {args.n_robots} robots, {len(comparison.seeds)} seeds x "
            f"{args.generations} generations of {args.models} models x {args.interrogators} "
            f"interrogators; genuine controller (v_l0, v_r0, v_l1, v_r1) = "
            f"{tuple(float(v) for v in system.genuine)}.",
        ),
        "",
        "Estimates are the top-10 median (per-parameter median of the 10 best models of the "
        "last generation); numbers are medians over seeds.",
        "",
        "## Targets: every parameter within 0.1",
        "",
        *target_table(summary, system, args.methods),
        "",
        "## The paper's comparison: Turing Learning (passive) vs the metric",
        "",
        *paper_comparison(summary, system),
        "",
        "## All methods (p: two-sided Mann-Whitney U, `interrogate` vs the method)",
        "",
        summary.headline(errors, ESTIMATE),
        "",
        "Best model of the last generation:",
        "",
        summary.headline(errors),
        "",
        "![box plots, top-10 median](plots/box_top10_median.png)",
        "",
        "![convergence](plots/convergence_top10_median.png)",
        "",
        "## Aggregation of the inferred controllers",
        "",
        f"Homogeneous swarms of {args.n_robots} robots of each run's inferred controller, "
        f"{args.swarms} swarms each from the same start conditions as the genuine swarms; "
        "mean dispersion (sum |p - mean p|^2 / (4 r^2)) as a ratio to the genuine swarms'. "
        "Target: within 10 % after the trial.",
        "",
        *aggregation_table(aggregation, args.methods, trial_seconds, args.aggregation_steps * 0.1),
        "",
        f"![aggregation]({figure.name})",
        "",
        "Cost per run (wall time in seconds, simulated trial-steps):",
        "",
        summary.headline(["wall_seconds", "simulated_steps"], estimate=""),
        "",
        "Every number is in `summary.csv`, `cells.csv` and `aggregation.csv`; every run in "
        "`runs/`.",
    ]
    E.write_markdown(folder, lines, summary)


if __name__ == "__main__":
    E.main(run, Args, "case_study_3.py")
