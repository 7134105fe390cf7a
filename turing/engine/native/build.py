"""Building kernels: a compiler that may hang or fail, a cache that may be damaged.

Every build runs in a private temporary folder (also the compiler's ``TMPDIR``), in a
process group of its own with a timeout (``$TURING_CC_TIMEOUT`` seconds, default
:data:`TIMEOUT`): a compiler that hangs is killed with everything it started, and the
folder is removed whatever happened, so a failed build leaves no files behind. A built file
is stored in the cache with a digest beside it (``.sha256``) and verified against it before
it is loaded again: a damaged or replaced cache entry is rebuilt, never loaded. A cache
folder that cannot be written is reported once and the kernel is built for the process
alone ("rebuilt elsewhere"): the kernel still runs, it is not silently replaced by torch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from turing.engine.notices import warn_line

T = TypeVar("T")

TIMEOUT = 600.0
"""Seconds a compiler may take (a generated swarm of 10 robots compiles in under a minute)."""

_WARNED: set[str] = set()


def timeout() -> float:
    """The compiler's time limit: ``$TURING_CC_TIMEOUT`` seconds, else :data:`TIMEOUT`."""
    value = os.environ.get("TURING_CC_TIMEOUT", "")
    try:
        seconds = float(value)
    except ValueError:
        return TIMEOUT
    return seconds if seconds > 0 else TIMEOUT


def run(command: list[str], text: str | None, folder: Path, limit: float) -> tuple[int, str, str]:
    """Runs ``command`` (stdin ``text``) in ``folder`` with ``TMPDIR=folder``; returns its
    exit status, stdout and stderr. Raises :class:`TimeoutError` after ``limit`` seconds, having
    killed the command's whole process group (the compiler's own subprocesses too)."""
    env = dict(os.environ, TMPDIR=str(folder), TMP=str(folder), TEMP=str(folder))
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=folder, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(text, timeout=limit)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise TimeoutError(f"timed out after {limit:g} s") from None
    except BaseException:  # Ctrl-C while compiling: the compiler goes with us
        _kill_group(process)
        raise
    return process.returncode, stdout, stderr


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.communicate()


def cached(folder: Path, name: str, make: Callable[[Path, Path], str], load: Callable[[Path], T]):
    """``load`` of the cache file ``folder / name``, made first if it is missing or fails
    its digest.

    Args:
        folder: the cache folder (created if needed).
        name: the file's name (it names its content: a digest of the inputs).
        make: ``make(output, workspace)`` writes the file to ``output`` (working in the
            private folder ``workspace``); returns ``""``, or a one-line reason it could not.
        load: reads a verified file (e.g. ``ctypes.CDLL``); may raise ``OSError``.

    Returns:
        what ``load`` returned, or a one-line reason why there is nothing to load.
    """
    path = folder / name
    if _verified(path):
        try:
            return load(path)
        except OSError:
            pass  # damaged in a way the digest could not see: rebuild it
    with tempfile.TemporaryDirectory(prefix="turing-build-") as workspace:
        output = Path(workspace) / name
        problem = make(output, Path(workspace))
        if problem:
            return problem
        if not output.is_file():
            return f"building {name} wrote no file"
        stored = _store(output, path)
        target = path if stored and _verified(path) else output
        try:
            return load(target)  # loaded before the workspace is removed
        except OSError as exc:
            return f"loading {name} failed ({exc})"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _verified(path: Path) -> bool:
    """Whether ``path`` is a regular file whose content matches the digest stored beside it."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        return _sidecar(path).read_text().strip() == _digest(path)
    except (OSError, UnicodeDecodeError):
        return False


def _store(output: Path, path: Path) -> bool:
    """Copies ``output`` to ``path`` with its digest, each written to a temporary file and
    renamed into place (several processes may store the same file at once). Returns whether
    it could; warns once per folder when it could not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for source, target in ((None, _sidecar(path)), (output, path)):
            fd, temporary = tempfile.mkstemp(prefix=".build-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    if source is None:
                        f.write(_digest(output).encode())
                    else:
                        with open(source, "rb") as data:
                            shutil.copyfileobj(data, f)
                os.chmod(temporary, 0o755 if source is not None else 0o644)
                os.replace(temporary, target)
            except BaseException:
                _unlink(Path(temporary))
                raise
        return True
    except OSError as exc:
        folder = str(path.parent)
        if folder not in _WARNED:
            _WARNED.add(folder)
            warn_line(
                f"the kernel cache {folder} cannot be written ({exc.strerror or exc}); kernels "
                "are built for this process only (set TURING_CACHE_DIR to a writable folder)"
            )
        return False


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
