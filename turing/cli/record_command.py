"""``turing record``: genuine trials written in the format of ``--genuine-data``."""

from __future__ import annotations

from turing.cli.common import assignments, option_values, positive_int


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record genuine trials (a system's simulator or a Gymnasium env) to an NPZ",
        description="Record trials of a system's simulator (with --true-params) or of a "
        "Gymnasium env (--genuine) under the system's passive input or random inputs, and "
        "write them as `turing run --genuine-data` reads them: observations [trials, steps, "
        "obs] and actions [trials, steps - 1, act], float32 (actions[k, t] followed "
        "observation t). Logged data from elsewhere take the same format.",
    )
    parser.add_argument("system", help="the model system whose sizes and passive input apply")
    parser.add_argument("--out", required=True, metavar="FILE.npz", help="the file to write")
    parser.add_argument(
        "--trials", type=positive_int, default=1000, help="trials to record (default: 1000)"
    )
    parser.add_argument(
        "--steps",
        type=positive_int,
        metavar="T",
        help="observations per trial (default: the system's)",
    )
    parser.add_argument(
        "--inputs",
        choices=("passive", "random"),
        default="passive",
        help="what drives the trials: the system's passive input (its natural input or own "
        "controller, with the genuine values) or random piecewise-constant inputs "
        "(default: passive)",
    )
    parser.add_argument(
        "--genuine",
        metavar="ENV_ID",
        help="record this Gymnasium env instead of the system's simulator",
    )
    parser.add_argument(
        "--genuine-kwargs", metavar="KEY=VALUE,...", help="keyword arguments of the env"
    )
    parser.add_argument(
        "--true-params",
        metavar="NAME=VALUE,...",
        help="genuine values of the simulator (and of the passive controller)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="root seed of the recording (default: 0)"
    )
    parser.set_defaults(handler=run)


def run(args) -> int:
    from pathlib import Path

    from turing.errors import UserError
    from turing.genuine.recording import record_trials, save_recorded
    from turing.integrations.registry import make_system

    out = Path(args.out)
    if out.suffix != ".npz":
        raise UserError(f"--out {out}: give a file name ending in .npz")
    if out.exists() and not out.is_file():
        raise UserError(f"--out {out} exists and is not a regular file; choose another path")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: the folder {out.parent} does not exist")
    if args.seed < 0:
        raise UserError(f"--seed must be a non-negative whole number, got {args.seed}")
    system = make_system(args.system)
    observations, actions = record_trials(
        system,
        args.trials,
        args.steps,
        genuine=args.genuine,
        genuine_kwargs=option_values(assignments(args.genuine_kwargs, "--genuine-kwargs")),
        true_params=assignments(args.true_params, "--true-params"),
        inputs=args.inputs,
        seed=args.seed,
    )
    save_recorded(out, observations, actions)
    source = args.genuine or f"{system.name}'s simulator"
    print(
        f"{out}: {observations.shape[0]} trials of {observations.shape[1]} observations from "
        f"{source} under {args.inputs} inputs"
    )
    return 0
