"""Where the cells of a comparison run: in this process, in worker processes, or as Ray
tasks; and how their progress is shown and logged.

Every executor runs the same tasks (:mod:`turing.comparisons.tasks`: a cell, or a batch of
cells in lockstep), each creating or resuming ordinary run folders, so a cell's result does
not depend on where it ran or how often it was interrupted:

* inline: one cell after another in the calling process (one worker; a debugger works);
* local: a pool of ``spawn`` worker processes, one torch thread each. A worker that dies
  breaks the pool; a new pool resumes the unfinished cells from their checkpoints, up to
  ``retries`` times;
* Ray (:mod:`turing.comparisons.ray_executor`): each cell is a task (1 CPU) on a cluster
  or a local Ray; Ray retries a task whose worker dies, and the retry resumes from the
  cell's checkpoint.

Progress is read from the run folders themselves (each cell's ``metrics.csv`` grows by one
row per generation), so no channel from the workers is needed; ``log.csv`` records which
process ran which cell and from which generation.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from turing.comparisons.cells import Cell
from turing.comparisons.monitor import POLL_SECONDS, Monitor, one_line
from turing.comparisons.tasks import batches, import_modules, run_task
from turing.errors import Interrupted, Terminated, UserError


def run_inline(
    todo: list[Cell], monitor: Monitor, failures: dict[str, str], batch: int = 1
) -> None:
    """Runs ``todo`` one task after another in this process.

    Args:
        todo: the cells to run.
        monitor: progress and log.
        failures: filled with the cells that raised, name -> one-line message.
        batch: cells per task (:func:`batches`).
    """
    import torch

    threads = torch.get_num_threads()  # a run sets its own; give the caller theirs back
    try:
        for task in batches(todo, batch):
            for cell in task:
                monitor.queued(cell)
            # The monitor polls from a thread here, since this one is busy running the cells.
            with monitor.polling():
                try:
                    infos = run_task(task)
                except UserError:
                    raise  # e.g. Ctrl-C: the run saved a checkpoint and says how to continue
                except Exception as exc:  # a task's own error: report it, keep going
                    for cell in task:
                        failures[cell.name] = one_line(exc)
                        monitor.failed(cell, failures[cell.name])
                    continue
            for cell, info in zip(task, infos, strict=True):
                monitor.finished(cell, info)
    finally:
        torch.set_num_threads(threads)


def run_local(
    todo: list[Cell],
    workers: int,
    modules: list[str],
    retries: int,
    monitor: Monitor,
    failures: dict[str, str],
    batch: int = 1,
) -> None:
    """Runs ``todo`` on a pool of ``workers`` spawned processes.

    Args:
        todo: the cells to run.
        workers: processes (at most one per task).
        modules: plugin modules each worker imports first.
        retries: new pools after a worker died, each resuming the unfinished cells.
        monitor: progress and log.
        failures: filled with the cells that raised, name -> one-line message.
        batch: cells per task (:func:`batches`), run in lockstep by one worker.

    Raises:
        UserError: on Ctrl-C, once the workers have checkpointed their runs.
    """
    remaining = {c.name: c for c in todo}
    deaths = 0
    context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pools
    while remaining:
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(remaining)),
            mp_context=context,
            initializer=import_modules,
            initargs=(modules, os.getpid()),
        )
        broken = False
        try:
            futures = {
                pool.submit(run_task, task, modules): task
                for task in batches(list(remaining.values()), batch)
            }
            for cell in remaining.values():
                monitor.queued(cell)
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    task = futures[future]
                    try:
                        infos = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    except Exception as exc:  # a task's own error: report it, keep going
                        for cell in task:
                            remaining.pop(cell.name)
                            failures[cell.name] = one_line(exc)
                            monitor.failed(cell, failures[cell.name])
                        continue
                    for cell, info in zip(task, infos, strict=True):
                        remaining.pop(cell.name)
                        monitor.finished(cell, info)
                monitor.poll()
        except KeyboardInterrupt as exc:
            # A Ctrl-C reaches the workers too (one process group); a SIGTERM only this
            # process: pass it on. Either way they checkpoint their runs; wait for that.
            if isinstance(exc, Terminated):
                for child in multiprocessing.active_children():
                    child.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            monitor.close()
            raise Interrupted.of(
                exc,
                f"interrupted; finished cells are kept and unfinished ones checkpointed: "
                f"rerun the same command (or `turing compare --resume {monitor.path}`) to continue",
            ) from None
        pool.shutdown(wait=True)
        if broken and remaining:
            deaths += 1
            if deaths > retries:
                for name, cell in remaining.items():
                    failures[name] = f"its worker process died {deaths} times"
                    monitor.failed(cell, failures[name])
                return
            monitor.note(
                f"a worker process died; restarting {len(remaining)} unfinished cell(s) "
                "from their checkpoints"
            )


def check_executor(executor: str, workers: int | None, address: str | None, retries: int):
    """Checks the execution options (before anything is written); returns the ``ray``
    module for the Ray executor, else None.

    Raises:
        UserError: for a bad executor, worker count, retry count or address, or a missing Ray.
    """
    if executor not in ("local", "ray"):
        raise UserError(f"--executor must be 'local' or 'ray', got {executor!r}")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise UserError(f"--workers must be a positive whole number, got {workers!r}")
    if address is not None and executor != "ray":
        raise UserError("--address names a Ray cluster; add --executor ray")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise UserError(f"--retries must be a non-negative whole number, got {retries!r}")
    if executor != "ray":
        return None
    if address is not None:
        from turing.comparisons.ray_executor import ray_endpoint

        ray_endpoint(address)  # its syntax
    from turing.comparisons.ray_executor import import_ray

    return import_ray()
