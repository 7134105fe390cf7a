"""``turing plot``: redraw the figures of a run folder."""

from __future__ import annotations


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="redraw the figures of a run folder",
        description="Redraw the figures of a run folder into DIR/plots/ from its files alone "
        "(works on unfinished runs too, from the generations written so far).",
    )
    parser.add_argument("run_dir", metavar="DIR", help="a folder written by `turing run`")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from turing.contracts.config import RunConfig
    from turing.errors import UserError
    from turing.integrations.registry import make_system
    from turing.reports.run_figures import plot_run
    from turing.runs.integrity import check_unfinished
    from turing.runs.provenance import system_hint
    from turing.runs.result import Result
    from turing.runs.rundir import RunDir

    run_dir = RunDir(args.run_dir)
    stored = run_dir.read_config()
    config = RunConfig.from_run_folder(stored, str(run_dir.config_path))
    with system_hint(run_dir.path, config.system):
        system = make_system(config.system, **config.system_options)
    if run_dir.is_finished():
        result = Result.load(run_dir.path)
    else:
        check_unfinished(run_dir, stored)
        if not run_dir.read_metrics():
            raise UserError(f"{run_dir.path} has no generations yet; nothing to plot")
        truth = system.make_truth(config.true_params)
        data = {
            "system": config.system,
            "mode": config.mode,
            "seed": config.seed,
            "true_params": truth.reference,
        }
        result = Result(path=run_dir.path, config=config, data=data)
    for path in plot_run(result, system):
        print(path)
    return 0
