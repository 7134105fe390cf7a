"""How far is the fast e-puck simulator from the physical robot of ``turing/EpuckBullet-v0``,
and how much of the gap do the fast simulator's calibration parameters explain?

Both robots get the same wheel commands (piecewise-constant random commands, each wheel
uniform in [-1, 1], held ``--hold`` steps) from the same start poses. Measured:

* **motion**: the fast simulator run open loop from the physical robot's start, position
  and heading errors along the trial; and 1-s segments started from the physical robot's
  state at every step (pose, and for the calibrated simulator the wheels' speeds), split
  into segments in free space and segments with a contact;
* **sensors**: the fast simulator's readings at the physical robot's exact poses against
  the physical robot's readings;
* **calibration**: ``motor_lag`` and ``contact_slip`` fitted to the 1-s segments,
  ``ir_range_scale`` and ``ir_gain`` to the readings (grid, then Nelder-Mead), each
  parameter alone and all together;
* **throughput**: genuine trials per second of one process for ``Pendulum-v1`` and
  ``turing/EpuckBullet-v0`` (100-step trials, random actions).

Everything is seeded by ``--seed``. Writes ``results.json``, ``report.md`` and figures to
``--out``::

    python experiments/physics_gap.py                  # noise off in both: the systematic gap
    python experiments/physics_gap.py --noise --out reports/physics-gap-noise
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import gymnasium
import numpy as np
import torch
from scipy.optimize import minimize

import turing  # registers the environments
from turing.envs.epuck import calibration, sim
from turing.envs.epuck import constants as C
from turing.envs.epuck.infrared import InfraredModel
from turing.reports import experiment as E

SEGMENT = 10
"""Steps of a segment (1 s)."""


@dataclass
class Args:
    """The fast e-puck simulator against the physical one."""

    trials: int = 60
    """physical trials compared"""
    steps: int = 100
    """observations per trial"""
    hold: int = 5
    """steps each random wheel command is held"""
    seed: int = 1
    """root seed (commands, start poses, noise)"""
    noise: bool = False
    """wheel and sensor noise on in both simulators (off: the systematic gap alone)"""
    throughput_trials: int = 20
    """trials timed per environment"""
    figure_trials: int = 4
    """trajectories drawn"""
    out: str = "reports/physics-gap"
    """where results.json, report.md and the figures go"""


# ----------------------------------------------------------------------------- data
def throughput(env_id: str, trials: int, seed: int) -> dict:
    """Trials and steps per second of one env in this process (100-step trials)."""
    env = gymnasium.make(env_id)
    env.action_space.seed(seed)
    env.reset(seed=seed)  # built and warm
    begin = time.perf_counter()
    for k in range(trials):
        env.reset(seed=seed + k)
        for _ in range(99):
            env.step(env.action_space.sample())
    seconds = time.perf_counter() - begin
    env.close()
    return {"trials_per_s": trials / seconds, "steps_per_s": 100 * trials / seconds}


def collect(args: Args) -> dict[str, np.ndarray]:
    """The physical robot's trials under random piecewise-constant commands."""
    rng = np.random.default_rng(args.seed)
    env = gymnasium.make("turing/EpuckBullet-v0", noise=args.noise, steps=args.steps)
    levels = -(-(args.steps - 1) // args.hold)
    commands = rng.uniform(-1, 1, (args.trials, levels, 2)).repeat(args.hold, axis=1)
    commands = commands[:, : args.steps - 1].astype(np.float32)
    poses = np.zeros((args.trials, args.steps, 3))
    wheels = np.zeros((args.trials, args.steps, 2))
    readings = np.zeros((args.trials, args.steps, 8))
    for k in range(args.trials):
        obs, info = env.reset(seed=args.seed * 100_003 + k)
        poses[k, 0], wheels[k, 0], readings[k, 0] = info["pose"], info["wheel_speeds"], obs
        for t in range(args.steps - 1):
            obs, _, _, _, info = env.step(commands[k, t])
            poses[k, t + 1], wheels[k, t + 1] = info["pose"], info["wheel_speeds"]
            readings[k, t + 1] = obs
    env.close()
    return {"commands": commands, "poses": poses, "wheels": wheels, "readings": readings}


def in_contact(poses: np.ndarray, margin: float = 0.2) -> np.ndarray:
    """Whether the body is within ``margin`` cm of a wall or a cylinder, ``poses[..., 3]``."""
    x, y = poses[..., 0], poses[..., 1]
    wall = np.minimum.reduce([x, y, C.ARENA_SIZE - x, C.ARENA_SIZE - y]) - C.BODY_RADIUS
    centres = np.asarray(C.CYLINDER_CENTRES)
    gap = np.hypot(x[..., None] - centres[:, 0], y[..., None] - centres[:, 1]).min(-1)
    return np.minimum(wall, gap - C.BODY_RADIUS - C.CYLINDER_RADIUS) < margin


# ----------------------------------------------------------------------------- fast simulator
def run_fast(
    start: np.ndarray, wheels: np.ndarray, commands: np.ndarray, motion: tuple | None
) -> np.ndarray:
    """Poses ``[n, k + 1, 3]`` of the fast simulator (noise off, float64) from ``start``
    ``[n, 3]`` under ``commands`` ``[n, k, 2]``; ``motion`` = (motor_lag, contact_slip,
    contact_turn) or ``None`` (uncalibrated)."""
    pose = torch.as_tensor(start.T.copy(), dtype=torch.float64)
    n = pose.shape[1]
    if motion is not None:
        lag, slip, turn = (torch.full((n,), float(v), dtype=torch.float64) for v in motion)
        speeds = torch.as_tensor(wheels.T.copy(), dtype=torch.float64)
    out = [pose]
    for t in range(commands.shape[1]):
        action = torch.as_tensor(commands[:, t].T.copy(), dtype=torch.float64)
        left, right = sim.wheel_speeds(action)
        if motion is None:
            pose = sim.drive(pose, left, right)
        else:
            left, end_left = calibration.lagged_speeds(speeds[0], left, lag)
            right, end_right = calibration.lagged_speeds(speeds[1], right, lag)
            speeds = torch.stack([end_left, end_right])
            pose = calibration.drive(pose, left, right, slip, turn)
        out.append(pose)
    return torch.stack(out, dim=1).permute(2, 1, 0).numpy()


def pose_errors(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position (cm) and heading (deg) differences of poses ``[..., 3]``."""
    heading = np.degrees(np.abs(np.angle(np.exp(1j * (a[..., 2] - b[..., 2])))))
    return np.hypot(a[..., 0] - b[..., 0], a[..., 1] - b[..., 1]), heading


def segments(data: dict) -> dict[str, np.ndarray]:
    """Every 1-s window of every trial: starts, wheel speeds, commands, the physical robot's
    pose at the end, and whether it touched anything in between."""
    poses, wheels, commands = data["poses"], data["wheels"], data["commands"]
    trials, steps = poses.shape[:2]
    index = [(k, i) for k in range(trials) for i in range(steps - SEGMENT)]
    k, i = np.array(index).T
    window = i[:, None] + np.arange(SEGMENT + 1)
    return {
        "start": poses[k, i],
        "wheels": wheels[k, i],
        "commands": commands[k[:, None], window[:, :-1]],
        "end": poses[k, i + SEGMENT],
        "contact": in_contact(poses[k[:, None], window]).any(1),
    }


def segment_error(parts: dict, motion: tuple | None) -> dict[str, float]:
    """Median 1-s position and heading errors, overall, in free space and with contacts."""
    end = run_fast(parts["start"], parts["wheels"], parts["commands"], motion)[:, -1]
    position, heading = pose_errors(end, parts["end"])
    result = {}
    for name, mask in (
        ("all", np.ones_like(parts["contact"])),
        ("free", ~parts["contact"]),
        ("contact", parts["contact"]),
    ):
        result[f"position_cm_{name}"] = float(np.median(position[mask])) if mask.any() else None
        result[f"heading_deg_{name}"] = float(np.median(heading[mask])) if mask.any() else None
    result["mean_square_cm2"] = float(np.mean(position**2 + (np.radians(heading) * 3.7) ** 2))
    return result


NEUTRAL_MOTION = (0.0, 1.0, 1.0)
MOTION_BOUNDS = ((0.0, 0.5), (0.0, 1.0), (0.0, 2.0))
MOTION_GRID = (np.linspace(0.0, 0.15, 6), np.linspace(0.0, 1.0, 6), np.linspace(0.0, 2.0, 6))


def fit_motion(parts: dict, free: tuple[bool, bool, bool]) -> tuple[float, float, float]:
    """(motor_lag, contact_slip, contact_turn) minimising the 1-s segments' mean square
    error (a grid, then Nelder-Mead); a parameter not ``free`` keeps its neutral value."""

    def values(x) -> tuple[float, float, float]:
        it = iter(x)
        return tuple(
            float(np.clip(next(it), *bounds)) if f else neutral
            for f, bounds, neutral in zip(free, MOTION_BOUNDS, NEUTRAL_MOTION, strict=True)
        )

    def loss(x):
        return segment_error(parts, values(x))["mean_square_cm2"]

    axes = [a for a, f in zip(MOTION_GRID, free, strict=True) if f]
    candidates = np.array(np.meshgrid(*axes)).reshape(len(axes), -1).T
    best = min(candidates, key=loss)
    found = minimize(loss, best, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-4})
    return values(found.x if found.fun < loss(best) else best)


def _vectors(n: int, scale: float, gain: float) -> torch.Tensor:
    """Calibrated simulation vectors ``[29, n]`` of the real layout with an IR calibration."""
    layout = sim.genuine_layout(n, dtype=torch.float64)
    values = torch.tensor([[0.0], [1.0], [1.0], [scale], [gain]], dtype=torch.float64)
    values = values.expand(5, n)
    return torch.cat([layout, values])


def fast_readings(poses: np.ndarray, ir: tuple | None) -> np.ndarray:
    """The fast simulator's noise-free readings at ``poses`` ``[n, 3]`` for the real
    e-puck's layout, ``[n, 8]``; ``ir`` = (ir_range_scale, ir_gain) or ``None``."""
    pose = torch.as_tensor(poses.T.copy(), dtype=torch.float64)
    layout = sim.genuine_layout(pose.shape[1], dtype=torch.float64)
    distances = sim.ray_distances(pose, layout)
    if ir is None:
        return sim.readings_from_distances(distances).T.numpy()
    vector = _vectors(pose.shape[1], *ir)
    return calibration.readings_from_distances(distances, vector).T.numpy()


def fit_sensors(poses: np.ndarray, readings: np.ndarray) -> tuple[float, float]:
    """(ir_range_scale, ir_gain) minimising the mean square reading difference."""
    pose = torch.as_tensor(poses.T.copy(), dtype=torch.float64)
    distances = sim.ray_distances(pose, sim.genuine_layout(pose.shape[1], dtype=torch.float64))
    target = torch.as_tensor(readings.T.copy())

    def loss(x):
        scale, gain = float(np.clip(x[0], 0.5, 3.0)), float(np.clip(x[1], 0.2, 3.0))
        vector = _vectors(pose.shape[1], scale, gain)
        readings = calibration.readings_from_distances(distances, vector)
        return float((readings - target).square().mean())

    grid = [(s, g) for s in np.linspace(0.5, 3.0, 26) for g in np.linspace(0.2, 3.0, 29)]
    best = min(grid, key=loss)
    found = minimize(loss, best, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-8})
    return float(np.clip(found.x[0], 0.5, 3.0)), float(np.clip(found.x[1], 0.2, 3.0))


# ----------------------------------------------------------------------------- figures
def draw_trajectories(data, fast, calibrated, path: Path, count: int) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.2 * count, 3.6))
    for k in range(count):
        ax = figure.add_subplot(1, count, k + 1)
        for cx, cy in C.CYLINDER_CENTRES:
            ax.add_patch(
                __import__("matplotlib").patches.Circle((cx, cy), C.CYLINDER_RADIUS, color="0.6")
            )
        ax.plot(*data["poses"][k, :, :2].T, color="k", lw=1.6, label="physical (PyBullet)")
        ax.plot(*fast[k, :, :2].T, color="tab:red", lw=1.2, ls="--", label="fast, uncalibrated")
        ax.plot(*calibrated[k, :, :2].T, color="tab:blue", lw=1.2, ls=":", label="fast, calibrated")
        ax.plot(*data["poses"][k, 0, :2], "ko", ms=4)
        ax.set_xlim(0, C.ARENA_SIZE)
        ax.set_ylim(0, C.ARENA_SIZE)
        ax.set_aspect("equal")
        ax.set_title(f"trial {k}", fontsize=9)
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.legend(fontsize=6, loc="upper left")
    figure.suptitle("same start, same wheel commands, 10 s (open loop)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def draw_errors(open_loop: dict, sensor_fit: tuple, path: Path) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3.6))
    ax = figure.add_subplot(1, 2, 1)
    for name, style, color in (("uncalibrated", "--", "tab:red"), ("calibrated", ":", "tab:blue")):
        errors = open_loop[name]
        t = np.arange(errors.shape[1]) * C.CONTROL_STEP
        ax.plot(t, np.median(errors, 0), ls=style, lw=1.6, color=color, label=f"{name}: median")
        quartiles = np.percentile(errors, [25, 75], 0)
        ax.fill_between(t, *quartiles, color=color, alpha=0.12, label=f"{name}: quartiles")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("position error (cm)")
    ax.set_title("fast simulator against the physical robot, open loop", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax = figure.add_subplot(1, 2, 2)
    d = np.linspace(0, 12, 241)
    model = InfraredModel()
    ax.plot(d, [model.head_on(x) for x in d], "k", lw=1.6, label="physical (head-on wall)")
    fast = np.clip(sim.ir_response(torch.as_tensor(d)).numpy() / C.IR_NORMALISER, 0, 1)
    ax.plot(d, fast, "--", color="tab:red", label="fast: F(x) / 3000")
    scale, gain = sensor_fit
    calibrated = np.clip(
        gain * sim.ir_response(torch.as_tensor(d / scale)).numpy() / C.IR_NORMALISER, 0, 1
    )
    ax.plot(
        d,
        calibrated,
        ":",
        color="tab:blue",
        lw=1.6,
        label=f"calibrated: {gain:.2f} F(x / {scale:.2f}) / 3000",
    )
    ax.set_xlabel("distance (cm)")
    ax.set_ylabel("reading")
    ax.set_title("infrared response", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


# ----------------------------------------------------------------------------- report
def report(results: dict) -> str:
    """The results as Markdown tables."""
    args = results["args"]
    lines = [
        "# The fast e-puck simulator against turing/EpuckBullet-v0",
        "",
        f"{args['trials']} trials of {args['steps']} steps, random wheel commands held "
        f"{args['hold']} steps, noise {'on' if args['noise'] else 'off'} in both, seed "
        f"{args['seed']}; {100 * results['contact_share_of_segments']:.0f}% of the 1-s "
        "segments touch a wall or a cylinder. Command: `python experiments/physics_gap.py"
        + (" --noise" if args["noise"] else "")
        + "`.",
        "",
        "## Motion: median errors of 1-s segments started from the physical robot's state",
        "",
        "| fitted | motor_lag (s) | contact_slip | contact_turn | position (cm): all / free / "
        "contact | heading (deg): all / free / contact |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in results["motion_1s_segments"].items():
        lines.append(
            f"| {name} | {m['motor_lag']:.3f} | {m['contact_slip']:.3f} | "
            f"{m['contact_turn']:.3f} | "
            f"{m['position_cm_all']:.3f} / {m['position_cm_free']:.3f} / "
            f"{m['position_cm_contact']:.3f} | {m['heading_deg_all']:.2f} / "
            f"{m['heading_deg_free']:.2f} / {m['heading_deg_contact']:.2f} |"
        )
    lines += ["", "## Motion: median position error of whole trials, open loop (cm)", ""]
    lines += ["| | " + " | ".join(next(iter(results["open_loop_position_cm"].values()))) + " |"]
    lines += ["|---" * 4 + "|"]
    for name, row in results["open_loop_position_cm"].items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in row.values()) + " |")
    fit = results["sensor_fit"]
    lines += [
        "",
        f"## Sensors at the physical robot's poses (ir_range_scale {fit['ir_range_scale']:.3f}, "
        f"ir_gain {fit['ir_gain']:.3f})",
        "",
        "| | mean abs difference | where the physical robot reads > 0.05 | rms |",
        "|---|---|---|---|",
    ]
    for name, g in results["sensor_gap"].items():
        lines.append(
            f"| {name} | {g['mean_abs']:.4f} | "
            f"{g['mean_abs_where_physical_reads_over_0.05']:.4f} | {g['rms']:.4f} |"
        )
    lines += ["", "## Genuine-trial throughput of one process (100-step trials)", ""]
    lines += ["| environment | trials/s | steps/s |", "|---|---|---|"]
    for env_id, t in results["throughput"].items():
        lines.append(f"| {env_id} | {t['trials_per_s']:.1f} | {t['steps_per_s']:.0f} |")
    lines += ["", f"Load average when it started: {results['load_average']:.2f}.", ""]
    lines += ["![trajectories](trajectories.png)", "", "![errors](errors.png)", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main
def run(args: Args) -> dict:
    if args.steps < SEGMENT + 2 or args.trials < 1 or args.hold < 1:
        raise turing.UserError(
            f"--steps must be at least {SEGMENT + 2} (1-s segments), --trials and --hold at least 1"
        )
    times = sorted({SEGMENT, args.steps // 2, args.steps - 1})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    load = os.getloadavg()[0]
    speed = {
        env_id: throughput(env_id, args.throughput_trials, args.seed)
        for env_id in ("Pendulum-v1", "turing/EpuckBullet-v0")
    }
    data = collect(args)
    parts = segments(data)
    fits = {
        "none": NEUTRAL_MOTION,
        "motor_lag": fit_motion(parts, (True, False, False)),
        "contact_slip": fit_motion(parts, (False, True, False)),
        "contact_slip + contact_turn": fit_motion(parts, (False, True, True)),
        "all three": fit_motion(parts, (True, True, True)),
    }
    motion = {
        name: {
            **dict(zip(("motor_lag", "contact_slip", "contact_turn"), v, strict=True)),
            **segment_error(parts, v if name != "none" else None),
        }
        for name, v in fits.items()
    }
    start, wheels0 = data["poses"][:, 0], np.zeros((args.trials, 2))
    fast = run_fast(start, wheels0, data["commands"], None)
    calibrated = run_fast(start, wheels0, data["commands"], fits["all three"])
    open_loop = {
        "uncalibrated": pose_errors(fast, data["poses"])[0],
        "calibrated": pose_errors(calibrated, data["poses"])[0],
    }
    flat_poses = data["poses"].reshape(-1, 3)
    flat_readings = data["readings"].reshape(-1, 8)
    sensor_fit = fit_sensors(flat_poses, flat_readings)
    sensors = {}
    for name, ir in (("uncalibrated", None), ("calibrated", sensor_fit)):
        difference = np.abs(fast_readings(flat_poses, ir) - flat_readings)
        near = flat_readings > 0.05
        sensors[name] = {
            "mean_abs": float(difference.mean()),
            "mean_abs_where_physical_reads_over_0.05": float(difference[near].mean()),
            "rms": float(np.sqrt((difference**2).mean())),
        }
    results = {
        "args": asdict(args),
        "load_average": load,
        "throughput": speed,
        "motion_1s_segments": motion,
        "open_loop_position_cm": {
            name: {f"t={t / 10:g}s": float(np.median(e[:, t])) for t in times}
            for name, e in open_loop.items()
        },
        "contact_share_of_segments": float(parts["contact"].mean()),
        "sensor_fit": {"ir_range_scale": sensor_fit[0], "ir_gain": sensor_fit[1]},
        "sensor_gap": sensors,
    }
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "report.md").write_text(report(results))
    draw_trajectories(data, fast, calibrated, out / "trajectories.png", args.figure_trials)
    draw_errors(open_loop, sensor_fit, out / "errors.png")
    print(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    E.main(run, Args, "physics_gap.py")
