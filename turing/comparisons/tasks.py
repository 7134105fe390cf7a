"""What a worker runs: one cell, or a batch of cells in lockstep, each an ordinary run
folder created or resumed by :class:`~turing.runs.runner.Runner`, so a cell's result does
not depend on where it ran or how often it was interrupted. Workers start from a fresh
interpreter: they exit with their parent and import the modules that registered the
comparison's plugin systems and methods first."""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from collections.abc import Sequence
from typing import Any

from turing.comparisons.cells import Cell
from turing.contracts.config import RunConfig
from turing.contracts.legacy import LegacySystemWarning
from turing.integrations.registry import get_registration
from turing.methods.method import get_method
from turing.runs.runner import Runner


def run_cell(config: dict[str, Any], path: str, modules: Sequence[str] = ()) -> dict[str, Any]:
    """Runs (or resumes, or just reports) one cell; what a worker process executes.

    Args:
        config: the cell's :class:`RunConfig` as JSON.
        path: its run folder.
        modules: modules to import first (those that register a plugin system or method).

    Returns:
        where and how it ran: ``pid``, ``host``, ``start_generation`` (0 unless resumed),
        ``seconds``.
    """
    import_modules(modules)
    start = time.perf_counter()
    runner = Runner.create(RunConfig.from_json(config), out=path, progress=False)
    start_generation = runner.generation
    runner.run()
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "start_generation": start_generation,
        "seconds": time.perf_counter() - start,
    }


def run_batch(
    configs: Sequence[dict[str, Any]], paths: Sequence[str], modules: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Runs several cells in lockstep in this process (:func:`turing.runs.lockstep.run_lockstep`:
    their generations simulated as one batch); what a worker executes for a batch.

    Returns:
        one ``run_cell``-like record per cell (``seconds`` is the batch's).
    """
    from turing.runs.lockstep import run_lockstep

    import_modules(modules)
    start = time.perf_counter()
    runners = [
        Runner.create(RunConfig.from_json(c), out=p, progress=False)
        for c, p in zip(configs, paths, strict=True)
    ]
    starts = [r.generation for r in runners]
    run_lockstep(runners)
    seconds = time.perf_counter() - start
    host, pid = socket.gethostname(), os.getpid()
    return [{"pid": pid, "host": host, "start_generation": g, "seconds": seconds} for g in starts]


def batches(todo: Sequence[Cell], size: int) -> list[list[Cell]]:
    """``todo`` in tasks of up to ``size`` cells that can share a batch (coevolution runs of
    one configuration but for mode and seed); other cells alone."""
    from turing.engine.evaluator import COEVOLUTION_MODES

    if size <= 1:
        return [[c] for c in todo]
    groups: dict[str, list[Cell]] = {}
    alone = []
    for cell in todo:
        if cell.method in COEVOLUTION_MODES:
            shared = {k: v for k, v in cell.config.items() if k not in ("mode", "seed")}
            groups.setdefault(repr(sorted(shared.items())), []).append(cell)
        else:
            alone.append([cell])
    tasks = []
    for cells in groups.values():
        tasks += [cells[k : k + size] for k in range(0, len(cells), size)]
    return tasks + alone


def run_task(cells: Sequence[Cell], modules: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One task: a cell, or a batch of cells in lockstep."""
    if len(cells) == 1:
        return [run_cell(cells[0].config, str(cells[0].path), modules)]
    return run_batch([c.config for c in cells], [str(c.path) for c in cells], modules)


_WATCHED: set[int] = set()


def exit_with_parent(poll_seconds: float = 1.0, parent: int | None = None) -> None:
    """Makes this worker process exit when the process that started it dies.

    A pool's workers outlive a parent that is killed (SIGTERM, SIGKILL): they would go on
    running their cells while a new `turing compare` runs the same cells, two writers in
    one run folder. On Linux the kernel kills the worker when its parent dies; everywhere a
    daemon thread watches the parent and ends the worker. Its run resumes from its last
    checkpoint, as after any crash (writes are atomic).

    Args:
        poll_seconds: how often the thread looks.
        parent: the parent's pid as the parent knew it. A worker spends seconds importing
            torch before it gets here; a parent killed meanwhile is noticed (without it,
            the orphan read the parent's reparented pid as its parent and ran its queued
            cells).
    """
    expected = os.getppid() if parent is None else parent
    if parent is not None:
        _signal_when_parent_dies()
    if os.getppid() != expected:
        os._exit(1)  # the parent died while this worker started
    if expected in _WATCHED:
        return
    _WATCHED.add(expected)

    def watch() -> None:
        while os.getppid() == expected:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _signal_when_parent_dies() -> None:
    """Linux: SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG); elsewhere nothing. (Not
    SIGTERM: an idle worker would print a traceback where the parent's terminal was.)"""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _checkpoint_on_sigterm() -> None:
    """SIGTERM raises :class:`~turing.errors.Terminated` in the worker, so its run saves a
    checkpoint as on Ctrl-C (a terminated `turing compare` passes SIGTERM on)."""
    import signal

    from turing.errors import Terminated

    def terminate(signum, frame) -> None:
        raise Terminated()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, terminate)


def import_modules(modules: Sequence[str], parent: int | None = None) -> None:
    """Readies a fresh worker process: it exits with its parent (:func:`exit_with_parent`;
    ``parent``: the parent's pid, given by a pool's initializer), then imports ``modules``
    (plugin systems and methods)."""
    import importlib

    # (Importing any turing module imports the package, which registers the built-in
    # systems and methods.)

    exit_with_parent(parent=parent)
    _checkpoint_on_sigterm()
    # The command that started the worker has said it once (a system written for 0.1).
    warnings.filterwarnings("ignore", category=LegacySystemWarning)

    for module in modules:
        # A spawned worker has already run the parent's __main__ as __mp_main__.
        if module in ("__main__", "__mp_main__"):
            continue
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # A module loaded from a file path has no importable name; turing.integrations.plugins
            # passes such modules to child processes itself (TURING_SYSTEM_MODULES).
            if exc.name != module:
                raise


def plugin_modules(system: str, methods: Sequence[str]) -> list[str]:
    """The modules that registered ``system`` and ``methods``, where they are not turing's.

    Workers start from a fresh interpreter: systems and methods that do not come with turing
    itself must be imported there again, from the module that registered them.
    """
    sources = [get_registration(system).source, *(get_method(m).__module__ for m in methods)]
    modules = []
    for source in sources:
        if (
            source
            and source != "turing"
            and not source.startswith("turing.")
            and source not in modules
        ):
            modules.append(source)
    return modules
