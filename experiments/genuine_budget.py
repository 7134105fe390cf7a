"""How many genuine trials does Turing Learning need? Case study 2 against total budgets of
genuine trials, beside the metric baseline and neural posterior estimation.

A sim-to-real user counts real trials: BayesSim, DROPO and SimOpt plan for 10^2-10^3 of them
per identification, while the paper's setting gives every (interrogator, model) pair its
own genuine trial, 10^4 per generation. Here the genuine robot is case study 2's own
simulator (so errors are known) and a run gets a total budget ``B`` of genuine trials:
``K`` per generation for ``G`` generations, ``B = K G`` (the paper's 1000 generations where
``B >= 1000``; below, one genuine trial per generation for ``B`` generations). Model trials
are not limited (they are simulated): every generation still runs all 10^4 of them.

* ``interrogate``: ``--genuine-trials K``; each generation's genuine trials go to the
  interrogators that judged the fewest lately, and each interrogator is scored on its
  last 100 genuine judgements (see ``turing run --help``);
* ``metric``: the same ``K`` genuine trials per generation, every model compared with them
  under the same inputs;
* ``sbi``: the ``B`` genuine trials are its observed data (``trials=B``); every simulation
  then has ``B`` trials too, so its cost grows with ``B``: run where it is affordable
  (``--sbi-budgets``).

Reports the top-10 median's mean angle and radius errors against the genuine trials a run
used (median and interquartile range over seeds), with Mann-Whitney U tests of
``interrogate`` against each method at each budget, and the paper's setting (10^7 genuine
trials, the published case-study grid) as a reference line.

    python experiments/genuine_budget.py --paper --publish     # 5 seeds, the figure in docs/
    python experiments/genuine_budget.py --seeds 2 --generations 100 --budgets 100 1000
"""

from __future__ import annotations

import csv
import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from turing.reports import experiment as E
from turing.runs.result import Result

SYSTEM = "sensor-self-id"
QUANTITIES = (("mean_angle_error_deg", "mean angle error (deg)"),
              ("mean_radius_error_cm", "mean radius error (cm)"))  # fmt: skip
PUBLISHED = Path(__file__).resolve().parents[1] / "docs/results/case-study-2/paper/summary.csv"
"""The paper's setting (one genuine trial per pair), from the published case-study grid."""


@dataclass
class Args:
    """Case study 2's errors against the total number of genuine trials a run may use."""

    budgets: tuple[int, ...] = (100, 1_000, 10_000, 100_000)
    """total genuine trials per run"""
    methods: tuple[str, ...] = ("interrogate", "metric", "sbi")
    """methods to compare at each budget"""
    sbi_budgets: tuple[int, ...] = (100,)
    """the budgets at which sbi runs (each simulation has as many trials as its data)"""
    seeds: int = 2
    """seeds per method and budget"""
    sbi_seeds: int | None = None
    """seeds of sbi (default: --seeds; a round at budget 100 trained for 5-23 minutes on
    one core, so fewer seeds may be what a machine affords)"""
    generations: int = 100
    """generations of interrogate and metric where the budget allows one genuine trial per
    generation or more (fewer: as many generations as genuine trials)"""
    paper: bool = False
    """5 seeds x 1000 generations (the paper's generations)"""
    models: int = 100
    """model population size"""
    interrogators: int = 100
    """interrogator population size"""
    sbi_simulations: int = 1000
    """sbi's parameter draws per round"""
    sbi_rounds: int = 3
    """sbi's rounds (1: plain NPE; later rounds draw from the truncated posterior and retrain
    on every simulation so far, so round r costs about r times round 1)"""
    keep: str | None = None
    """an earlier summary.csv (e.g. docs/results/genuine-budget/summary.csv) whose rows join
    the report for the (method, budget) pairs this invocation does not run: adds a method
    to a report without running the others again"""
    workers: int = 0
    """runs at once (0: one per CPU core)"""
    out: str = "reports/genuine-budget"
    """where the runs and the report go"""
    publish: bool = False
    """copy the report and its figure to docs/results/genuine-budget/"""
    quiet: bool = False
    """no progress display"""


