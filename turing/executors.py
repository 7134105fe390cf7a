"""Where the cells of a comparison run: in this process, in worker processes, or as Ray
tasks; and how their progress is shown and logged.

Every executor runs the same function, :func:`run_cell`, which creates or resumes one
ordinary run folder (:class:`turing.runner.Runner`), so a cell's result does not depend on
where it ran or how often it was interrupted:

* inline: one cell after another in the calling process (one worker; a debugger works);
* local: a pool of ``spawn`` worker processes, one torch thread each. A worker that dies
  breaks the pool; a new pool resumes the unfinished cells from their checkpoints, up to
  ``retries`` times;
* Ray: each cell is a task (1 CPU) on a cluster or a local Ray; Ray retries a task whose
  worker dies, and the retry resumes from the cell's checkpoint.

Progress is read from the run folders themselves (each cell's ``metrics.csv`` grows by one
row per generation), so no channel from the workers is needed; ``log.csv`` records which
process ran which cell and from which generation.
"""

from __future__ import annotations

import contextlib
import csv
import multiprocessing
import os
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

from turing import rundir
from turing.config import RunConfig
from turing.errors import UserError
from turing.method import get_method
from turing.registry import get_registration
from turing.runner import Runner

if TYPE_CHECKING:  # compare.py imports this module
    from turing.compare import Cell

POLL_SECONDS = 1.0
"""How often progress is read from the run folders."""
CONNECT_TIMEOUT_SECONDS = 20.0
"""How long connecting to a Ray cluster may take (the whole command must fail within 30 s)."""
RAY_PORT = 6379
RAY_CLIENT_PORT = 10001
RAY_EXTRA = 'pip install "turing-learning[ray]"'


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
    """Runs several cells in lockstep in this process (:func:`turing.lockstep.run_lockstep`:
    their generations simulated as one batch); what a worker executes for a batch.

    Returns:
        one ``run_cell``-like record per cell (``seconds`` is the batch's).
    """
    from turing.lockstep import run_lockstep

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
    from turing.evaluator import COEVOLUTION_MODES

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


