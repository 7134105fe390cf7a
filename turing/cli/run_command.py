"""``turing run``: one run of one method on one system, or the continuation of one."""

from __future__ import annotations

from turing.cli.options import add_config_options, config_values
from turing.errors import UserError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="infer a system's parameters (Turing Learning or a baseline)",
        description="Infer a system's parameters. Writes a run folder (config.json, "
        "metrics.csv, result.json, checkpoints/, plots/) and prints the estimates and "
        "their errors. `turing run --resume DIR` continues an interrupted run.",
    )
    parser.add_argument("system", nargs="?", help="registered system name (see `turing list`)")
    parser.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the run in DIR from its latest checkpoint (its other options are "
        "taken from DIR)",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="run folder (default: a new folder under runs/)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from turing.contracts.config import RunConfig
    from turing.runs.runner import Runner

    quiet = args.quiet
    values = config_values(args)
    if args.resume:
        if args.system or values:
            raise UserError(
                "give either SYSTEM and options or --resume DIR, not both (a resumed run "
                "keeps its configuration)"
            )
        runner = Runner.resume(args.resume, progress=not quiet)
        if runner.run_dir.is_finished():
            print(f"{args.resume} holds a finished run; nothing to do (see its result.json)")
            return 0
        print(
            f"resuming {args.resume} at generation {runner.generation} of {runner.config.generations}"
        )
    else:
        if values.get("generations") is not None and values.get("budget") is not None:
            raise UserError(
                "give --generations or --budget, not both (the budget sets the generations)"
            )
        if not args.system:
            raise UserError(
                "name a SYSTEM to run (see `turing list`) or continue one with --resume DIR"
            )
        runner = Runner.create(
            RunConfig(system=args.system, **values), out=args.out, progress=not quiet
        )
        if runner.run_dir.is_finished():
            print(f"{runner.run_dir.path} already holds this run, finished; nothing to do")
            return 0
        if runner.generation:
            print(
                f"{runner.run_dir.path} holds this run unfinished; resuming at generation {runner.generation}"
            )
    result = runner.run()
    print(result.summary())
    return 0
