"""Does anything depend on the genuine system being the one of the paper? Turing Learning on
genuine systems drawn at random, for both case studies.

* Case study 2: genuine e-pucks whose 8 sensors sit at random angles (uniform on the circle)
  and radii (uniform in [1, 3.7] cm: within the model's bounds [0.01, 3.7], leaving out
  sensors near the body's centre, whose rays would start deep inside the robot), each a
  ``--true-params layout=...`` of the models' own form.
* Case study 1: agents with random parameters: a, b and delta uniform in [0.1, 0.9], p
  uniform in [0.05, 0.5] (an agent that calms down at once, or never, is not identifiable
  from 100 steps).

Every draw comes from the generator of ``--draw-seed``, so the genuine systems are the
same for everyone. Each one is a ``turing.Comparison`` of ``interrogate`` against
``passive`` under ``reports/generality/<system>/<k>/``; the report puts their errors side
by side with those of the paper's genuine system at the same budget.

    python experiments/generality.py                       # 5 + 5 genuine systems
    python experiments/generality.py --publish
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import turing
from turing.reports import experiment as E

HEADLINE = {
    "sensor-self-id": ("mean_angle_error_deg", "mean_radius_error_cm"),
    "agent-inference": ("abs_error_a", "abs_error_b", "abs_error_delta", "abs_error_p"),
}


@dataclass
class Args:
    """Turing Learning on genuine systems drawn at random."""

    systems: tuple[str, ...] = ("sensor-self-id", "agent-inference")
    """the case studies"""
    genuine: int = 5
    """genuine systems drawn per case study"""
    draw_seed: int = 2026
    """the seed of the draws of the genuine systems"""
    seeds: int = 3
    """seeds per genuine system and method"""
    generations: int = 1000
    """generations per run (the paper's budget)"""
    preset: str = "robust"
    """the run options' preset (``turing run --preset``): ``robust``, the one these genuine
    systems were held out from (it was chosen on the paper's e-puck), or ``paper``"""
    methods: tuple[str, ...] = ("interrogate", "passive")
    """methods to run on each genuine system"""
    workers: int = 0
    """runs at once (0: one per CPU core)"""
    device: str = "cpu"
    """torch device"""
    out: str = "reports/generality"
    """where the comparisons and the report go"""
    publish: bool = False
    """copy the report to docs/results/generality/"""
    quiet: bool = False
    """no progress display"""


def draw(system: str, rng: np.random.Generator) -> dict:
    """One genuine system's overrides (``--true-params``)."""
    if system == "sensor-self-id":
        theta = rng.uniform(-math.pi, math.pi, 8)
        radius = rng.uniform(1.0, 3.7, 8)
        return {"layout": [[float(t), float(r)] for t, r in zip(theta, radius, strict=True)]}
    if system == "agent-inference":
        a, b, delta = rng.uniform(0.1, 0.9, 3)
        return {
            "a": float(a),
            "b": float(b),
            "delta": float(delta),
            "p": float(rng.uniform(0.05, 0.5)),
        }
    raise turing.UserError(f"no random genuine systems defined for {system}")


def run(args: Args | None = None, **changes) -> Path:
    """Runs (or continues) every genuine system and writes ``report.md``."""
    args = dataclasses.replace(args or Args(), **changes)
    folder = Path(args.out)
    lines = [
        "# Turing Learning on genuine systems drawn at random",
        "",
        f"Each genuine system: {', '.join(f'`{m}`' for m in args.methods)}, {args.seeds} "
        f"seed{'s' if args.seeds != 1 else ''} x {args.generations} generations of 100 models x 100 interrogators, "
        f"`--preset {args.preset}`; draws "
        f"from seed {args.draw_seed} (see `experiments/generality.py`). Top-10 median "
        "estimate"
        + (", median [25th, 75th percentile] over seeds" if args.seeds > 1 else "")
        + ("; p: Mann-Whitney U, `interrogate` vs `passive`" if "passive" in args.methods else "")
        + ".",
        "",
    ]
    for system in args.systems:
        rng = np.random.default_rng([args.draw_seed, len(system)])
        rows, results = [], []
        for k in range(args.genuine):
            overrides = draw(system, rng)
            done = E.run_comparison(
                system,
                methods=list(args.methods),
                seeds=range(args.seeds),
                out=folder / system / f"genuine-{k}",
                generations=args.generations,
                true_params=overrides,
                preset=args.preset,
                c2st_trials=0,
                device=args.device,
                workers=args.workers,
                progress=not args.quiet,
            )
            rows.append((k, overrides, done.summary))
            results += done.results
        lines += section(system, rows, args.methods, args.seeds)
        lines += pooled(system, results, args.methods)
    (folder / "report.md").write_text("\n".join(lines) + "\n")
    if args.publish:
        E.publish(folder, Path("docs/results/generality"))
    print(f"report: {folder / 'report.md'}")
    return folder


def section(system: str, rows, methods, seeds: int) -> list[str]:
    quantities = HEADLINE[system]
    head = ["genuine", *[f"`{m}` {_label(q)}" for q in quantities for m in methods]]
    lines = [f"## {system}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k, overrides, summary in rows:
        cells = [f"{k}: {_describe(system, overrides)}"]
        for q in quantities:
            for m in methods:
                text = summary.cell_text(m, "top10_median", q)
                if seeds == 1:  # no spread to show
                    text = text.split(" [")[0]
                if m != "interrogate":
                    try:
                        text += (
                            f" (p {summary.value(m, q, 'top10_median', 'p_vs_interrogate'):.2g})"
                        )
                    except KeyError:
                        pass
                cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def pooled(system: str, results, methods) -> list[str]:
    """Every genuine system's runs together: median [IQR] per method, Holm-corrected
    Mann-Whitney p and rank-biserial r of ``interrogate`` against each other method, and how
    many runs their own convergence verdict flags."""
    from turing.reports.statistics import holm, mann_whitney, quartiles, rank_biserial

    def values(method: str, quantity: str) -> list[float]:
        return [_final(r, quantity) for r in results if r.mode == method]

    quantities = HEADLINE[system]
    head = ["method", "runs", *[_label(q) for q in quantities], "flagged NOT CONVERGED"]
    lines = [
        "All genuine systems pooled (top-10 median estimate; p: Mann-Whitney U of "
        "`interrogate` against the method, Holm-corrected across the quantities; r: "
        "rank-biserial, +1 when every `interrogate` run has the smaller error):",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for method in methods:
        runs = [r for r in results if r.mode == method]
        cells = [f"`{method}`", str(len(runs))]
        tests = [mann_whitney(values("interrogate", q), values(method, q)) for q in quantities]
        adjusted = holm(tests) if method != "interrogate" else tests
        for q, p in zip(quantities, adjusted, strict=True):
            median, q25, q75 = quartiles(values(method, q))
            text = f"{median:.3g} [{q25:.3g}, {q75:.3g}]"
            if method != "interrogate":
                r = rank_biserial(values("interrogate", q), values(method, q))
                text += f" (p {p:.2g}, r {r:+.2f})"
            cells.append(text)
        verdicts = [r.convergence for r in runs if r.convergence is not None]
        cells.append(f"{sum(not v['converged'] for v in verdicts)} of {len(verdicts)}")
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _final(result, quantity: str) -> float:
    if quantity.startswith("abs_error_"):
        return float(result.abs_error["top10_median"][quantity.removeprefix("abs_error_")])
    return float(result.data[quantity]["top10_median"])


def _describe(system: str, overrides: dict) -> str:
    if system == "sensor-self-id":
        return "sensors at " + ", ".join(
            f"{math.degrees(t):.0f}°/{r:.1f}" for t, r in overrides["layout"]
        )
    return json.dumps({k: round(v, 3) for k, v in overrides.items()})


def _label(quantity: str) -> str:
    return {"mean_angle_error_deg": "angle (deg)", "mean_radius_error_cm": "radius (cm)"}.get(
        quantity, quantity.removeprefix("abs_error_")
    )


if __name__ == "__main__":
    E.main(run, Args, "generality.py")
