"""``turing bench``: time whole generations against a per-trial Gymnasium loop."""

from __future__ import annotations

import argparse
import json

from turing.cli.common import assignments, option_values, positive_float, positive_int


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="time whole generations of the batched evaluator against a per-trial Gymnasium loop",
        description="Time generations of the batched all-vs-all evaluator at the paper's "
        "sizes (interrogation mode) and, in the same process, one interrogator stepping the "
        "system's Gymnasium env one trial at a time. Prints seconds per generation, trials/s "
        "and steps/s of both, and their ratio.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("system", help="registered system name (see `turing list`)")
    parser.add_argument("--device", default="cpu", help="torch device of the batched evaluator")
    parser.add_argument(
        "--generations",
        type=positive_int,
        default=5,
        help="generations timed (after one warm-up generation)",
    )
    parser.add_argument("--models", type=positive_int, default=100, help="models per generation")
    parser.add_argument(
        "--interrogators", type=positive_int, default=100, help="interrogators per generation"
    )
    parser.add_argument(
        "--threads", type=positive_int, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument(
        "--chunk-size", type=positive_int, help="trials simulated at once (default: the system's)"
    )
    parser.add_argument(
        "--gym-seconds",
        type=positive_float,
        default=3.0,
        help="how long to time the per-trial Gymnasium loop",
    )
    parser.add_argument(
        "--system-options", metavar="KEY=VALUE,...", help="options of the system's constructor"
    )
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="time only the compiled (--compile) or the eager (--no-compile) simulator step "
        "(default: both, where the system supports compilation; steps_per_second is the "
        "compiled figure)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args) -> int:
    import torch

    from turing.bench import benchmark
    from turing.runner import _check_device

    _check_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    figures = benchmark(
        args.system,
        generations=args.generations,
        models=args.models,
        interrogators=args.interrogators,
        device=args.device,
        gym_seconds=args.gym_seconds,
        chunk_size=args.chunk_size,
        system_options=option_values(assignments(args.system_options, "--system-options")),
        compile=args.compile,
    )
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    f = figures
    print(
        f"{f['system']} on {f['device']} ({f['threads']} thread(s)), {f['trials_per_generation']:,} trials x {f['steps']} steps per generation"
    )
    print(
        f"  batched evaluator: {f['seconds_per_generation']:.4f} s/generation (median of {f['generations_timed']}), "
        f"{f['trials_per_second']:,.0f} trials/s, {f['steps_per_second']:,.0f} steps/s"
        + (" (compiled)" if f["compiled"] else "")
    )
    both = "steps_per_second_compiled" in f and "steps_per_second_eager" in f
    for kind in ("compiled", "eager") if both else ():
        print(
            f"    {kind}: {f[f'seconds_per_generation_{kind}']:.4f} s/generation, "
            f"{f[f'steps_per_second_{kind}']:,.0f} steps/s; first generation "
            f"{f[f'first_generation_seconds_{kind}']:.1f} s"
            + (" (includes compiling)" if kind == "compiled" else "")
        )
    print(
        f"  per-trial gym loop ({f['env_id']}): {f['gym_loop_trials_per_second']:,.1f} trials/s, "
        f"{f['gym_loop_steps_per_second']:,.0f} steps/s ({f['gym_loop_trials']} trials)"
    )
    print(
        f"  speed-up: {f['speedup']:,.0f}x; 1000 generations: {f['seconds_per_1000_generations'] / 60:.1f} min"
    )
    return 0
