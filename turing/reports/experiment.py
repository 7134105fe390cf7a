"""What the experiment scripts share: choosing methods, running a comparison, the report's
header and tables, convergence measures, and publishing a report under ``docs/results/``.

The scripts in ``experiments/`` stay readable top to bottom (one file per experiment, its
options in one dataclass); everything they would otherwise repeat line for line lives here.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from turing.comparisons.comparison import Comparison
from turing.contracts.presentation import presentation
from turing.errors import SystemContractError, UserError
from turing.integrations.registry import make_system
from turing.methods.method import get_method
from turing.reports.summaries import summarise_results
from turing.reports.summary import Summary
from turing.reports.summary_files import write_summary
from turing.runs.result import Result


@dataclass
class GridOptions:
    """The options of an experiment's grid of runs (each script's ``Args`` adds its own)."""

    seeds: int = 5
    """seeds per method (first-seed .. first-seed + seeds - 1)"""
    first_seed: int = 0
    """the first seed"""
    generations: int = 150
    """generations per run"""
    models: int = 100
    """model population size"""
    interrogators: int = 100
    """interrogator population size"""
    steps: int | None = None
    """observations per trial (default: the system's)"""
    c2st_trials: int = 1000
    """trials per class of the C2ST judge of each run; 0 skips it"""
    workers: int = 0
    """runs at once (0: one per CPU core)"""
    executor: Literal["local", "ray"] = "local"
    """worker processes on this machine, or Ray tasks"""
    address: str | None = None
    """Ray cluster address (default: a local Ray)"""
    device: str = "cpu"
    """torch device of every run (on CUDA, the runs of each method are batched)"""
    out: str = ""
    """report folder (default: under reports/)"""
    publish: bool = False
    """copy the report and its figures to docs/results/"""
    quiet: bool = False
    """no progress display"""


@dataclass
class CaseStudyOptions(GridOptions):
    """A case study's options: the paper's budget and which methods beyond the paper's."""

    paper: bool = False
    """the paper's budget: 10 seeds x 1000 generations (overrides --seeds and --generations)"""
    extended: bool = True
    """add the extended baselines to the paper's two methods"""
    all_methods: bool = False
    """also the costly and optional methods (gradient-trained, sbi when installed)"""
    methods: tuple[str, ...] = ()
    """run exactly these methods instead"""
    true_params: str = ""
    """genuine values that differ from the spec's (NAME=VALUE,...)"""
    preset: str = "paper"
    """the runs' preset (``turing run --preset``): paper (the paper's algorithm) or robust"""


PAPER_BUDGET = (10, 1000)
"""The paper's budget as run here: 10 seeds x 1000 generations."""


def case_study_plan(
    system: str, options: CaseStudyOptions, paper: Sequence[str], extended: Sequence[str],
    more: Sequence[str],
) -> tuple[int, int, list[str], str]:  # fmt: skip
    """``(seeds, generations, methods, budget name)`` of a case study's options."""
    seeds, generations = PAPER_BUDGET if options.paper else (options.seeds, options.generations)
    wanted = list(options.methods) or [
        *paper,
        *(extended if options.extended or options.all_methods else ()),
        *(more if options.all_methods else ()),
    ]
    budget = "paper" if options.paper else f"s{seeds}-g{generations}"
    if options.preset != "paper":
        budget += f"-{options.preset}"
    return seeds, generations, choose_methods(system, wanted), budget


@dataclass
class CaseStudy:
    """A case study's finished grid, its paper-only summary, and its budget."""

    finished: Finished
    paper: Summary
    generations: int

    @property
    def folder(self) -> Path:
        return self.finished.folder


def run_case_study(
    system: str,
    options: CaseStudyOptions,
    *,
    paper: Sequence[str],
    extended: Sequence[str],
    more: Sequence[str],
    root: str,
) -> CaseStudy:
    """Runs (or continues) a case study's grid under ``root/<budget>`` (or ``--out``) and
    summarises the paper's methods on their own in its ``paper/`` folder. Every random
    number of every run derives from that run's seed: the comparison is reproducible from
    the script, its arguments and the library version."""
    from turing.cli.common import assignments

    seeds, generations, methods, budget = case_study_plan(system, options, paper, extended, more)
    finished = run_grid(
        system, methods, options, Path(options.out or f"{root}/{budget}"), seeds=seeds,
        generations=generations, true_params=assignments(options.true_params, "--true-params"),
        preset=options.preset,
    )  # fmt: skip
    title = f"{finished.comparison.title()} (the paper's comparison)"
    return CaseStudy(finished, sub_summary(finished, paper, "paper", title), generations)


def conclude(finished: Finished, publish_to: str | None, extra: Sequence[str] = ()) -> Path:
    """Publishes the report (to ``docs/results/<publish_to>/``, when asked), prints the
    top-10 median table and where the report is; returns the report's folder."""
    if publish_to:
        publish(finished.folder, Path("docs/results") / publish_to, extra)
    print(finished.summary.table("top10_median"))
    print(f"\nreport: {finished.folder / 'report.md'}")
    return finished.folder


def write_markdown(folder: Path, lines: list[str], summary: Summary) -> Path:
    """Writes ``report.md`` (under its title, with fewer than 5 seeds, the smallest p-values
    the tests can reach; the failed runs, if any, at the end)."""
    if summary.few_seeds_note():
        lines = [*lines[:2], summary.few_seeds_note(), "", *lines[2:]]
    if summary.failures:
        lines += ["", "Failed runs: " + "; ".join(f"{k}: {v}" for k, v in summary.failures.items())]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_grid(
    system: str,
    methods: Sequence[str],
    options: GridOptions,
    folder: Path,
    *,
    seeds: int | None = None,
    generations: int | None = None,
    **settings: Any,
) -> Finished:
    """:func:`run_comparison` with a script's options (``seeds`` and ``generations``
    override them, e.g. for ``--paper``)."""
    return run_comparison(
        system,
        methods=methods,
        seeds=range(options.first_seed, options.first_seed + (seeds or options.seeds)),
        out=folder,
        generations=generations or options.generations,
        models=options.models,
        interrogators=options.interrogators,
        steps=options.steps,
        c2st_trials=options.c2st_trials,
        device=options.device,
        executor=options.executor,
        workers=options.workers,
        address=options.address,
        progress=not options.quiet,
        **settings,
    )


def main(run: Callable[[Any], Any], options: type, script: str) -> None:
    """A script's ``__main__``: its options from the command line (tyro), one line on error."""
    try:
        import tyro
    except ImportError:
        sys.exit(f'{script}\'s command line needs tyro: pip install -e ".[experiments]"')
    try:
        run(tyro.cli(options))
    except UserError as exc:
        sys.exit(f"{script}: {exc}")


def choose_methods(system: str, wanted: Sequence[str]) -> list[str]:
    """``wanted`` without the methods this installation cannot run on ``system`` (e.g.
    ``sbi`` without its extra), each left out with a line on stderr."""
    instance = make_system(system)
    methods = []
    for method in wanted:
        try:
            get_method(method).check_supported(instance, method)
        except (UserError, SystemContractError) as exc:
            print(f"leaving out {method}: {exc}", file=sys.stderr)
            continue
        methods.append(method)
    return methods


@dataclass
class Finished:
    """A comparison that ran: its folder, summary, runs and how long it took."""

    comparison: Comparison
    summary: Summary
    results: list[Result]
    seconds: float

    @property
    def folder(self) -> Path:
        return self.comparison.path


def run_comparison(
    system: str,
    *,
    methods: Sequence[str],
    seeds: Sequence[int],
    out: str | Path,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    **settings: Any,
) -> Finished:
    """Runs (or continues) a comparison and summarises it (``summary.md``, figures)."""
    start = time.perf_counter()
    comparison = Comparison.create(
        system, methods=list(methods), seeds=list(seeds), out=out, **settings
    )
    summary = comparison.run(
        executor=executor, workers=workers or None, address=address, progress=progress
    )
    results = [Result.load(c.path) for c in comparison.cells() if c.status == "finished"]
    return Finished(comparison, summary, results, time.perf_counter() - start)


def sub_summary(finished: Finished, methods: Sequence[str], name: str, title: str) -> Summary:
    """The summary of some of the comparison's methods on their own (tests and figures of
    their own), written into the folder ``name``."""
    methods = [m for m in methods if m in finished.comparison.methods]
    summary = summarise_results(
        finished.results,
        methods=methods,
        planned={m: len(finished.comparison.seeds) for m in methods},
        title=title,
    )
    return write_summary(summary, finished.folder / name, finished.results)


def header(script: str, finished: Finished, settings: str) -> list[str]:
    """The report's first lines: what ran, where, what it cost."""
    from turing.runs.setup import versions  # the package that made the report

    seconds = [float(r.data.get("wall_seconds", math.nan)) for r in finished.results]
    cost = (
        f"The {len(seconds)} runs took {np.nansum(seconds) / 3600:.1f} core-hours "
        f"(median {np.nanmedian(seconds) / 60:.1f} min per run)."
        if seconds
        else "No run has finished."
    )
    return [
        f"Made by `{script}` on {platform.node()} ({os.cpu_count()} CPU cores, torch "
        f"{torch.__version__}, turing-learning {versions()['turing-learning']}, trial engine "
        f"{finished.results[0].config.engine if finished.results else '-'}). {settings} {cost}",
    ]


def statistics_note() -> str:
    return (
        "Median [25th, 75th percentile] over seeds. p: two-sided Mann-Whitney U test of "
        "`interrogate` against the method, Holm-corrected across the parameters; r: "
        "rank-biserial effect size (+1: every seed of `interrogate` has the smaller error)."
    )


def test_table(summary: Summary, quantities: Sequence[str], estimate: str) -> str:
    """Per method and quantity: median [IQR], and against ``interrogate`` the p-value
    (Holm-corrected for parameters) and the effect size, as one Markdown table."""
    present = [q for q in quantities if any(summary.has(m, estimate, q) for m in summary.methods)]
    head = ["method", *[_label(q) for q in present]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method in summary.methods:
        cells = [f"`{method}`"]
        for quantity in present:
            text = summary.cell_text(method, estimate, quantity)
            if method != summary.reference and summary.finished(summary.reference):
                text += "<br>" + summary.test_text(method, estimate, quantity)
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _label(quantity: str) -> str:
    if quantity.startswith("abs_error_"):
        return quantity.removeprefix("abs_error_")
    return {"c2st": "C2ST", "mean_angle_error_deg": "angle error (deg)",
            "mean_radius_error_cm": "radius error (cm)"}.get(quantity, quantity.replace("_", " "))  # fmt: skip


def targets_table(rows: Sequence[tuple[str, str, str, bool | None]]) -> str:
    """``(target, reached, threshold, met)`` rows as a Markdown table."""
    lines = ["| target | reached | threshold | met |", "|---|---|---|---|"]
    for target, reached, threshold, met in rows:
        mark = "yes" if met else ("no" if met is not None else "-")
        lines.append(f"| {target} | {reached} | {threshold} | {mark} |")
    return "\n".join(lines)


def median_value(summary: Summary, method: str, quantity: str, estimate: str) -> float:
    try:
        return summary.value(method, quantity, estimate, "median")
    except KeyError:
        return math.nan


def holm_p(summary: Summary, method: str, quantity: str, estimate: str) -> float:
    try:
        return summary.value(method, quantity, estimate, "p_holm")
    except KeyError:
        return math.nan


# ----------------------------------------------------------------------------- convergence
def generations_to_threshold(values: Sequence[float], threshold: float) -> int | None:
    """The first generation from which ``values`` (one per generation) stay below
    ``threshold`` to the end of the run, or ``None`` if they never do."""
    values = np.asarray(values, dtype=np.float64)
    above = np.flatnonzero(~(values < threshold))
    if above.size == 0:
        return 0
    last = int(above[-1])
    return None if last == len(values) - 1 else last + 1


def running_median(values: np.ndarray, window: int = 10) -> np.ndarray:
    """The median of the last ``window`` generations at each generation."""
    return np.array([np.median(values[max(0, g - window + 1) : g + 1]) for g in range(len(values))])


def plot_curves(system: str, curves: dict, threshold: float, label: str, path: Path) -> Path:
    """The headline error per generation, median and interquartile range over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for k, (variant, series) in enumerate(curves.items()):
        stack = np.stack([s[: min(map(len, series))] for s in series])
        q25, median, q75 = np.percentile(stack, [25, 50, 75], axis=0)
        generation = np.arange(stack.shape[1])
        ax.plot(generation, median, color=f"C{k}", lw=1.3, label=variant)
        ax.fill_between(generation, q25, q75, color=f"C{k}", alpha=0.15, lw=0)
    ax.axhline(threshold, color="k", lw=0.8, ls=":", label=f"threshold {threshold:g}")
    ax.set_yscale("log")
    ax.set_xlabel("generation")
    ax.set_ylabel(label, fontsize=8)
    ax.set_title(
        f"{system}: running median (10 generations), median and IQR over seeds", fontsize=9
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def history(result: Result, column: str) -> np.ndarray:
    """One ``metrics.csv`` column of a run, one value per generation."""
    return np.asarray(result.history[column], dtype=np.float64)


def system_metrics(result: Result, estimate: Mapping[str, float]) -> dict[str, Any]:
    """The system's presentation metrics of an estimate of a finished run."""
    system = make_system(result.config.system, **result.config.system_options)
    truth = system.make_truth(result.config.true_params)
    return presentation(system).metrics(estimate, truth)


# ----------------------------------------------------------------------------- publishing
def publish(folder: Path, destination: Path, extra: Sequence[str] = ()) -> list[Path]:
    """Copies a report (``report.md``, ``summary.csv``, the figures it shows and ``extra``
    files) into ``destination`` (``docs/results/...``): what is committed, without the run
    folders or figures nobody links to. Image links in the report keep working, as
    relative paths."""
    import re

    destination.mkdir(parents=True, exist_ok=True)
    copied = []
    names = ["report.md", "summary.csv", *extra]
    report = folder / "report.md"
    if report.is_file():
        names += re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", report.read_text())
    names += [p.relative_to(folder).as_posix() for p in sorted(folder.glob("*/summary.csv"))]
    for name in names:
        source = folder / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.append(target)
    return copied