def schedule(budget: int, generations: int) -> tuple[int, int]:
    """``(generations, genuine trials per generation)`` that spend ``budget``."""
    per_generation = max(1, budget // generations)
    return min(generations, budget // per_generation), per_generation


def run(args: Args | None = None, **changes) -> Path:
    """Runs (or continues) every budget and writes the report; returns its folder."""
    args = dataclasses.replace(args or Args(), **changes)
    if args.paper:
        args = dataclasses.replace(args, seeds=5, generations=1000)
    folder = Path(args.out) / ("paper" if args.paper else f"s{args.seeds}-g{args.generations}")
    rows: list[dict] = []
    finished = []
    for budget in args.budgets:
        generations, per_generation = schedule(budget, args.generations)
        coevolved = [m for m in args.methods if m != "sbi"]
        if coevolved:
            grid = E.run_comparison(
                SYSTEM, methods=coevolved, seeds=range(args.seeds),
                out=folder / f"budget-{budget}", generations=generations,
                genuine_trials=per_generation, models=args.models,
                interrogators=args.interrogators, c2st_trials=0, threads=1,
                workers=args.workers, progress=not args.quiet,
            )  # fmt: skip
            finished.append(grid)
            rows += _rows(grid.results, budget, f"{generations} x {per_generation}")
        if "sbi" in args.methods and budget in args.sbi_budgets:
            grid = E.run_comparison(
                SYSTEM, methods=["sbi"], seeds=range(args.sbi_seeds or args.seeds),
                out=folder / f"budget-{budget}-sbi", c2st_trials=0, threads=1,
                generations=args.sbi_rounds,
                method_options={"trials": budget, "simulations": args.sbi_simulations},
                workers=args.workers, progress=not args.quiet,
            )  # fmt: skip
            finished.append(grid)
            rows += _rows(grid.results, budget, f"{args.sbi_rounds} x {args.sbi_simulations} "
                                                f"sims, observed {budget}")  # fmt: skip
    kept: list[tuple[str, int]] = []
    if args.keep:
        earlier = _kept(Path(args.keep), {(r["method"], r["budget"]) for r in rows})
        kept = sorted({(r["method"], r["budget"]) for r in earlier})
        rows += earlier
    _write_csv(folder / "summary.csv", rows)
    figure = _figure(folder, rows)
    _report(folder, args, rows, figure, finished, kept)
    if args.publish:
        E.publish(folder, Path("docs/results/genuine-budget"))
    print((folder / "report.md").read_text())
    return folder


def _rows(results: list[Result], budget: int, schedule_text: str) -> list[dict]:
    rows = []
    for result in results:
        data = result.data
        used = data.get("genuine_trials_by_use", {})
        row = {
            "method": result.config.mode,
            "seed": result.config.seed,
            "budget": budget,
            "schedule": schedule_text,
            "genuine_trials": int(used.get("training", 0)) + int(used.get("normalisation", 0)),
            "wall_seconds": float(data.get("wall_seconds", math.nan)),
        }
        for quantity, _ in QUANTITIES:
            row[quantity] = float(data[quantity]["top10_median"])
        rows.append(row)
    return rows


def _kept(path: Path, run: set[tuple[str, int]]) -> list[dict]:
    """The rows of an earlier ``summary.csv`` for the (method, budget) pairs not in ``run``."""
    types = {"seed": int, "budget": int, "genuine_trials": int}
    kept = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            row = {k: types.get(k, float)(v) if k not in ("method", "schedule") else v
                   for k, v in row.items()}  # fmt: skip
            if (row["method"], row["budget"]) not in run:
                kept.append(row)
    return kept


def _write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["method"])
        writer.writeheader()
        writer.writerows(rows)


def _groups(rows: list[dict]) -> dict[tuple[str, int], list[dict]]:
    groups: dict[tuple[str, int], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["method"], row["budget"]), []).append(row)
    return groups


def _published() -> dict[str, float]:
    """The paper's setting's interrogate errors (median over its seeds), if published."""
    if not PUBLISHED.is_file():
        return {}
    found = {}
    with open(PUBLISHED) as handle:
        for row in csv.DictReader(handle):
            if row["method"] == "interrogate" and row["estimate"] == "top10_median":
                found[row["quantity"]] = (float(row["median"]), int(row["n"]))
    return {q: found[q] for q, _ in QUANTITIES if q in found}


