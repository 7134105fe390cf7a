"""Case study 2 of Gross, Gu, Li, Gauci (NIPS 2017): an e-puck robot infers its own sensor
configuration (``sensor-self-id``, spec: ``docs/specs/case-study-2-sensors.md``).

The robot's 8 infrared sensors (an angle and a radius each, 16 parameters) are inferred by
models coevolving with interrogators that drive the robot's wheels and read its sensors
(``interrogate``, Turing Learning), against discriminators that only watch the robot run
its own obstacle avoidance (``passive``, the GAN-like setting), and ``metric`` (the same
ES minimising the squared error of the readings under the robot's own controller), on the
same seeds and budget. ``--all-methods`` adds ``passive-io``, ``gan``, ``gan-interrogate``
and ``sbi`` (the gradient-trained ones cost about 30 times more per generation).

Headline numbers: the mean angle error (degrees) and mean radius error (cm) over the 8
sensors, per sensor, and the C2ST of the inferred robot against the genuine one.

Budgets:

* default: 5 seeds x 150 generations at the paper's sizes (100 x 100), 15 runs;
* ``--paper``: the paper's budget, 10 seeds x 1000 generations (30 runs, about 5 minutes
  each at one thread on this project's 2-core machines). Its report is committed under
  ``docs/results/case-study-2/`` (``--publish``).

Every (method, seed) run is an ordinary run folder of a ``turing.Comparison``: the same
command again continues an interrupted report. Usage (``pip install -e ".[experiments]"``)::

    python experiments/case_study_2.py
    python experiments/case_study_2.py --paper --workers 1 --publish
    python experiments/case_study_2.py --paper --device cuda     # runs batched on one GPU

Writes ``reports/case-study-2/<budget>/``: ``report.md``, ``paper/`` (interrogate vs passive
alone), ``summary.md``, ``summary.csv``, ``cells.csv``, ``plots/`` and
``runs/<method>/seed-<k>/`` (each with its inferred layout drawn in ``plots/layout.png``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from turing.reports import experiment as E

SYSTEM = "sensor-self-id"
PAPER_METHODS = ("interrogate", "passive")
EXTENDED_METHODS = ("metric",)
OPTIONAL_METHODS = ("passive-io", "gan", "gan-interrogate", "sbi")
SENSORS = 8
HEADLINE = ("mean_angle_error_deg", "mean_radius_error_cm")
# The targets at the paper's budget (median over 10 seeds).
TARGET_ANGLE_DEG, TARGET_RADIUS_CM = 5.0, 0.3


@dataclass
class Args(E.CaseStudyOptions):
    """Case study 2: an e-puck infers its own infrared sensor layout; Turing Learning
    against the passive baseline and the metric baseline."""


def run(args: Args | None = None, **changes) -> Path:
    """Runs (or continues) the comparison and writes the report; returns its folder."""
    args = dataclasses.replace(args or Args(), **changes)
    study = E.run_case_study(
        SYSTEM, args, paper=PAPER_METHODS, extended=EXTENDED_METHODS, more=OPTIONAL_METHODS,
        root="reports/case-study-2",
    )  # fmt: skip
    write_report(study.folder, study.finished, study.paper, args, study.generations)
    return E.conclude(study.finished, "case-study-2" if args.publish else None)


def write_report(folder: Path, finished: E.Finished, paper, args: Args, generations: int) -> None:
    """``report.md``: what ran, the targets, the headline and per-sensor tables, figures."""
    summary = finished.summary
    top = "top10_median"
    angle = E.median_value(summary, "interrogate", HEADLINE[0], top)
    radius = E.median_value(summary, "interrogate", HEADLINE[1], top)
    p_angle, p_radius = (_p(summary, "passive", q, top) for q in HEADLINE)
    targets = [
        ("`interrogate` mean angle error (deg)", f"{angle:.2f}", f"<= {TARGET_ANGLE_DEG:g}",
         angle <= TARGET_ANGLE_DEG),
        ("`interrogate` mean radius error (cm)", f"{radius:.3f}", f"<= {TARGET_RADIUS_CM:g}",
         radius <= TARGET_RADIUS_CM),
        ("`interrogate` beats `passive` on both (Mann-Whitney p)",
         f"{p_angle:.2g} / {p_radius:.2g}", "< 0.01", max(p_angle, p_radius) < 0.01),
    ]  # fmt: skip
    settings = (
        f"{len(finished.comparison.seeds)} seeds x {generations} generations of {args.models} "
        f"models x {args.interrogators} interrogators."
    )
    lines = [
        f"# Case study 2: {finished.comparison.title()}",
        "",
        *E.header("experiments/case_study_2.py", finished, settings),
        "",
        E.statistics_note() + " Per-sensor p-values are Holm-corrected across the 16 parameters.",
        "",
        "## Targets (top-10 median estimate)",
        "",
        E.targets_table(targets),
        "",
        "## The paper's comparison: interrogation vs passive observation",
        "",
        "Mean angle and radius errors over the 8 sensors:",
        "",
    ]
    for estimate, label in (("top10_median", "Top-10 median of the last generation"),
                            ("best", "Best model of the last generation (what the paper reported)"),
                            ("last50_median", "Median of the best model over the last 50 generations")):  # fmt: skip
        lines += [f"{label}:", "", E.test_table(paper, [*HEADLINE, "c2st"], estimate), ""]
    lines += [
        "![paper: convergence](paper/plots/convergence_top10_median.png)",
        "",
        "## Extended comparison",
        "",
        E.test_table(summary, [*HEADLINE, "c2st"], "top10_median"),
        "",
        "Per sensor (top-10 median estimate):",
        "",
        per_sensor_table(summary),
        "",
        "![box plots](plots/box_top10_median.png)",
        "",
        "![convergence](plots/convergence_top10_median.png)",
        "",
        "Cost per run (wall time in seconds, simulated trial-steps):",
        "",
        summary.headline(["wall_seconds", "simulated_steps"], estimate=""),
        "",
        "Every run draws its inferred layout over the genuine one in "
        "`runs/<method>/seed-<k>/plots/layout.png`; every number is in `summary.csv`.",
    ]
    E.write_markdown(folder, lines, summary)


def per_sensor_table(summary) -> str:
    """Angle error (degrees) and radius error (cm) of each sensor, median [IQR] per method;
    under each, the Holm-corrected p-value against ``interrogate``."""
    degrees = 180.0 / math.pi
    head = ["sensor", *[f"`{m}` angle (deg)" for m in summary.methods],
            *[f"`{m}` radius (cm)" for m in summary.methods]]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i in range(SENSORS):
        row = [str(i)]
        for quantity, scale in ((f"abs_error_theta_{i}", degrees), (f"abs_error_r_{i}", 1.0)):
            for method in summary.methods:
                stats = [
                    _stat(summary, method, quantity, s) * scale for s in ("median", "q25", "q75")
                ]
                text = f"{stats[0]:.3g} [{stats[1]:.3g}, {stats[2]:.3g}]"
                if method != "interrogate":
                    text += f" (p {E.holm_p(summary, method, quantity, 'top10_median'):.2g})"
                row.append(text)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _stat(summary, method: str, quantity: str, stat: str) -> float:
    try:
        return summary.value(method, quantity, "top10_median", stat)
    except KeyError:
        return math.nan


def _p(summary, method: str, quantity: str, estimate: str) -> float:
    try:
        return summary.value(method, quantity, estimate, "p_vs_interrogate")
    except KeyError:
        return math.nan


if __name__ == "__main__":
    E.main(run, Args, "case_study_2.py")
