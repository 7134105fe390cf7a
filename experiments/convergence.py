"""Can Turing Learning converge faster? Model-side options against the paper-faithful
default, at equal simulated steps (the same generations of the same trials), on both case
studies.

Variants (each an option of ``turing run``, the default staying the paper's algorithm):

* ``default``: models' fitness is the fraction of interrogators that judge them genuine
  (the paper's verdict), angles mutate within [-pi, pi] (the original code);
* ``graded`` (``--model-fitness graded``): a model's fitness is the interrogators' mean
  output 0 on its trials, so an almost convincing model is rewarded before it fools
  anyone;
* ``wrapped`` (``--periodic-genes wrapped``): angles mutate modulo the period, so a sensor
  can cross the seam at +-pi (case study 2 only: case study 1 has no angles);
* ``graded+wrapped``: both.

Measures, per seed: the generation from which the running median (10 generations) of the
headline error first falls below the threshold (case study 2: the top-10 median's mean
angle error, 15 degrees; case study 1: the largest top-10-median error of a, b and delta,
0.02), and the final errors; medians over seeds. Every variant is a ``turing.Comparison``
under ``reports/convergence/<system>/<variant>/``: the same command again continues it.

    python experiments/convergence.py                       # both case studies, 5 seeds
    python experiments/convergence.py --systems sensor-self-id --generations 500 --publish
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import turing
from turing.reports import experiment as E

GW = {"model_fitness": "graded", "periodic_genes": "wrapped"}
VARIANTS = {
    "default": {},
    "graded": {"model_fitness": "graded"},
    "wrapped": {"periodic_genes": "wrapped"},
    "graded+wrapped": GW,
    "graded+wrapped+uniform": {**GW, "init": "uniform"},
    "graded+wrapped+wide": {**GW, "model_sigma_init": 0.3},
    "graded+wrapped+sigma0.03": {**GW, "model_sigma_init": 0.03},
    "graded+wrapped+uniform+sigma0.05": {**GW, "init": "uniform", "model_sigma_init": 0.05},
    "graded+wrapped+isigma0.3": {**GW, "interrogator_sigma_init": 0.3},
    "weighted+wrapped": {"model_fitness": "weighted", "periodic_genes": "wrapped"},
    "cma": {**GW, "model_strategy": "cma"},
    "robust": {"preset": "robust"},
}
# (metrics.csv column or columns, threshold, label) of each system's headline error.
HEADLINE = {
    "sensor-self-id": (
        ["mean_angle_error_deg_top10"],
        15.0,
        "top-10 median mean angle error (deg)",
    ),
    "agent-inference": (
        ["error_top10_a", "error_top10_b", "error_top10_delta"],
        0.02,
        "largest top-10-median error of a, b and delta",
    ),
}
FINAL = {
    "sensor-self-id": ["mean_angle_error_deg", "mean_radius_error_cm"],
    "agent-inference": ["abs_error_a", "abs_error_b", "abs_error_delta", "abs_error_p"],
}


@dataclass
class Args:
    """Faster convergence: graded fitness and wrapped angles against the paper's default."""

    systems: tuple[str, ...] = ("sensor-self-id", "agent-inference")
    """the case studies to measure on"""
    variants: tuple[str, ...] = ("default", "graded", "wrapped", "graded+wrapped")
    """variants to compare (wrapped ones only where a system has angles)"""
    seeds: int = 5
    """seeds per variant"""
    generations: int = 300
    """generations per run (the same for every variant: equal simulated steps)"""
    models: int = 100
    """model population size"""
    interrogators: int = 100
    """interrogator population size"""
    c2st_trials: int = 0
    """trials per class of the C2ST judge of each run (0: skip it)"""
    workers: int = 0
    """runs at once (0: one per CPU core)"""
    device: str = "cpu"
    """torch device of every run"""
    out: str = "reports/convergence"
    """where the comparisons and the report go"""
    publish: bool = False
    """copy the report and its figures to docs/results/convergence/"""
    quiet: bool = False
    """no progress display"""


def run(args: Args | None = None, **changes) -> Path:
    """Runs (or continues) every variant and writes ``report.md``; returns its folder."""
    args = dataclasses.replace(args or Args(), **changes)
    folder = Path(args.out)
    lines = ["# Faster convergence: model-side options against the paper's default", ""]
    lines += [
        f"Each variant: {args.seeds} seeds x {args.generations} generations of {args.models} "
        f"models x {args.interrogators} interrogators, `interrogate` (the same simulated "
        "steps for every variant). Generations to threshold: the first generation at which "
        "the running median over 10 generations of the headline error falls below the "
        "threshold (- : never within the budget); median over seeds.",
        "",
    ]
    for system in args.systems:
        angles = any(p.periodic for p in turing.make_system(system).parameters)
        variants = [v for v in args.variants if angles or "wrapped" not in v]
        finished = {}
        for variant in variants:
            finished[variant] = E.run_comparison(
                system,
                methods=["interrogate"],
                seeds=range(args.seeds),
                out=folder / system / variant,
                generations=args.generations,
                models=args.models,
                interrogators=args.interrogators,
                c2st_trials=args.c2st_trials,
                device=args.device,
                workers=args.workers,
                progress=not args.quiet,
                **VARIANTS[variant],
            )
        lines += system_section(system, finished, folder)
    (folder / "report.md").write_text("\n".join(lines) + "\n")
    if args.publish:
        E.publish(folder, Path("docs/results/convergence"))
    print(f"report: {folder / 'report.md'}")
    return folder


def headline_series(system: str, result) -> np.ndarray:
    columns, _, _ = HEADLINE[system]
    return np.max([E.history(result, c) for c in columns], axis=0)


def system_section(system: str, finished: dict, folder: Path) -> list[str]:
    """The table of one case study and its convergence figure."""
    _, threshold, label = HEADLINE[system]
    finals = FINAL[system]
    head = ["variant", "generations to threshold (per seed)", "median", *[_name(q) for q in finals]]
    rows = []
    curves = {}
    for variant, done in finished.items():
        reached = []
        series = [E.running_median(headline_series(system, r)) for r in done.results]
        for values in series:
            below = np.flatnonzero(values < threshold)
            reached.append(int(below[0]) if below.size else None)
        curves[variant] = series
        median = np.median([r if r is not None else np.inf for r in reached]) if reached else np.nan
        per_seed = ", ".join("-" if r is None else str(r) for r in reached)
        finals_text = [done.summary.cell_text("interrogate", "top10_median", q) for q in finals]
        rows.append([f"`{variant}`", per_seed, "-" if not np.isfinite(median) else f"{median:.0f}",
                     *finals_text])  # fmt: skip
    figure = E.plot_curves(system, curves, threshold, label, folder / f"{system}.png")
    lines = [f"## {system}: {label}, threshold {threshold:g}", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", "Final errors: top-10 median estimate, median [25th, 75th percentile] over seeds.",
              "", f"![{system}]({figure.name})", ""]  # fmt: skip
    return lines


def _name(quantity: str) -> str:
    return {"mean_angle_error_deg": "final angle error (deg)", "mean_radius_error_cm":
            "final radius error (cm)"}.get(quantity, "final " + quantity.removeprefix("abs_error_"))  # fmt: skip


if __name__ == "__main__":
    E.main(run, Args, "convergence.py")
