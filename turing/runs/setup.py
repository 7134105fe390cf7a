"""What happens before a run's first generation: its configuration resolved (defaults of
the system and the method, the backend ``auto`` chooses, the engine's version), the device
checked, torch's threads set, and the run folder's writer lock taken."""

from __future__ import annotations

import dataclasses
import json
import platform
from importlib import metadata
from typing import Any

import torch

from turing.contracts.config import RunConfig
from turing.contracts.system import System
from turing.engine import ENGINE_VERSION, resolve_backend
from turing.engine.versions import torch_changed
from turing.engine.evaluator import COEVOLUTION_MODES
from turing.engine.scaling import is_identity
from turing.errors import UserError
from turing.methods.method import get_method
from turing.runs.rundir import FolderLock, RunDir


def resolve_config(config: RunConfig, system: System) -> RunConfig:
    """Fills the system's defaults into ``config`` (generations, steps, chunk size), and
    turns a ``budget`` of simulated trial-steps into generations of the method.

    Raises:
        UserError: if both ``generations`` and a ``budget`` that implies other generations
            are given.
    """
    config = dataclasses.replace(
        config.with_preset(),
        steps=config.steps or system.default_steps,
        chunk_size=config.chunk_size or system.default_chunk_size,
    )
    generations = config.generations
    if config.budget is not None:
        per_generation = (
            get_method(config.mode).trials_per_generation(config, system) * config.steps
        )
        from_budget = max(1, config.budget // per_generation)
        if generations is not None and generations != from_budget:
            raise UserError(
                f"give --generations or --budget, not both (--budget {config.budget} means "
                f"{from_budget} generations of {per_generation:,} trial-steps for {config.mode})"
            )
        generations = from_budget
    default = get_method(config.mode).default_generations or system.default_generations
    generations = generations or default
    return dataclasses.replace(
        config,
        generations=generations,
        backend=resolve_backend(system, config.steps, config.device, config.backend),
        engine=ENGINE_VERSION,
        # The genuine system as make_truth recreates it: a layout file given on the command
        # line is stored in config.json by value, so the run folder stands alone.
        true_params=system.make_truth(config.true_params).spec,
    )


def check_engine(stored_engine: int, config: RunConfig, system: System) -> None:
    """Refuses a run folder of an earlier trial engine that this one would continue with
    other results (:mod:`turing.engine.versions`): engine 3 scales what interrogators read
    by the system's declared bounds (:mod:`turing.engine.scaling`), which for many systems
    and modes is exactly the identity (case studies 1 and 2 in ``interrogate`` and
    ``passive``; every baseline); engine 4 rounds case study 2's and the swarm's torch
    simulators as their native kernels do (native runs continue bit for bit).

    Raises:
        UserError: for a folder whose continuation would mix two engines' results.
    """
    if stored_engine == ENGINE_VERSION:
        return
    if stored_engine == 2 and config.mode in COEVOLUTION_MODES:
        if not is_identity(system, sees_input=config.mode == "passive-io"):
            raise UserError(
                f"this run was written by trial engine {stored_engine}, whose {config.mode} "
                f"interrogators read {system.name}'s observations unscaled; engine "
                f"{ENGINE_VERSION} scales them to [0, 1] by the declared bounds, so continuing "
                "would mix the two: start the run again with this version (see CHANGELOG.md)"
            )
    reason = torch_changed(stored_engine, system, config.backend)
    if reason:
        raise UserError(
            f"this run was written by trial engine {stored_engine}, {reason}: continuing it "
            "would mix the two; start the run again with this version (see CHANGELOG.md)"
        )


def writer_lock(run_dir: RunDir) -> FolderLock:
    """The run folder's lock, acquired: one process writes a run at a time. Two writers
    (a `turing compare` restarted while an orphaned worker still ran the same cell) would
    interleave rows of metrics.csv and checkpoints.

    Raises:
        UserError: if another process is writing the run.
    """
    lock = FolderLock(
        run_dir.path,
        f"{run_dir.path} is being written by another process (a run has one writer); wait "
        f"for it to finish, or stop it and continue with `turing run --resume {run_dir.path}`",
    ).acquire()
    run_dir.pin_folder()  # from now on a write notices the folder removed or moved
    return lock


def versions() -> dict[str, str]:
    from turing.version import VERSION

    found = {"python": platform.python_version(), "platform": platform.platform()}
    found["turing-learning"] = VERSION  # the code that ran (see turing.version)
    for package in ("torch", "numpy", "deap", "gymnasium", "pybullet"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def check_device(device: str) -> None:
    """Checks that runs can use ``device`` here: the CPU, an available CUDA device (its
    index below the count) or Apple's MPS.

    Raises:
        UserError: for anything else (``meta``, ``xpu``, a missing GPU, a typo).
    """
    if not isinstance(device, str):
        raise UserError(f"--device must be a string such as cpu or cuda, got {device!r}")
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise UserError(
            f"--device {device!r} is not a torch device; use cpu, cuda or cuda:N"
        ) from None
    if parsed.type == "cpu":
        if parsed.index not in (None, 0):
            raise UserError(f"--device {device}: there is one CPU device; use --device cpu")
        return
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(
                f"--device {device}: CUDA is not available on this machine; use --device cpu"
            )
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            raise UserError(
                f"--device {device}: this machine has {count} CUDA device(s) (cuda:0.."
                f"cuda:{count - 1}); choose one of them"
            )
        return
    if parsed.type == "mps":
        if not torch.backends.mps.is_available():
            raise UserError(
                f"--device {device}: MPS is not available on this machine; use --device cpu"
            )
        return
    raise UserError(
        f"--device {device}: runs simulate on cpu, cuda or mps, not {parsed.type}; use "
        "--device cpu (or cuda where a GPU is present)"
    )


def check_backend(config: RunConfig, system: System) -> None:
    """Checks that the resolved backend can simulate ``system`` on the run's device.

    Raises:
        UserError: for ``native`` off the CPU or for a system without a kernel that builds.
    """
    if config.backend != "native":
        return
    if torch.device(config.device).type != "cpu":
        raise UserError(
            f"--backend native runs on the CPU, not {config.device}; use --backend compiled "
            "or auto there"
        )
    from turing.engine import native_kernel

    kernel = native_kernel(system, int(config.steps))
    if isinstance(kernel, str):
        raise UserError(f"--backend native: {kernel}; use --backend auto or eager")


def set_threads(config: RunConfig) -> None:
    """Torch runs on ``--threads`` threads, or one: its OpenMP threads meet at a barrier in
    every operation, and on a busy machine a descheduled one stalls the others (a generation
    45x slower than on one thread was measured). The native kernels take their threads from
    ``--threads`` too, or use every core (they have no barriers)."""
    torch.set_num_threads(int(config.threads or 1))


def normalised(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(data))
