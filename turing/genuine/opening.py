"""A run's genuine source, from its configuration (``--genuine``, ``--genuine-data``).

:func:`check_source` validates the configuration's source against the system and the mode
before anything is written (the env is built and tried, a recorded file read and checked);
:func:`open_source` opens it for the run. A recorded file is copied into the run folder
(``genuine/data.npz``) when the run starts, and its SHA-256 stored in ``config.json``, so a
run folder stands alone and a resumed run reads exactly the trials it started with.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from turing.contracts.config import RunConfig
from turing.contracts.system import System, Truth
from turing.engine import Engine
from turing.errors import UserError
from turing.genuine.data_source import DataSource, load_recorded, not_a_file
from turing.genuine.env_source import open_env_source
from turing.genuine.records import FOLDER
from turing.genuine.source import GenuineSource, SimulatorSource

DATA_COPY = "data.npz"
LIVE_MODES = ("interrogate", "gan-interrogate")
"""Modes whose interrogators choose the genuine system's inputs: they need a live source."""
PYTHON_OBJECT = "python:"
"""``config.genuine`` of a run whose genuine env was given as a Python object."""


def describe_object(genuine: Any) -> str:
    """What ``config.json`` records for a genuine env given as a Python object."""
    name = getattr(genuine, "__qualname__", None) or type(genuine).__qualname__
    module = getattr(genuine, "__module__", None) or type(genuine).__module__
    return f"{PYTHON_OBJECT}{module}.{name}"


def check_mode(config: RunConfig) -> None:
    """Refuses a mode that needs a live genuine system with recorded trials."""
    if config.genuine_data is not None and config.mode in LIVE_MODES:
        raise UserError(
            f"--mode {config.mode} chooses the genuine system's inputs, which recorded trials "
            "cannot follow; use --mode passive, passive-io or metric with --genuine-data, or "
            "a live --genuine env"
        )


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_path(config: RunConfig, run_path: str | Path | None) -> Path:
    """The recorded file a run reads: its copy in the run folder once the run has started."""
    if run_path is not None:
        copy = Path(run_path) / FOLDER / DATA_COPY
        if copy.exists():
            return copy
    return Path(config.genuine_data)


def open_source(
    config: RunConfig,
    system: System,
    truth: Truth,
    engine: Engine,
    run_path: str | Path | None = None,
    genuine: Any = None,
    modules: tuple[str, ...] = (),
) -> GenuineSource:
    """The genuine source of a run (checked: see :func:`open_env_source`, :func:`load_recorded`).

    Args:
        config: the run's configuration (resolved: ``steps`` set).
        engine: the run's engine (the simulator source runs on it).
        run_path: the run folder, once it exists (a recorded file is read from its copy).
        genuine: the env object a run was given from Python (a factory or a VectorEnv),
            when ``config.genuine`` says so.
        modules: modules that register Gymnasium ids (plugins), for the env workers.

    Raises:
        UserError: for a source that cannot serve this run.
    """
    check_mode(config)
    if config.genuine_data is not None:
        path = data_path(config, run_path)
        if config.genuine_digest is not None:
            if not path.is_file():
                raise UserError(
                    f"{path} is missing: the run folder lost its copy of the recorded genuine "
                    "trials; restore it, or start the run again"
                )
            if file_digest(path) != config.genuine_digest:
                raise UserError(
                    f"{path} is not the recorded file this run started with (its SHA-256 "
                    "differs); restore it, or start the run again"
                )
        observations, actions = load_recorded(path, system, config.steps)
        return DataSource(system, observations, actions, Path(config.genuine_data).name)
    if config.genuine is None:
        return SimulatorSource(engine, truth)
    target: Any = config.genuine
    if config.genuine.startswith(PYTHON_OBJECT):
        if genuine is None:
            raise UserError(
                f"this run's genuine env was a Python object ({config.genuine[len(PYTHON_OBJECT) :]}); "
                "continue it from Python: turing.resume(path, genuine=...) with the same object"
            )
        target = genuine
    return open_env_source(
        system,
        truth,
        config.steps,
        target,
        config.genuine_kwargs,
        config.genuine_workers,
        config.genuine_timeout,
        modules,
    )


def with_digest(config: RunConfig) -> RunConfig:
    """``config`` with the SHA-256 of its recorded file (before the run folder exists)."""
    import dataclasses

    if config.genuine_data is None or config.genuine_digest is not None:
        return config
    path = Path(config.genuine_data)
    if not path.is_file():
        raise not_a_file(path)
    return dataclasses.replace(config, genuine_digest=file_digest(path))


def keep_data(config: RunConfig, run_path: str | Path) -> None:
    """Copies the recorded file into the run folder (``genuine/data.npz``), checked against
    the digest in ``config``."""
    if config.genuine_data is None:
        return
    folder = Path(run_path) / FOLDER
    copy = folder / DATA_COPY
    if copy.is_file() and file_digest(copy) == config.genuine_digest:
        return
    folder.mkdir(exist_ok=True)
    temporary = folder / f".{DATA_COPY}.tmp"
    shutil.copyfile(config.genuine_data, temporary)
    if file_digest(temporary) != config.genuine_digest:
        temporary.unlink()
        raise UserError(
            f"--genuine-data {config.genuine_data} changed while the run started; start it again"
        )
    temporary.replace(copy)
