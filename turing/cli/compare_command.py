"""``turing compare``: a grid of runs (methods x seeds) of one system, run in parallel on
worker processes or a Ray cluster, with summary tables, box plots, convergence plots and
Mann-Whitney U tests."""

from __future__ import annotations

import sys

from turing.cli.common import assignments, non_negative_int, option_values, positive_int
from turing.cli.options import FIELDS, add_config_options, config_values
from turing.errors import UserError

RUN_FIELDS = [
    name
    for name, field in FIELDS.items()
    if field.metadata.get("cli", True) and name not in ("mode", "seed")
]
"""The run options every cell shares (each cell's mode and seed come from --methods and
--seeds)."""
COMPARE_DEFAULTS = {"threads": (1, "1 per run: the cells run in parallel instead")}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare methods over seeds on one system (tables, box plots, p-values)",
        description="Run every (method, seed) cell of a comparison as an ordinary run folder "
        "under DIR/runs/, in parallel (worker processes, or Ray tasks with --executor ray), "
        "then write DIR/summary.csv, DIR/summary.md, DIR/cells.csv and DIR/plots/ (box plots "
        "of each parameter's absolute error, one box per method; convergence plots, median "
        "and interquartile range over seeds) with two-sided Mann-Whitney U p-values of "
        "interrogate against every other method. Running the same command again skips "
        "finished cells and resumes unfinished ones; more --methods or --seeds extend the grid.",
    )
    parser.add_argument("system", nargs="?", help="registered system name (see `turing list`)")
    parser.add_argument(
        "--out", metavar="DIR", help="the comparison folder (required, except with --resume)"
    )
    parser.add_argument(
        "--methods",
        default="interrogate,passive",
        help="comma-separated methods (modes; `turing list` shows them), or 'all' for every "
        "method the system supports",
    )
    parser.add_argument(
        "--seeds",
        type=positive_int,
        default=5,
        help="seeds per method: 0 .. N-1 (from --first-seed)",
    )
    parser.add_argument("--first-seed", type=non_negative_int, default=0, help="the first seed")
    add_config_options(parser, RUN_FIELDS, COMPARE_DEFAULTS)
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="worker processes on this machine, or Ray tasks",
    )
    parser.add_argument(
        "--batch",
        type=positive_int,
        help="coevolution cells one process runs in lockstep, their trials as one batch "
        "(default: 1 on a CPU; on CUDA every such cell, up to 32)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        help="cells run at once; None: one per CPU core (on a Ray cluster: no cap)",
    )
    parser.add_argument(
        "--address",
        metavar="ADDR",
        help="Ray cluster address (host:port, ray://host:port or auto); None: a local Ray",
    )
    parser.add_argument(
        "--retries",
        type=non_negative_int,
        default=2,
        help="restarts of a cell whose worker process died (it resumes from its checkpoint)",
    )
    parser.add_argument(
        "--resume", metavar="DIR", help="continue the comparison in DIR with its stored definition"
    )
    parser.add_argument(
        "--summarise-only",
        action="store_true",
        help="only rewrite the summary of --out DIR (or --resume DIR) from its finished runs",
    )
    parser.add_argument("--no-plots", action="store_true", help="write the tables without figures")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from turing.comparisons.comparison import Comparison
    from turing.comparisons.executors import check_executor

    folder = args.resume or args.out
    if args.summarise_only:
        if not folder:
            raise UserError("--summarise-only needs the comparison folder: --out DIR")
        summary = Comparison.open(folder).summarise(plots=not args.no_plots)
        _print(summary)
        return 0
    # Bad execution options (or a missing Ray) fail before the comparison folder is touched.
    check_executor(args.executor, args.workers, args.address, args.retries)
    if args.resume:
        if args.system or args.out:
            raise UserError(
                "give either SYSTEM --out DIR or --resume DIR, not both (a resumed comparison keeps its definition)"
            )
        comparison = Comparison.open(args.resume)
    else:
        if not args.system:
            raise UserError(
                "name a SYSTEM to compare on (see `turing list`), or continue a comparison with --resume DIR"
            )
        if not args.out:
            raise UserError("give the comparison folder with --out DIR")
        values = config_values(args, RUN_FIELDS, COMPARE_DEFAULTS)
        comparison = Comparison.create(
            args.system,
            methods=_methods(args.methods, args.system, getattr(args, "system_options", None)),
            seeds=range(args.first_seed, args.first_seed + args.seeds),
            out=args.out,
            **values,
        )
    summary = comparison.run(
        executor=args.executor,
        batch=args.batch,
        workers=args.workers,
        address=args.address,
        retries=args.retries,
        progress=not args.quiet,
        plots=not args.no_plots,
    )
    _print(summary)
    if summary.failures:
        for name, message in summary.failures.items():
            print(f"turing compare: cell {name} failed: {message}", file=sys.stderr)
        print(
            f"turing compare: {len(summary.failures)} cell(s) failed (see {comparison.path / 'log.csv'}); "
            "rerun the command to retry them",
            file=sys.stderr,
        )
        return 1
    return 0


def _methods(text: str, system: str, system_options: str | None) -> list[str]:
    """The methods named by ``--methods``; ``all`` expands to every method the system
    supports (those it cannot, or whose optional extra is missing, are listed and left out)."""
    if text.strip() != "all":
        names = [m.strip() for m in text.split(",")]
        if not all(names):
            raise UserError(
                f"--methods {text!r} has an empty name; separate methods by single commas, "
                "e.g. interrogate,passive"
            )
        return names
    from turing.integrations.registry import make_system
    from turing.methods.method import get_method, method_names

    instance = make_system(system, **option_values(assignments(system_options, "--system-options")))
    chosen = []
    for method in method_names():
        try:
            get_method(method).check_supported(instance, method)
        except UserError as exc:
            print(f"turing compare: leaving out {method}: {exc}", file=sys.stderr)
            continue
        chosen.append(method)
    return chosen


def _print(summary) -> None:
    # The estimate the reports and the README's tables use: steadier than the best model.
    print(summary.table("top10_median"))
    verdicts = summary.convergence_lines()
    if verdicts:
        print()
        print("\n".join(verdicts))
    if summary.path is not None:
        print()
        print(f"summary: {summary.path / 'summary.md'}, {summary.path / 'summary.csv'}")
        figures = [str(f) for f in summary.files if f.suffix == ".png"]
        if figures:
            print("figures: " + ", ".join(figures))
