"""The run folder: everything a run wrote, readable without the process that wrote it.

Layout::

    config.json          the RunConfig (what determines the result)
    metrics.csv          one row per generation
    result.json          the final answer (written last: its presence means "finished")
    checkpoints/         gen-NNNNNN.npz: both populations, step sizes and generator states
    populations.npz      the last evaluated generation, ranked (for replays)
    episodes/            recorded interrogation trials (NPZ)
    plots/               figures (PNG)

Nothing here is a pickle: opening a run folder someone sent you cannot execute code. Every
whole-file write goes to a temporary file in the same folder and is renamed into place,
so a crash never leaves a half-written file under its real name.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from turing.errors import UserError

CONFIG = "config.json"
METRICS = "metrics.csv"
RESULT = "result.json"
POPULATIONS = "populations.npz"
KEEP_CHECKPOINTS = 2


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` via a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite(value: Any) -> Any:
    # JSON has no NaN/inf: write them as null so every reader can parse the file.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def atomic_write_json(path: Path, data: Any) -> None:
    text = json.dumps(_finite(data), indent=2, default=_json_default) + "\n"
    atomic_write_bytes(path, text.encode())


def atomic_write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write_bytes(path, buffer.getvalue())


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Loads an NPZ file without allowing pickled objects."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def format_value(value: Any) -> str:
    if isinstance(value, float | np.floating):
        # repr round-trips exactly, so a resumed run's rows compare bit for bit.
        return repr(float(value))
    return str(value)


class RunDir:
    """A run folder.

    Args:
        path: the folder.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # ------------------------------------------------------------------ identity
    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    @property
    def result_path(self) -> Path:
        return self.path / RESULT

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def plots_dir(self) -> Path:
        return self.path / "plots"

    @property
    def episodes_dir(self) -> Path:
        return self.path / "episodes"

    def is_run(self) -> bool:
        return self.config_path.is_file()

    def is_finished(self) -> bool:
        return self.result_path.is_file()

    def read_config(self) -> dict[str, Any]:
        """The stored configuration.

        Raises:
            UserError: if the folder is not a run folder.
        """
        if not self.path.exists():
            raise UserError(
                f"{self.path} does not exist; give the folder of a run (it holds {CONFIG})"
            )
        if not self.path.is_dir():
            raise UserError(
                f"{self.path} is not a folder; give the folder of a run (it holds {CONFIG})"
            )
        if not self.is_run():
            raise UserError(
                f"{self.path} is not a run folder (no {CONFIG}); give the folder a "
                "`turing run` wrote"
            )
        try:
            return json.loads(self.config_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(
                f"{self.config_path} cannot be read ({exc}); the run folder is damaged"
            ) from None

    def write_config(self, config: Mapping[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.config_path, dict(config))

    # ------------------------------------------------------------------ metrics
    def append_metrics(self, row: Mapping[str, Any]) -> None:
        """Appends one row (writing the header first if the file is new)."""
        new = not self.metrics_path.exists() or self.metrics_path.stat().st_size == 0
        with self.metrics_path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(list(row))
            writer.writerow([format_value(v) for v in row.values()])
            handle.flush()

    def read_metrics(self) -> list[dict[str, str]]:
        """All complete rows (a row cut short by a crash is ignored)."""
        if not self.metrics_path.exists():
            return []
        with self.metrics_path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        if not rows:
            return []
        header = rows[0]
        return [dict(zip(header, r, strict=True)) for r in rows[1:] if len(r) == len(header)]

    def metrics_arrays(self) -> dict[str, np.ndarray]:
        """Columns of metrics.csv as float arrays (non-numeric columns as strings)."""
        rows = self.read_metrics()
        if not rows:
            return {}
        columns: dict[str, np.ndarray] = {}
        for name in rows[0]:
            values = [r[name] for r in rows]
            try:
                columns[name] = np.array([float(v) if v != "" else np.nan for v in values])
            except ValueError:
                columns[name] = np.array(values)
        return columns

    def truncate_metrics(self, generations: int) -> None:
        """Keeps the rows of the first ``generations`` generations (atomically)."""
        if not self.metrics_path.exists():
            return
        with self.metrics_path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        if not rows:
            return
        header, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(body[:generations])
        atomic_write_bytes(self.metrics_path, buffer.getvalue().encode())

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(
        self, generation: int, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
    ) -> Path:
        """Writes ``checkpoints/gen-NNNNNN.npz`` and removes older ones beyond the last two."""
        path = self.checkpoint_dir / f"gen-{generation:06d}.npz"
        payload = dict(arrays)
        payload["__meta__"] = np.array(json.dumps(meta, default=_json_default))
        atomic_write_npz(path, payload)
        for old in self.checkpoints()[:-KEEP_CHECKPOINTS]:
            old.unlink(missing_ok=True)
        return path

    def checkpoints(self) -> list[Path]:
        if not self.checkpoint_dir.is_dir():
            return []
        return sorted(self.checkpoint_dir.glob("gen-*.npz"))

    def load_checkpoint(
        self, path: Path | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """The latest (or the given) checkpoint as ``(arrays, meta)``, or None."""
        paths = [path] if path else self.checkpoints()
        if not paths:
            return None
        arrays = load_npz(paths[-1])
        meta = json.loads(str(arrays.pop("__meta__")))
        return arrays, meta

    # ------------------------------------------------------------------ result
    def write_result(self, result: Mapping[str, Any]) -> None:
        atomic_write_json(self.result_path, dict(result))

    def read_result(self) -> dict[str, Any]:
        if not self.is_finished():
            raise UserError(
                f"{self.path} holds no {RESULT}: the run has not finished; "
                f"continue it with `turing run --resume {self.path}`"
            )
        return json.loads(self.result_path.read_text())

    def write_populations(self, arrays: Mapping[str, np.ndarray]) -> None:
        atomic_write_npz(self.path / POPULATIONS, arrays)

    def read_populations(self) -> dict[str, np.ndarray]:
        path = self.path / POPULATIONS
        if not path.is_file():
            raise UserError(
                f"{self.path} holds no {POPULATIONS}; it is not a finished run of an evolutionary method"
            )
        return load_npz(path)


def new_run_path(root: str | os.PathLike, parts: Sequence[str]) -> Path:
    """A fresh folder name under ``root`` from ``parts`` and the current time."""
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / ("-".join([*parts, stamp]))
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


class FolderLock:
    """An exclusive lock on a folder (a ``.lock`` file in it) held by one process at a
    time: ``flock``, so the OS releases it when the process dies, however it dies. Where
    ``fcntl`` does not exist (Windows) it locks nothing.

    Args:
        path: the folder (created if missing).
        busy: the one-line message of the :class:`UserError` raised when another process
            holds the lock.
    """

    def __init__(self, path: str | Path, busy: str):
        self.path = Path(path) / ".lock"
        self.busy = busy
        self.handle = None

    def acquire(self) -> FolderLock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.path.open("a")
        except OSError as exc:
            raise UserError(
                f"cannot write in {self.path.parent} ({exc.strerror}); choose a writable folder"
            ) from None
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.release()
            raise UserError(self.busy) from None
        return self

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()  # closing releases the flock
            self.handle = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