def exit_with_parent(poll_seconds: float = 1.0) -> None:
    """Makes this worker process exit when the process that started it dies.

    A pool's workers outlive a parent that is killed (SIGTERM, SIGKILL): they would go on
    running their cells while a new `turing compare` runs the same cells, two writers in
    one run folder. A daemon thread watches the parent and ends the worker; its run resumes
    from its last checkpoint, as after any crash.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def import_modules(modules: Sequence[str]) -> None:
    """Readies a fresh worker process: it exits with its parent (:func:`exit_with_parent`),
    then imports ``modules`` (plugin systems and methods)."""
    import importlib

    import turing  # noqa: F401  (registers the built-in systems and methods)

    exit_with_parent()

    for module in modules:
        # A spawned worker has already run the parent's __main__ as __mp_main__.
        if module in ("__main__", "__mp_main__"):
            continue
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # A module loaded from a file path has no importable name; turing.plugins
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


# ---------------------------------------------------------------------- backends
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
            initargs=(modules,),
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
        except KeyboardInterrupt:
            # The workers got the same Ctrl-C and checkpoint their runs; wait for that.
            pool.shutdown(wait=True, cancel_futures=True)
            monitor.close()
            raise UserError(
                f"interrupted; finished cells are kept and unfinished ones checkpointed: "
                f"rerun the same command (or `turing compare --resume {monitor.path}`) to continue"
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
        _ray_endpoint(address)  # its syntax
    return _import_ray()


def _import_ray():
    # Ray's C++ core logs every retry of an unreachable cluster as a warning; errors suffice.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
    try:
        import ray
    except ImportError:
        raise UserError(
            f"the ray executor needs Ray, which is not installed: {RAY_EXTRA}"
        ) from None
    return ray


def _ray_endpoint(address: str) -> tuple[str, int] | None:
    """``(host, port)`` to probe for ``address``, or None for ``auto``/``local``."""
    if address in ("auto", "local"):
        return None
    text, default_port = address, RAY_PORT
    if "://" in text:
        scheme, text = text.split("://", 1)
        if scheme != "ray":
            raise UserError(f"--address {address}: use host:port, ray://host:port or auto")
        default_port = RAY_CLIENT_PORT
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, str(default_port)
    host = host.strip("[]")
    if not host or not port.isdigit():
        raise UserError(f"--address {address}: use host:port, ray://host:port or auto")
    return host, int(port)


def _connect_ray(ray, address: str | None, workers: int | None) -> bool:
    """Connects to (or starts) Ray; returns whether this call initialised it."""
    if ray.is_initialized():
        return False  # the caller's own Ray session: use it as it is
    deadline = time.monotonic() + CONNECT_TIMEOUT_SECONDS
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": "error",
    }
    if address is None:
        kwargs["num_cpus"] = workers or os.cpu_count() or 1
    else:
        endpoint = _ray_endpoint(address)
        if endpoint is not None:
            # ray.init retries an unreachable address for minutes; a plain TCP probe fails fast.
            try:
                socket.create_connection(
                    endpoint, timeout=min(10.0, CONNECT_TIMEOUT_SECONDS / 2)
                ).close()
            except OSError as exc:
                raise UserError(
                    f"--address {address}: no Ray cluster can be reached there "
                    f"({exc.strerror or exc}); "
                    "check the address, or start one with `ray start --head`"
                ) from None
        kwargs["address"] = address
    where = f"--address {address}" if address else "a local Ray"
    if address is None:
        # Ray ties the processes it starts to the thread that starts them (they die when
        # it ends), so a local Ray must be started from this thread; starting cannot hang.
        try:
            ray.init(**kwargs)
        except Exception as exc:
            raise UserError(f"{where}: cannot start Ray ({one_line(exc)})") from None
        return True
    # Connecting to a cluster starts no process; a thread lets a silent endpoint time out.
    outcome: dict[str, Any] = {}

    def connect() -> None:
        try:
            ray.init(**kwargs)
            outcome["ok"] = True
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(max(1.0, deadline - time.monotonic()))
    if thread.is_alive():
        raise UserError(
            f"{where}: Ray did not connect within {CONNECT_TIMEOUT_SECONDS:.0f} s; "
            "check that a Ray head runs there"
        )
    if "error" in outcome:
        raise UserError(f"{where}: cannot connect to Ray ({one_line(outcome['error'])})")
    return True


def run_ray(
    ray,
    todo: list[Cell],
    workers: int | None,
    address: str | None,
    modules: list[str],
    retries: int,
    monitor: Monitor,
    failures: dict[str, str],
) -> None:
    """Runs ``todo`` as Ray tasks, one CPU each.

    Args:
        ray: the ``ray`` module.
        todo: the cells to run.
        workers: CPUs of a local Ray; on a cluster, a cap on tasks in flight (None: none).
        address: the cluster's address; None starts a local Ray for this call.
        modules: plugin modules each task imports first.
        retries: how often Ray retries a task whose worker died.
        monitor: progress and log.
        failures: filled with the cells that raised, name -> one-line message.

    Raises:
        UserError: if Ray cannot be reached or started, or on Ctrl-C.
    """
    started = _connect_ray(ray, address, workers)
    try:
        options: dict[str, Any] = {"num_cpus": 1, "max_retries": retries, "retry_exceptions": False}
        if todo and str(todo[0].config.get("device", "cpu")).startswith("cuda"):
            options["num_gpus"] = 1
        if modules and address is None:
            # Workers of a local Ray do not inherit the driver's import path; plugin modules
            # may live on it (on a cluster they must be installed on every node).
            path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
            options["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
        task = ray.remote(**options)(run_cell)
        in_flight_cap = workers if (address is not None and workers) else len(todo)
        queue = list(todo)
        refs: dict[Any, Cell] = {}
        while queue or refs:
            while queue and len(refs) < in_flight_cap:
                cell = queue.pop(0)
                refs[task.remote(cell.config, str(cell.path), modules)] = cell
                monitor.queued(cell)
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=POLL_SECONDS)
            for ref in ready:
                cell = refs.pop(ref)
                try:
                    info = ray.get(ref)
                except Exception as exc:  # the cell raised, or its worker died too often
                    cause = getattr(exc, "cause", None) or exc
                    failures[cell.name] = one_line(cause)
                    monitor.failed(cell, failures[cell.name])
                    continue
                monitor.finished(cell, info)
            monitor.poll()
    except KeyboardInterrupt:
        monitor.close()
        raise UserError(
            "interrupted; finished cells are kept and unfinished ones resume from their last "
            f"checkpoint: rerun the same command (or `turing compare --resume {monitor.path}`)"
        ) from None
    finally:
        if started:
            ray.shutdown()


# ---------------------------------------------------------------------- progress and log
class Monitor:
    """The progress bar over all cells' generations, the per-cell messages, and ``log.csv``.

    Generations are counted from each running cell's ``metrics.csv``, so the bar moves for
    every executor without any channel from the workers.

    Args:
        folder: the comparison folder (``log.csv`` goes there).
        label: the bar's label.
        generations: the budget of each cell of this run of the comparison, by name.
        todo: the cells not finished yet.
        progress: show the bar and the messages.
    """

    def __init__(
        self,
        folder: Path,
        label: str,
        generations: Mapping[str, int],
        todo: list[Cell],
        progress: bool,
    ):
        self.path = Path(folder)
        self.generations = dict(generations)
        self.total_cells = len(generations)
        self.done = len(generations) - len(todo)
        self.failed_count = 0
        self.running: dict[str, Cell] = {}
        # Generations done per cell; a resumed cell truncates its metrics to its checkpoint,
        # so the total may step back.
        self.rows = dict(self.generations)
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=sum(self.generations.values()),
                desc=label,
                unit="gen",
                file=sys.stderr,
                dynamic_ncols=True,
            )
        resumed = sum(1 for c in todo if c.status == "partial")
        self.note(
            f"{self.total_cells} cells: {self.done} finished (skipped), {resumed} to resume, "
            f"{len(todo) - resumed} to start"
        )
        for cell in todo:
            self.rows[cell.name] = _metrics_rows(cell.path)
        self._refresh()

    def queued(self, cell: Cell) -> None:
        self.running[cell.name] = cell

    @contextlib.contextmanager
    def polling(self):
        """Polls in a background thread while the body runs."""
        if self.bar is None:
            yield
            return
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(POLL_SECONDS):
                self.poll()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def poll(self) -> None:
        for cell in list(self.running.values()):
            self.rows[cell.name] = _metrics_rows(cell.path)
        self._refresh()

    def finished(self, cell: Cell, info: Mapping[str, Any]) -> None:
        self.running.pop(cell.name, None)
        self.done += 1
        self.rows[cell.name] = self.generations[cell.name]
        self._log(cell, "finished", info)
        resumed = (
            f", resumed at generation {info['start_generation']}"
            if info.get("start_generation")
            else ""
        )
        self.note(f"finished {cell.name} in {info['seconds']:.1f} s{resumed}")
        self._refresh()

    def failed(self, cell: Cell, message: str) -> None:
        self.running.pop(cell.name, None)
        self.failed_count += 1
        self._log(cell, "failed", {"error": message})
        self.note(f"FAILED {cell.name}: {message}")
        self._refresh()

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(f"turing compare: {text}", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self._refresh()
            self.bar.close()
            self.bar = None

    def _refresh(self) -> None:
        if self.bar is None:
            return
        self.bar.n = sum(min(r, self.generations[k]) for k, r in self.rows.items())
        failed = f", {self.failed_count} failed" if self.failed_count else ""
        self.bar.set_postfix_str(
            f"cells {self.done}/{self.total_cells} done, {len(self.running)} queued/running{failed}"
        )

    def _log(self, cell: Cell, event: str, info: Mapping[str, Any]) -> None:
        path = self.path / "log.csv"
        new = not path.exists()
        with path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(
                    ["time", "cell", "event", "host", "pid", "start_generation", "seconds", "error"]
                )
            writer.writerow(
                [
                    time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    cell.name,
                    event,
                    info.get("host", ""),
                    info.get("pid", ""),
                    info.get("start_generation", ""),
                    f"{info['seconds']:.3f}" if "seconds" in info else "",
                    info.get("error", ""),
                ]
            )


def _metrics_rows(path: Path) -> int:
    try:
        data = (path / "metrics.csv").read_bytes()
    except OSError:
        return 0
    return max(0, data.count(b"\n") - 1)


class FolderLock(rundir.FolderLock):
    """An exclusive lock on a comparison folder, so that two processes never run the same
    cells at once (released by the OS if the process dies)."""

    def __init__(self, path: Path):
        super().__init__(
            path,
            f"another `turing compare` is running in {path}; wait for it to finish, or stop "
            "it (its finished cells are kept)",
        )


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (
        f"{type(exc).__name__}: {text[-1] if text else ''}"
        if not isinstance(exc, UserError)
        else text[0]
    )
