"""The reality gap: infer a physical robot's sensors with a fast simulator that is not it.

The genuine robot is ``turing/EpuckBullet-v0``: case study 2's e-puck as a physical PyBullet
robot (torque-limited motors, friction, slip, real collisions, an infrared model of its own;
``docs/specs/epuck-bullet.md`` lists every difference from the fast simulator, which it
was not tuned to match). Its sensors sit at the real e-puck's layout, so errors are known.
The models are the fast simulator (``sensor-self-id``, native kernel):

* **calibrated**: its 16 sensor parameters plus 5 calibration parameters
  (``--system-options calibrate=true``: motor lag, contact slip and turn, IR range and gain),
  with ``interrogate``, ``passive`` and ``metric``;
* **uncalibrated**: its 16 sensor parameters alone, with ``interrogate``
  (``turing run sensor-self-id --genuine turing/EpuckBullet-v0``).

Every run gets ``--genuine-trials K`` genuine trials per generation from PyBullet robots in
worker processes. Reported over seeds: the top-10 median's sensor errors against the
physical robot's true layout; a C2ST between the physical robot and (i) the fast simulator
with the true layout and no calibration, (ii) each calibrated ``interrogate`` estimate
(0.5: indistinguishable); the inferred calibration against the values a trajectory fit found
(``experiments/physics_gap.py``); and where the wall time went (genuine against model
trials).

    python experiments/reality_gap.py --paper --publish     # 5 seeds x 300 generations
    python experiments/reality_gap.py --seeds 1 --generations 20 --c2st-trials 100
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
from turing.runs.result import Result

SYSTEM = "sensor-self-id"
GENUINE = "turing/EpuckBullet-v0"
FITTED = {"motor_lag": 0.038, "contact_slip": 0.198, "contact_turn": 0.601,
          "ir_range_scale": 0.954, "ir_gain": 0.524}  # fmt: skip
"""The calibration a trajectory fit found (docs/specs/epuck-bullet.md, noise off)."""
QUANTITIES = (("mean_angle_error_deg", "angle error (deg)"),
              ("mean_radius_error_cm", "radius error (cm)"))  # fmt: skip


@dataclass
class Args:
    """Sensor self-identification of a physical PyBullet e-puck with the fast simulator."""

    seeds: int = 2
    """seeds per arm and method"""
    generations: int = 100
    """generations per run"""
    genuine_trials: int = 20
    """genuine (PyBullet) trials per generation"""
    methods: tuple[str, ...] = ("interrogate", "passive", "metric")
    """methods of the calibrated arm"""
    uncalibrated: bool = True
    """also run interrogate with the uncalibrated fast simulator"""
    c2st_trials: int = 500
    """trials per class of each C2ST (genuine ones from PyBullet)"""
    paper: bool = False
    """5 seeds x 300 generations, 1000-trial C2STs"""
    genuine_workers: int = 0
    """worker processes of each run's PyBullet robots (0: one per core)"""
    models: int = 100
    """model population size"""
    interrogators: int = 100
    """interrogator population size"""
    out: str = "reports/reality-gap"
    """where the runs and the report go"""
    publish: bool = False
    """copy the report and its figures to docs/results/reality-gap/"""
    quiet: bool = False
    """no progress display"""


def run(args: Args | None = None, **changes) -> Path:
    args = dataclasses.replace(args or Args(), **changes)
    if args.paper:
        args = dataclasses.replace(args, seeds=5, generations=300, c2st_trials=1000)
    folder = Path(args.out) / ("paper" if args.paper else f"s{args.seeds}-g{args.generations}")
    common = dict(
        seeds=range(args.seeds), generations=args.generations, genuine=GENUINE,
        genuine_trials=args.genuine_trials, genuine_workers=args.genuine_workers or None,
        c2st_trials=0, threads=1, workers=1, progress=not args.quiet, models=args.models,
        interrogators=args.interrogators,
    )  # fmt: skip
    arms = {"calibrated": E.run_comparison(SYSTEM, methods=list(args.methods),
                                           out=folder / "calibrated",
                                           system_options={"calibrate": True}, **common)}  # fmt: skip
    if args.uncalibrated:
        arms["uncalibrated"] = E.run_comparison(SYSTEM, methods=["interrogate"],
                                                out=folder / "uncalibrated", **common)  # fmt: skip
    c2st = _c2sts(folder, arms, args)
    figure = _figure(folder, arms, c2st)
    _report(folder, args, arms, c2st, figure)
    if args.publish:
        E.publish(folder, Path(__file__).resolve().parents[1] / "docs/results/reality-gap",
                  ["c2st.json"])  # fmt: skip
    print((folder / "report.md").read_text())
    return folder


