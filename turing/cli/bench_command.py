"""``turing bench``: time generations on each backend against a per-trial Gymnasium loop."""

from __future__ import annotations

import json

from turing.cli.common import positive_float, positive_int
from turing.cli.options import add_config_options, config_values

BENCH_FIELDS = ("models", "interrogators", "device", "threads", "chunk_size", "system_options")
"""The run options a benchmark takes (declared once, in RunConfig)."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="time generations of the trial engine (each backend) against a per-trial Gymnasium loop",
        description="Time generations of the all-vs-all evaluator at the paper's sizes "
        "(interrogation mode) on each backend of the trial engine (native: the fused kernel "
        "generated from the system's torch methods, on CPU threads or CUDA; compiled: "
        "torch.compile, with CUDA graphs on a GPU; eager torch) and, in the same process, one "
        "interrogator stepping the system's Gymnasium env one trial at a time. Prints seconds "
        "per generation and trial-steps per second (robot-steps for the e-puck) of each, and "
        "their ratio. The torch backends on a CPU are timed on one chunk of a generation (what "
        "a run simulates at once) and scaled.",
    )
    parser.add_argument("system", help="registered system name (see `turing list`)")
    parser.add_argument(
        "--generations",
        type=positive_int,
        default=5,
        help="generations timed on the main backend, after one warm-up generation; 3 on the "
        "others (default: 5)",
    )
    parser.add_argument(
        "--runs",
        type=positive_int,
        default=1,
        help="runs (seeds) whose generations are simulated as one batch, as compare does on a "
        "GPU (default: 1)",
    )
    parser.add_argument(
        "--backends",
        metavar="B1,B2",
        help="backends to time: native, compiled, eager (default: every one that runs on the "
        "device)",
    )
    parser.add_argument(
        "--reference-trials",
        type=positive_int,
        default=None,
        help="trials the eager backend (and on a CPU the compiled one) is timed on, the result "
        "scaled to a generation (default: one chunk, --chunk-size or the system's, as runs "
        "simulate them)",
    )
    parser.add_argument(
        "--busy",
        type=int,
        default=0,
        help="CPU-bound processes to run meanwhile, to measure on a busy machine (default: 0)",
    )
    parser.add_argument(
        "--gym-seconds",
        type=positive_float,
        default=3.0,
        help="seconds to time the per-trial Gymnasium loop (default: 3)",
    )
    add_config_options(parser, BENCH_FIELDS)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from turing.engine import BACKENDS
    from turing.errors import UserError
    from turing.reports.bench import benchmark
    from turing.runs.setup import check_device

    run = {"models": 100, "interrogators": 100, "device": "cpu", "threads": None}
    run.update(config_values(args, BENCH_FIELDS))
    check_device(run["device"])
    _check_sizes(args.system, run)
    backends = None
    if args.backends:
        backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
        unknown = [b for b in backends if b not in BACKENDS]
        if unknown or not backends:
            raise UserError(
                f"--backends {args.backends!r}: choose among {', '.join(BACKENDS)} (comma-separated)"
            )
    if args.busy < 0:
        raise UserError(f"--busy must be 0 or more, got {args.busy}")
    from turing.runs.limits import check_threads

    check_threads(run["threads"])
    figures = benchmark(
        args.system,
        generations=args.generations,
        models=run["models"],
        interrogators=run["interrogators"],
        device=run["device"],
        gym_seconds=args.gym_seconds,
        chunk_size=run.get("chunk_size"),
        system_options=run.get("system_options") or {},
        backends=backends,
        runs=args.runs,
        threads=run["threads"],
        reference_trials=args.reference_trials,
        busy=args.busy,
    )
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    f = figures
    runs = f"{f['runs_batched']} runs batched, " if f["runs_batched"] > 1 else ""
    busy = f", {f['busy_processes']} busy processes" if f["busy_processes"] else ""
    print(
        f"{f['system']} on {f['device']} ({f['device_name']}; {f['threads']} thread(s){busy}): "
        f"{runs}{f['trials_per_generation']:,} trials x {f['steps']} steps per generation"
    )
    for backend in ("native", "compiled", "eager"):
        if f"seconds_per_generation_{backend}" not in f:
            continue
        main = " <- runs use it" if backend == f["backend"] else ""
        scaled = f["timed_trials_" + backend] < f["trials_per_generation"] * f["runs_batched"]
        print(
            f"  {backend:>8}: {f[f'seconds_per_generation_{backend}']:.4f} s/generation, "
            f"{f[f'steps_per_second_{backend}'] / 1e6:,.2f} M steps/s; first batch "
            f"{f[f'first_generation_seconds_{backend}']:.1f} s"
            + (f" (timed on {f['timed_trials_' + backend]:,} trials)" if scaled else "")
            + main
        )
    print(
        f"  per-trial gym loop ({f['env_id']}): {f['gym_loop_trials_per_second']:,.1f} trials/s, "
        f"{f['gym_loop_steps_per_second']:,.0f} steps/s ({f['gym_loop_trials']} trials)"
    )
    print(
        f"  speed-up: {f['speedup']:,.0f}x; 1000 generations: {f['seconds_per_1000_generations'] / 60:.1f} min"
    )
    return 0


def _check_sizes(system: str, run: dict) -> None:
    """Validates the benchmarked run as a run (system, options, sizes this machine can
    simulate) before anything is built."""
    from turing.contracts.config import RunConfig
    from turing.runs.runner import Runner

    Runner.resolve(RunConfig(system=system, **run))
