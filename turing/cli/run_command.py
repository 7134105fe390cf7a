"""``turing run``: one run of one method on one system, or the continuation of one."""

from __future__ import annotations

import argparse

from turing.cli.common import (
    assignments,
    non_negative_int,
    option_values,
    positive_float,
    positive_int,
)
from turing.errors import UserError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="infer a system's parameters (Turing Learning or a baseline)",
        description="Infer a system's parameters. Writes a run folder (config.json, "
        "metrics.csv, result.json, checkpoints/, plots/) and prints the estimates and "
        "their errors. `turing run --resume DIR` continues an interrupted run.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("system", nargs="?", help="registered system name (see `turing list`)")
    parser.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the run in DIR from its latest checkpoint (other options are taken from DIR)",
    )
    parser.add_argument(
        "--mode",
        default="interrogate",
        help="interrogate (Turing Learning), passive (GAN-like: the discriminator only observes the system under its natural input), passive-io (also sees the input); `turing list` shows all modes",
    )
    parser.add_argument(
        "--generations",
        type=positive_int,
        help="generations to run (default: the system's, 300 for agent-inference)",
    )
    parser.add_argument(
        "--budget",
        type=positive_int,
        help="simulated trial-steps instead of --generations: the run gets as many "
        "generations as fit (a coevolution generation simulates 2 x models x interrogators "
        "trials of --steps steps; metric and gan cost the same per generation, sbi a round "
        "of simulations x trials)",
    )
    parser.add_argument(
        "--models", type=positive_int, default=100, help="model population size (mu + lambda)"
    )
    parser.add_argument(
        "--interrogators", type=positive_int, default=100, help="interrogator population size"
    )
    parser.add_argument(
        "--steps",
        type=positive_int,
        help="interrogator updates per trial (default: the system's, 100)",
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="root seed of every random stream"
    )
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N")
    parser.add_argument(
        "--true-params",
        metavar="NAME=VALUE,...",
        help="genuine values that differ from the defaults, e.g. a=0.6,p=0.35",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="run folder (default: a new folder under runs/)"
    )
    parser.add_argument(
        "--checkpoint-every", type=positive_int, default=25, help="generations between checkpoints"
    )
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        help="trials simulated at once; bounds memory without changing the experiment's size (default: the system's)",
    )
    parser.add_argument(
        "--model-sigma-init",
        type=positive_float,
        default=0.1,
        help="initial model step size, as a fraction of each parameter's range (the original code used 1 on [0, 1])",
    )
    parser.add_argument(
        "--interrogator-sigma-init",
        type=positive_float,
        default=1.0,
        help="initial interrogator step size",
    )
    parser.add_argument(
        "--init",
        choices=("zero", "uniform"),
        default="zero",
        help="initial genes: zero (clamped into bounds, as the original code) or uniform within bounds",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        help="CPU threads of the simulation (default: every core for native kernels, which "
        "have no barriers and stay fast on a busy machine; one for torch)",
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "native", "compiled", "eager"),
        default="auto",
        help="how trials are simulated: native (the system's C kernel, fused with the "
        "interrogators), compiled (torch.compile; CUDA graphs on a GPU), eager (plain torch); "
        "auto: native on a CPU where the system has a kernel, compiled on CUDA, else eager",
    )
    parser.add_argument(
        "--method-options",
        metavar="KEY=VALUE,...",
        help="options of a baseline mode, e.g. batch=500,hidden=32 for gan (an unknown key "
        "lists the mode's options)",
    )
    parser.add_argument(
        "--c2st-trials",
        type=non_negative_int,
        default=1000,
        help="trials per class of the C2ST judge at the end (genuine vs best estimate under "
        "random inputs; 0.5 = indistinguishable); 0 skips it",
    )
    parser.add_argument(
        "--model-fitness",
        choices=("verdict", "graded"),
        default="verdict",
        help="a model's fitness: verdict (the paper: fraction of interrogators judging it "
        "genuine) or graded (their mean output 0 on its trials)",
    )
    parser.add_argument(
        "--periodic-genes",
        choices=("bounded", "wrapped"),
        default="bounded",
        help="mutation of angle parameters: bounded (the paper's code: redrawn until in "
        "[-pi, pi]) or wrapped (modulo the period: an angle can cross the seam)",
    )
    parser.add_argument(
        "--system-options",
        metavar="KEY=VALUE,...",
        help="options of the system's constructor, e.g. noise_std=0.1",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from turing.config import RunConfig
    from turing.runner import Runner

    quiet = args.quiet
    if args.resume:
        if args.system:
            raise UserError(
                "give either SYSTEM or --resume DIR, not both (a resumed run keeps its system)"
            )
        runner = Runner.resume(args.resume, progress=not quiet)
        if runner.run_dir.is_finished():
            print(f"{args.resume} holds a finished run; nothing to do (see its result.json)")
            return 0
        print(
            f"resuming {args.resume} at generation {runner.generation} of {runner.config.generations}"
        )
    else:
        if args.generations is not None and args.budget is not None:
            raise UserError(
                "give --generations or --budget, not both (the budget sets the generations)"
            )
        if not args.system:
            raise UserError(
                "name a SYSTEM to run (see `turing list`) or continue one with --resume DIR"
            )
        config = RunConfig(
            system=args.system,
            mode=args.mode,
            generations=args.generations,
            models=args.models,
            interrogators=args.interrogators,
            steps=args.steps,
            seed=args.seed,
            device=args.device,
            true_params=assignments(args.true_params, "--true-params"),
            system_options=option_values(assignments(args.system_options, "--system-options")),
            checkpoint_every=args.checkpoint_every,
            chunk_size=args.chunk_size,
            model_sigma_init=args.model_sigma_init,
            interrogator_sigma_init=args.interrogator_sigma_init,
            init=args.init,
            model_fitness=args.model_fitness,
            periodic_genes=args.periodic_genes,
            threads=args.threads,
            backend=args.backend,
            budget=args.budget,
            method_options=option_values(assignments(args.method_options, "--method-options")),
            c2st_trials=args.c2st_trials,
        )
        runner = Runner.create(config, out=args.out, progress=not quiet)
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
