"""The Ray executor: every cell of a comparison as a Ray task (1 CPU, or a GPU) on a
cluster or a local Ray; a task whose worker dies is retried and resumes from its cell's
checkpoint."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from typing import Any

from turing.comparisons.cells import Cell
from turing.comparisons.monitor import POLL_SECONDS, Monitor, one_line
from turing.comparisons.tasks import run_cell
from turing.errors import Interrupted, UserError

CONNECT_TIMEOUT_SECONDS = 20.0
"""How long connecting to a Ray cluster may take (the whole command must fail within 30 s)."""
RAY_PORT = 6379
RAY_CLIENT_PORT = 10001
RAY_EXTRA = 'pip install "turing-learning[ray]"'


def import_ray():
    # Ray's C++ core logs every retry of an unreachable cluster as a warning; errors suffice.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
    try:
        import ray
    except ImportError:
        raise UserError(
            f"the ray executor needs Ray, which is not installed: {RAY_EXTRA}"
        ) from None
    return ray


def ray_endpoint(address: str) -> tuple[str, int] | None:
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
        endpoint = ray_endpoint(address)
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
    except KeyboardInterrupt as exc:
        monitor.close()
        raise Interrupted.of(
            exc,
            "interrupted; finished cells are kept and unfinished ones resume from their last "
            f"checkpoint: rerun the same command (or `turing compare --resume {monitor.path}`)",
        ) from None
    finally:
        if started:
            ray.shutdown()