def _figure(folder: Path, rows: list[dict]) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    from turing.runs.files import save_figure

    groups = _groups(rows)
    published = _published()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"interrogate": "tab:blue", "metric": "tab:orange", "sbi": "tab:green"}
    for ax, (quantity, label) in zip(axes, QUANTITIES, strict=True):
        for method in dict.fromkeys(r["method"] for r in rows):
            points = sorted((b, g) for (m, b), g in groups.items() if m == method)
            x = [np.median([r["genuine_trials"] for r in g]) for _, g in points]
            values = [np.array([r[quantity] for r in g]) for _, g in points]
            median = [np.median(v) for v in values]
            low = [np.percentile(v, 25) for v in values]
            high = [np.percentile(v, 75) for v in values]
            colour = colours.get(method)
            ax.plot(x, median, "o-", color=colour, label=method)
            ax.fill_between(x, low, high, color=colour, alpha=0.2)
        if quantity in published:
            value, n = published[quantity]
            ax.axhline(value, color="tab:blue", linestyle="--", linewidth=1,
                       label=f"interrogate, paper's setting (10^7, {n} seeds)")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain = ticker.FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.set_xlabel("genuine trials used per run (log scale)")
        ax.set_ylabel(f"top-10 median {label} (log scale)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Case study 2: error against the genuine-trial budget (median, IQR band)")
    fig.tight_layout()
    return save_figure(fig, folder / "error-vs-genuine-trials.png")


def _report(folder: Path, args: Args, rows: list[dict], figure: Path, finished,
            kept: list[tuple[str, int]] = ()) -> None:  # fmt: skip
    from scipy.stats import mannwhitneyu

    groups = _groups(rows)
    lines = ["# Genuine-trial budget: case study 2", ""]
    if finished:
        lines += E.header("experiments/genuine_budget.py", finished[0],
                          f"{args.seeds} seeds per method and budget"
                          + (f" ({args.sbi_seeds} of sbi)." if args.sbi_seeds else "."))  # fmt: skip
    lines += [
        "",
        "The genuine robot is case study 2's own simulator (so errors are known); a run may use "
        "a total budget of B genuine trials, K per generation for G generations (coevolution "
        "and the metric), or B trials of observed data (sbi). Model trials are simulated and "
        "not limited. Errors: the top-10 median estimate's mean angle and radius errors; "
        "median [25th, 75th percentile] over seeds; p: two-sided Mann-Whitney U test of "
        "`interrogate` against the method at the same budget.",
        "",
        f"![error against genuine trials]({figure.name})",
        "",
        "| budget | method | G x K | genuine trials | " + " | ".join(l for _, l in QUANTITIES)
        + " | p (angle) | n |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for (method, budget), group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        cells = []
        for quantity, _ in QUANTITIES:
            v = np.array([r[quantity] for r in group])
            cells.append(
                f"{np.median(v):.3g} [{np.percentile(v, 25):.3g}, {np.percentile(v, 75):.3g}]"
            )
        reference = groups.get(("interrogate", budget))
        p = "-"
        if method != "interrogate" and reference and len(reference) > 1 and len(group) > 1:
            p = f"{mannwhitneyu([r[QUANTITIES[0][0]] for r in reference], [r[QUANTITIES[0][0]] for r in group]).pvalue:.2g}"
        used = int(np.median([r["genuine_trials"] for r in group]))
        lines.append(f"| {budget:,} | {method} | {group[0]['schedule']} | {used:,} | "
                     + " | ".join(cells) + f" | {p} | {len(group)} |")  # fmt: skip
    if kept:
        lines += ["", f"Rows not run by this invocation, kept from `{args.keep}`: "
                      + ", ".join(f"{m} at {b:,}" for m, b in kept) + "."]  # fmt: skip
    published = _published()
    if published:
        text = ", ".join(f"{v:.3g} ({q.split('_')[1]})" for q, (v, _) in published.items())
        lines += ["", f"Reference, the paper's setting (one genuine trial per pair, 10^7 per run, "
                      f"published case-study grid): interrogate {text}."]  # fmt: skip
    if args.seeds < 5:
        lines += ["", f"With {args.seeds} seeds per group the smallest reachable two-sided "
                      f"Mann-Whitney p-value is {2 / math.comb(2 * args.seeds, args.seeds):.2g}."]  # fmt: skip
    (folder / "report.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    E.main(run, Args, "experiments/genuine_budget.py")