# ----------------------------------------------------------------------------- C2ST
def _c2sts(folder: Path, arms, args: Args) -> dict[str, dict[str, float]]:
    """C2ST of the physical robot against (i) the uncalibrated fast simulator at the true
    layout, (ii) each calibrated interrogate estimate; cached in ``c2st.json``."""
    from turing.engine import Engine
    from turing.genuine.batches import TrialRunner
    from turing.genuine.env_source import open_env_source
    from turing.reports.c2st import c2st

    path = folder / "c2st.json"
    done = json.loads(path.read_text()) if path.is_file() else {}
    key = f"trials-{args.c2st_trials}"
    done.setdefault(key, {"spec_true_layout": {}, "calibrated_estimate": {}})
    table = done[key]
    jobs = [("spec_true_layout", seed, None) for seed in range(args.seeds)]
    jobs += [("calibrated_estimate", r.config.seed, r) for r in arms["calibrated"].results
             if r.config.mode == "interrogate"]  # fmt: skip
    for what, seed, result in jobs:
        if str(seed) in table[what]:
            continue
        system = turing.make_system(SYSTEM, calibrate=result is not None)
        truth = system.make_truth()
        estimate = result.estimates["top10_median"] if result else truth.reference
        source = open_env_source(system, truth, system.default_steps, GENUINE,
                                 workers=args.genuine_workers or None)  # fmt: skip
        try:
            runner = TrialRunner(Engine(system, system.default_steps, "cpu", "auto"), source)
            judged = c2st(system, truth, estimate, trials=args.c2st_trials, seed=seed,
                          runner=runner)  # fmt: skip
        finally:
            source.close()
        table[what][str(seed)] = judged.accuracy
        path.write_text(json.dumps(done, indent=1) + "\n")
    return table


# ----------------------------------------------------------------------------- output
def _values(results: list[Result], method: str, quantity: str) -> np.ndarray:
    return np.array([float(r.data[quantity]["top10_median"]) for r in results
                     if r.config.mode == method])  # fmt: skip


def _cell(values: np.ndarray) -> str:
    if values.size == 0:
        return "-"
    q25, q75 = np.percentile(values, [25, 75])
    return f"{np.median(values):.3g} [{q25:.3g}, {q75:.3g}]"


