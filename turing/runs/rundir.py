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

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from turing.errors import UserError
from turing.runs.disk import Pin
from turing.runs.files import (
    TEMPORARY_SUFFIX,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_npz,
    folder_path,
    json_default,
    load_npz,
    read_json,
    refuse_links,
    save_figure,
)
from turing.runs.metrics_file import MetricsFile, format_value

CONFIG = "config.json"
METRICS = "metrics.csv"
RESULT = "result.json"
POPULATIONS = "populations.npz"
KEEP_CHECKPOINTS = 2
# Re-exported: the run folder's readers and writers are used through this module.
__all__ = [
    "FolderLock",
    "RunDir",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_npz",
    "format_value",
    "load_npz",
    "new_run_path",
    "read_json",
    "refuse_links",
    "save_figure",
]

class RunDir:
    """A run folder.

    Args:
        path: the folder.

    Raises:
        UserError: if ``path`` is not a path.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = folder_path(path)
        self.metrics = MetricsFile(self.path / METRICS)
        self.pin: Pin | None = None

    def pin_folder(self) -> None:
        """Remembers the folder's identity (its writer has just taken it): every later write
        first checks that it is still there (:class:`turing.runs.disk.Pin`)."""
        self.pin = Pin(self.path)
        self.pin.config = self.config_path if self.is_run() else None

    def check_pin(self) -> None:
        """Raises a one-line error if the pinned folder was removed or moved (or its
        config.json, once written, is gone: the folder is being deleted)."""
        if self.pin is not None:
            self.pin.check()

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
        return self.config_path.exists() or self.config_path.is_symlink()

    def is_finished(self) -> bool:
        return self.result_path.exists() or self.result_path.is_symlink()

    def read_config(self) -> dict[str, Any]:
        """The stored configuration (a JSON object; its fields are checked by
        :meth:`turing.RunConfig.from_run_folder`).

        Raises:
            UserError: if the folder is not a run folder or its config.json is damaged.
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
        refuse_links(self.path)  # before anything in it is read or written
        data = read_json(self.config_path, "the run folder is damaged: restore config.json")
        if not isinstance(data, dict):
            raise UserError(
                f"{self.config_path} holds a JSON {type(data).__name__}, not the object a run "
                "writes; the run folder is damaged: restore config.json"
            )
        return data

    def write_config(self, config: Mapping[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.check_pin()
        atomic_write_json(self.config_path, dict(config))
        if self.pin is not None:
            self.pin.config = self.config_path

    # ------------------------------------------------------------------ metrics
    def append_metrics(self, row: Mapping[str, Any]) -> None:
        """Appends one row (writing the header first if the file is new)."""
        self.check_pin()
        self.metrics.append(row)

    def read_metrics(self) -> list[dict[str, str]]:
        """All complete rows (a row cut short by a crash is ignored)."""
        return self.metrics.rows()

    def metrics_arrays(self) -> dict[str, np.ndarray]:
        """Columns of metrics.csv as float arrays (non-numeric columns as strings)."""
        return self.metrics.arrays()

    def truncate_metrics(self, generations: int) -> None:
        """Keeps the rows of the first ``generations`` generations (atomically; none: the
        file is removed, and the next row writes a fresh header)."""
        self.check_pin()
        self.metrics.truncate(generations, atomic_write_bytes)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(
        self, generation: int, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
    ) -> Path:
        """Writes ``checkpoints/gen-NNNNNN.npz`` (after syncing the metrics rows it covers)
        and removes older ones beyond the last two."""
        self.check_pin()
        self.metrics.sync()
        path = self.checkpoint_dir / f"gen-{generation:06d}.npz"
        payload = dict(arrays)
        payload["__meta__"] = np.array(json.dumps(meta, default=json_default))
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
        """The latest (or the given) checkpoint as ``(arrays, meta)``, or None.

        Raises:
            UserError: for a checkpoint that is not a checkpoint of this version (not an
                NPZ, pickled, without its metadata).
        """
        if self.checkpoint_dir.exists() and not self.checkpoint_dir.is_dir():
            raise UserError(
                f"{self.checkpoint_dir} is not a folder; the run folder is damaged: move it "
                "away, or start the run again in a new folder"
            )
        paths = [path] if path else self.checkpoints()
        if not paths:
            return None
        fix = "the checkpoint is damaged: delete it to resume from the one before, or start the run again"
        arrays = load_npz(paths[-1], fix)
        try:
            meta = json.loads(str(arrays.pop("__meta__")))
            if not isinstance(meta, dict):
                raise ValueError("its metadata is not a JSON object")
        except (KeyError, ValueError) as exc:
            raise UserError(f"{paths[-1]} has no valid metadata ({exc}); {fix}") from None
        return arrays, meta

    # ------------------------------------------------------------------ result
    def write_result(self, result: Mapping[str, Any]) -> None:
        self.check_pin()
        atomic_write_json(self.result_path, dict(result))

    def read_result(self) -> dict[str, Any]:
        """``result.json`` (its fields are checked by :class:`turing.Result`)."""
        if not self.is_finished():
            raise UserError(
                f"{self.path} holds no {RESULT}: the run has not finished; "
                f"continue it with `turing run --resume {self.path}`"
            )
        data = read_json(
            self.result_path,
            f"the run folder is damaged: delete result.json and finish the run again with "
            f"`turing run --resume {self.path}`",
        )
        return data

    def write_populations(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.check_pin()
        atomic_write_npz(self.path / POPULATIONS, arrays)

    def read_populations(self) -> dict[str, np.ndarray]:
        path = self.path / POPULATIONS
        if not path.exists():
            raise UserError(
                f"{self.path} holds no {POPULATIONS}; it is not a finished run of an evolutionary method"
            )
        return load_npz(
            path,
            f"the run folder is damaged: delete {POPULATIONS} and result.json, and finish the "
            f"run again with `turing run --resume {self.path}`",
        )

    # ------------------------------------------------------------------ leftovers
    def stale_temporaries(self) -> list[Path]:
        """Temporary files (and folders) of writes a killed process never finished."""
        found = []
        for folder in (self.path, self.checkpoint_dir, self.episodes_dir, self.plots_dir):
            if folder.is_dir():
                found += sorted(folder.glob(f".*{TEMPORARY_SUFFIX}"))
        return found

    def remove_stale_temporaries(self) -> None:
        import shutil

        for path in self.stale_temporaries():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


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
            # Never through a link: a .lock linked elsewhere would create its target.
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
            self.handle = os.fdopen(os.open(self.path, flags, 0o666), "a")
        except OSError as exc:
            if self.path.is_symlink():
                raise UserError(
                    f"{self.path} is a symbolic link; a run folder holds plain files: remove it"
                ) from None
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
