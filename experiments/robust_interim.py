"""Interim numbers of issue 18 from run folders that did not finish.

``experiments/robust.py`` and ``experiments/stuck_seeds.py`` were interrupted (the machine
was needed elsewhere); their run folders hold metrics.csv up to the generation each run
reached. This script reads them as they are, at equal generations, and writes what can be
said now: per-seed errors of case study 2 under the paper's algorithm (``default``) and
``--preset robust`` at generations every run of a group reached, the 15-degree marks, the
convergence signal (:mod:`turing.runs.convergence`) at the last generation of every run
against its actual error, and one figure. Nothing here runs a simulation. Usage::

    python experiments/robust_interim.py --root /work/runs/converge --out docs/results/robust

``--root`` is the ``--out`` of those scripts' runs (``stuck/``, ``robust/``, ``gw1000/``,
``screen/`` below it, as ``docs/results/robust/report.md`` lists).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from turing.integrations.registry import make_system
from turing.reports.statistics import holm, mann_whitney, quartiles, rank_biserial
from turing.runs.convergence import assess

CS2 = "sensor-self-id"
GROUPS = {
    # label: (folder patterns under --root, what the runs are)
    "default": (
        ["stuck/runs/interrogate", "robust/sensor-self-id/default-marks/runs/interrogate"],
        "the paper's algorithm",
    ),
    "robust": (
        [
            "gw1000/sensor-self-id/graded+wrapped/runs/interrogate",
            "robust/sensor-self-id/robust/runs/interrogate",
        ],
        "--preset robust as it was then (graded fitness, wrapped angles; zero start)",
    ),
    "graded+wrapped+uniform": (
        ["screen/sensor-self-id/graded+wrapped+uniform/runs/interrogate"],
        "robust with --init uniform",
    ),
    "graded+wrapped+wide": (
        ["screen/sensor-self-id/graded+wrapped+wide/runs/interrogate"],
        "robust with --model-sigma-init 0.3",
    ),
    "cma": (
        ["screen-cma/sensor-self-id/cma/runs/interrogate"],
        "robust with --model-strategy cma",
    ),
    "robust-passive": (
        ["robust/sensor-self-id/robust-passive/runs/passive"],
        "passive observation with --preset robust",
    ),
}
MARK_DEG = 15.0


@dataclass
class Args:
    """Interim numbers of issue 18 from interrupted run folders."""

    root: str = "/work/runs/converge"
    """the folder the interrupted scripts wrote to"""
    out: str = "reports/robust-interim"
    """where the tables (interim.md, interim.json) and the figure go"""


def load(root: Path) -> dict[str, dict[int, dict[str, np.ndarray]]]:
    """``{group: {seed: columns}}``; of two folders with the same seed (deterministic runs
    of the same settings, as the same first generations show), the longer."""
    groups: dict[str, dict[int, dict[str, np.ndarray]]] = {}
    for label, (folders, _) in GROUPS.items():
        runs: dict[int, dict[str, np.ndarray]] = {}
        for folder in folders:
            for metrics in sorted((root / folder).glob("seed-*/metrics.csv")):
                seed = int(metrics.parent.name.split("-")[1])
                rows = list(csv.DictReader(metrics.open()))
                columns = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
                if seed not in runs or len(rows) > len(runs[seed]["generation"]):
                    runs[seed] = columns
        groups[label] = runs
    return groups


def at(run: dict[str, np.ndarray], generation: int, key: str) -> float:
    return float(run[key][generation]) if generation < len(run[key]) else math.nan


def mark(run: dict[str, np.ndarray]) -> int | None:
    """First generation whose running median over 10 generations of the top-10 mean angle
    error is below 15 degrees (``experiments/convergence.py``'s definition)."""
    values = run["mean_angle_error_deg_top10"]
    for g in range(len(values)):
        if np.median(values[max(0, g - 9) : g + 1]) < MARK_DEG:
            return g
    return None


def fmt(values: list[float], digits: int = 3) -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "-"
    med, q25, q75 = quartiles(values)
    return f"{med:.{digits}g} [{q25:.{digits}g}, {q75:.{digits}g}] (n={len(values)})"


def main(args: Args) -> None:
    root, out = Path(args.root), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    groups = load(root)
    system = make_system(CS2)
    lines: list[str] = []
    record: dict = {"runs": {}}

    lines += [
        "## Runs read",
        "",
        "| group | settings | seeds: generations reached |",
        "|---|---|---|",
    ]
    for label, runs in groups.items():
        reached = ", ".join(f"{s}: {len(r['generation'])}" for s, r in sorted(runs.items()))
        lines.append(f"| `{label}` | {GROUPS[label][1]} | {reached} |")
        for seed, run in runs.items():
            record["runs"][f"{label}/{seed}"] = {
                "generations": len(run["generation"]),
                "angle_deg": float(run["mean_angle_error_deg_top10"][-1]),
                "radius_cm": float(run["mean_radius_error_cm_top10"][-1]),
                "mark": mark(run),
            }

    checkpoints = [100, 149, 225, 400, 999]
    lines += ["", "## Per seed, top-10 mean angle error (deg) / radius error (cm)", ""]
    lines += [
        "| group | seed | " + " | ".join(f"gen {g}" for g in checkpoints) + " | 15-deg mark |"
    ]
    lines += ["|---|---|" + "---|" * (len(checkpoints) + 1)]
    for label in ("default", "robust", "graded+wrapped+uniform"):
        for seed, run in sorted(groups[label].items()):
            cells = []
            for g in checkpoints:
                a, r = (
                    at(run, g, "mean_angle_error_deg_top10"),
                    at(run, g, "mean_radius_error_cm_top10"),
                )
                cells.append("-" if math.isnan(a) else f"{a:.1f} / {r:.3f}")
            m = mark(run)
            lines.append(
                f"| `{label}` | {seed} | "
                + " | ".join(cells)
                + f" | {m if m is not None else '-'} |"
            )

    # Equal generations: the last generation every default and robust run reached.
    lines += ["", "## default against robust at equal generations", ""]
    lines += [
        "| generation | quantity | `default` | `robust` | Holm p | r |",
        "|---|---|---|---|---|---|",
    ]
    record["equal"] = {}
    for g in (149, 225):
        rows, ps = [], []
        for key, unit in (
            ("mean_angle_error_deg_top10", "angle (deg)"),
            ("mean_radius_error_cm_top10", "radius (cm)"),
        ):
            d = [at(r, g, key) for r in groups["default"].values()]
            b = [at(r, g, key) for r in groups["robust"].values()]
            d, b = [v for v in d if not math.isnan(v)], [v for v in b if not math.isnan(v)]
            ps.append(mann_whitney(b, d))
            rows.append((unit, d, b, rank_biserial(b, d)))
        for (unit, d, b, r), p in zip(rows, holm(ps), strict=True):
            lines.append(f"| {g} | {unit} | {fmt(d)} | {fmt(b)} | {p:.2g} | {r:+.2f} |")
            record["equal"][f"{g}/{unit}"] = {"default": d, "robust": b, "p_holm": p, "r": r}
    lines += ["", "r: rank-biserial, +1 when every `robust` seed has the smaller error."]

    # The paper's comparison so far: robust interrogation against robust passive observation.
    g = min(len(r["generation"]) for r in groups["robust-passive"].values()) - 1
    lines += ["", f"## robust: interrogation against passive observation at generation {g}", ""]
    lines += [
        "| quantity | `robust` interrogate | `robust` passive | Holm p | r |",
        "|---|---|---|---|---|",
    ]
    rows, ps = [], []
    for key, unit in (
        ("mean_angle_error_deg_top10", "angle (deg)"),
        ("mean_radius_error_cm_top10", "radius (cm)"),
    ):
        b = [at(r, g, key) for r in groups["robust"].values()]
        p = [at(r, g, key) for r in groups["robust-passive"].values()]
        ps.append(mann_whitney(b, p))
        rows.append((unit, b, p, rank_biserial(b, p)))
    for (unit, b, p, r), ph in zip(rows, holm(ps), strict=True):
        lines.append(f"| {unit} | {fmt(b)} | {fmt(p)} | {ph:.2g} | {r:+.2f} |")
        record.setdefault("passive", {})[unit] = {"generation": g, "p_holm": ph, "r": r}

    lines += ["", "## 15-degree marks (median over seeds)", ""]
    for label in ("default", "robust", "graded+wrapped+uniform"):
        marks = [mark(r) for r in groups[label].values()]
        reached = [m for m in marks if m is not None]
        median = float(np.median(reached)) if len(reached) == len(marks) else math.nan
        lines.append(
            f"- `{label}`: {sorted(marks, key=lambda m: (m is None, m))} -> median {median:g}"
        )
        record.setdefault("marks", {})[label] = {"marks": marks, "median": median}

    lines += ["", "## Convergence signal at each run's last generation", ""]
    lines += [
        "| group | seed | generations | drift (% of a range) | Turing-test gap | verdict | angle (deg) | radius (cm) |"
    ]
    lines += ["|---|---|---|---|---|---|---|---|"]
    record["signal"] = {}
    for label in ("default", "robust", "graded+wrapped+uniform"):
        for seed, run in sorted(groups[label].items()):
            a = assess(system, run)
            if a is None:
                continue
            verdict = "converged" if a["converged"] else "**NOT CONVERGED**"
            lines.append(
                f"| `{label}` | {seed} | {len(run['generation'])} | {100 * a['drift']:.1f} "
                f"({a['drift_parameter']}) | {a['gap']:+.2f} | {verdict} | "
                f"{run['mean_angle_error_deg_top10'][-1]:.1f} | {run['mean_radius_error_cm_top10'][-1]:.3f} |"
            )
            record["signal"][f"{label}/{seed}"] = {k: a[k] for k in ("drift", "gap", "converged")}

    lines += ["", "## The signal over time of the 1000-generation runs", ""]
    cuts = (250, 500, 750, 1000)
    lines += [
        "| group | seed | " + " | ".join(f"first {c}: drift %, gap, angle" for c in cuts) + " |"
    ]
    lines += ["|---|---|" + "---|" * len(cuts)]
    for label in ("default", "robust"):
        for seed, run in sorted(groups[label].items()):
            if len(run["generation"]) < 1000:
                continue
            cells = []
            for c in cuts:
                a = assess(system, {k: v[:c] for k, v in run.items()})
                flag = "" if a["converged"] else " **flag**"
                cells.append(
                    f"{100 * a['drift']:.0f}, {a['gap']:+.2f}, "
                    f"{run['mean_angle_error_deg_top10'][c - 1]:.1f}{flag}"
                )
            lines.append(f"| `{label}` | {seed} | " + " | ".join(cells) + " |")

    (out / "interim.md").write_text("\n".join(lines) + "\n")
    (out / "interim.json").write_text(json.dumps(record, indent=1) + "\n")
    figure(groups, out / "interim.png")
    print("\n".join(lines))


def figure(groups, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    styles = {
        "default": dict(color="tab:red", lw=1.0),
        "robust": dict(color="tab:blue", lw=1.0),
        "graded+wrapped+uniform": dict(color="tab:green", lw=1.0, ls="--"),
    }
    for ax, key, unit, target in (
        (axes[0], "mean_angle_error_deg_top10", "mean angle error (deg)", 5.0),
        (axes[1], "mean_radius_error_cm_top10", "mean radius error (cm)", 0.3),
    ):
        for label, style in styles.items():
            for i, (seed, run) in enumerate(sorted(groups[label].items())):
                ax.plot(run[key], alpha=0.8, label=label if i == 0 else None, **style)
                ax.annotate(
                    str(seed), (len(run[key]) - 1, run[key][-1]), fontsize=7, color=style["color"]
                )
        # The published default grids (medians and quartiles over seeds).
        published = {
            "mean_angle_error_deg_top10": [(300, 8.55, 7.66, 9.78), (1000, 3.36, 2.33, 13.0)],
            "mean_radius_error_cm_top10": [
                (300, 0.125, 0.0853, 0.143),
                (1000, 0.130, 0.0886, 0.198),
            ],
        }[key]
        for j, (g, med, lo, hi) in enumerate(published):
            ax.errorbar([g], [med], yerr=[[med - lo], [hi - med]], fmt="ks", ms=5, capsize=4,
                        label="published default (median, IQR)" if j == 0 else None)  # fmt: skip
        ax.axhline(target, color="k", ls=":", lw=0.8)
        if key.startswith("mean_angle"):
            ax.axhline(MARK_DEG, color="grey", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("generation")
        ax.set_ylabel(f"top-10 median estimate: {unit}")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8, loc="upper right")
    fig.suptitle(
        "Case study 2, one line per seed (number at its last generation): paper's algorithm vs --preset robust"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    import tyro

    main(tyro.cli(Args))