def _figure(folder: Path, arms, c2st) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    from turing.runs.files import save_figure

    groups = [
        (f"{m}\n(calibrated)", arms["calibrated"].results, m)
        for m in dict.fromkeys(r.config.mode for r in arms["calibrated"].results)
    ]
    if "uncalibrated" in arms:
        groups.append(("interrogate\n(uncalibrated)", arms["uncalibrated"].results, "interrogate"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, (quantity, label) in zip(axes[:2], QUANTITIES, strict=True):
        data = [_values(results, method, quantity) for _, results, method in groups]
        ax.boxplot(data, tick_labels=[g[0] for g in groups], showmeans=False)
        for k, values in enumerate(data):
            ax.plot(np.full(values.size, k + 1.0), values, "o", color="tab:blue", alpha=0.6)
        ax.set_ylabel(f"top-10 median {label} (log scale)")
        ax.set_yscale("log")
        plain = ticker.FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.grid(True, axis="y", which="both", alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
    labels = ["fast simulator,\ntrue layout,\nuncalibrated", "calibrated\ninterrogate\nestimates"]
    values = [np.array(list(c2st["spec_true_layout"].values())),
              np.array(list(c2st["calibrated_estimate"].values()))]  # fmt: skip
    axes[2].boxplot(values, tick_labels=labels)
    for k, v in enumerate(values):
        axes[2].plot(np.full(v.size, k + 1.0), v, "o", color="tab:blue", alpha=0.6)
    axes[2].axhline(0.5, color="grey", linestyle="--", linewidth=1)
    axes[2].set_ylim(0.45, 1.02)
    axes[2].set_ylabel("C2ST accuracy against the PyBullet robot")
    axes[2].set_title("0.5: a classifier cannot tell them apart", fontsize=9)
    axes[2].tick_params(axis="x", labelsize=8)
    fig.suptitle(
        "Reality gap: the fast simulator's sensors inferred from a physical PyBullet e-puck"
    )
    fig.tight_layout()
    return save_figure(fig, folder / "reality-gap.png")


def _report(folder: Path, args: Args, arms, c2st, figure: Path) -> None:
    from scipy.stats import mannwhitneyu

    calibrated = arms["calibrated"]
    lines = ["# Reality gap: a physical PyBullet e-puck identified with the fast simulator", ""]
    lines += E.header("experiments/reality_gap.py", calibrated,
                      f"{args.seeds} seeds x {args.generations} generations, "
                      f"{args.genuine_trials} genuine (PyBullet) trials per generation.")  # fmt: skip
    lines += ["", f"![reality gap]({figure.name})", "",
              "Top-10 median sensor errors against the physical robot's true layout, median "
              "[25th, 75th percentile] over seeds; p: two-sided Mann-Whitney U test against "
              "calibrated `interrogate`.", "",
              "| models | method | " + " | ".join(l for _, l in QUANTITIES) + " | p (angle) | n |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    reference = _values(calibrated.results, "interrogate", QUANTITIES[0][0])
    rows = [("calibrated", calibrated.results, m) for m in args.methods]
    if "uncalibrated" in arms:
        rows.append(("uncalibrated", arms["uncalibrated"].results, "interrogate"))
    for arm, results, method in rows:
        cells = [_cell(_values(results, method, q)) for q, _ in QUANTITIES]
        angle = _values(results, method, QUANTITIES[0][0])
        p = "-"
        if (arm, method) != ("calibrated", "interrogate") and min(angle.size, reference.size) > 1:
            p = f"{mannwhitneyu(reference, angle).pvalue:.2g}"
        lines.append(f"| {arm} | {method} | " + " | ".join(cells) + f" | {p} | {angle.size} |")
    lines += ["", "C2ST accuracy against the PyBullet robot (0.5: a classifier cannot tell "
              f"them apart; {args.c2st_trials} trials per class, random inputs):", "",
              f"- the fast simulator with the true layout, uncalibrated: "
              f"{_cell(np.array(list(c2st['spec_true_layout'].values())))}",
              f"- the calibrated interrogate estimates: "
              f"{_cell(np.array(list(c2st['calibrated_estimate'].values())))}", "",
              "Calibration inferred by calibrated `interrogate` (top-10 median, median over "
              "seeds) against a trajectory fit (`experiments/physics_gap.py`):", "",
              "| parameter | inferred | trajectory fit |", "|---|---|---|"]  # fmt: skip
    for name, fitted in FITTED.items():
        values = np.array([r.estimates["top10_median"][name] for r in calibrated.results
                           if r.config.mode == "interrogate"])  # fmt: skip
        lines.append(f"| {name} | {_cell(values)} | {fitted} |")
    lines += ["", "Where the time went (seconds per run, median over runs; genuine and model "
              "trials run at the same time):", "",
              "| models | method | wall | genuine trials | model trials |", "|---|---|---|---|---|"]  # fmt: skip
    for arm, results, method in rows:
        chosen = [r for r in results if r.config.mode == method]
        wall = np.median([r.data["wall_seconds"] for r in chosen]) if chosen else math.nan
        genuine = (
            np.median([r.data.get("trial_seconds", {}).get("genuine", math.nan) for r in chosen])
            if chosen
            else math.nan
        )
        model = (
            np.median([r.data.get("trial_seconds", {}).get("model", math.nan) for r in chosen])
            if chosen
            else math.nan
        )
        lines.append(f"| {arm} | {method} | {wall:.0f} | {genuine:.0f} | {model:.0f} |")
    if args.seeds < 5:
        lines += ["", f"With {args.seeds} seeds the smallest reachable two-sided Mann-Whitney "
                      f"p-value is {2 / math.comb(2 * args.seeds, args.seeds):.2g}."]  # fmt: skip
    (folder / "report.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    E.main(run, Args, "experiments/reality_gap.py")
