"""Files written so that a crash never leaves half of one, and read so that a damaged one
is one line naming it.

Every whole-file write goes to a temporary file in the same folder (``.NAME.XXXX.tmp``),
is synced, and is renamed into place; the folder is synced too. New files get the mode
``open`` would give them (0666 less the umask). Readers of JSON and NPZ turn every way a
file can be damaged (missing, a folder, truncated, random bytes, pickled objects) into one
:class:`~turing.errors.UserError` that names the file and the fix.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from turing.errors import UserError

TEMPORARY_SUFFIX = ".tmp"
"""Every temporary file or folder of an atomic write ends so (``.NAME.XXXX.tmp``)."""

_FILE_MODE: int | None = None


def file_mode() -> int:
    """The mode a new file gets: 0666 less the process's umask (0644 with the usual 022),
    as ``open`` gives; :func:`tempfile.mkstemp` alone would give 0600."""
    global _FILE_MODE
    if _FILE_MODE is None:
        mask = None
        try:  # Linux reports the umask without changing it
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("Umask:"):
                    mask = int(line.split()[1], 8)
        except (OSError, ValueError):
            mask = None
        if mask is None:
            mask = os.umask(0o022)
            os.umask(mask)
        _FILE_MODE = 0o666 & ~mask
    return _FILE_MODE


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` via a temporary file in the same folder, synced, and a
    rename (also synced), so ``path`` holds the old or the new bytes, never a mixture."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX
    )
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # a write's error names no file: name the one meant
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_figure(fig, path: str | os.PathLike, **options: Any) -> Path:
    """Saves a matplotlib figure atomically (rendered in memory, then
    :func:`atomic_write_bytes`): a kill never leaves half a PNG under its name."""
    path = Path(path)
    buffer = io.BytesIO()
    options.setdefault("format", (path.suffix.lstrip(".") or "png").lower())
    fig.savefig(buffer, **options)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def json_default(value: Any) -> Any:
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


def as_written(data: Any) -> Any:
    """``data`` as :func:`atomic_write_json` writes it and JSON reads it back (non-finite
    numbers as null, numpy values as Python ones)."""
    return json.loads(json.dumps(_finite(data), default=json_default))


def atomic_write_json(path: Path, data: Any) -> None:
    text = json.dumps(_finite(data), indent=2, default=json_default) + "\n"
    atomic_write_bytes(path, text.encode())


def atomic_write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write_bytes(path, buffer.getvalue())


def load_npz(path: Path, fix: str = "the run folder is damaged") -> dict[str, np.ndarray]:
    """Loads an NPZ file without allowing pickled objects.

    Raises:
        UserError: one line naming the file, for a file that is missing, not an NPZ
            (truncated, empty, random bytes) or holds pickled objects.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} is missing or not a file; {fix}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise UserError(f"{path} cannot be read ({exc.strerror}); {fix}") from None
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
        what = "is empty" if not magic else "is not an NPZ archive (truncated or another format)"
        raise UserError(f"{path} {what}; {fix}")
    check_inflated_size(path, fix)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise UserError(
                f"{path} holds pickled Python objects, which turing never writes and will not "
                f"load (they could run code); {fix}"
            ) from None
        raise UserError(f"{path} is not a valid NPZ file ({exc}); {fix}") from None
    except Exception as exc:  # zipfile.BadZipFile, EOFError, OSError, ...
        raise UserError(
            f"{path} is not a valid NPZ file ({type(exc).__name__}: {exc}); {fix}"
        ) from None


MAX_NPZ_BYTES = 2**30
"""Bytes an NPZ of a run folder may inflate to (a checkpoint at the paper's sizes holds a
few hundred kilobytes)."""


def check_inflated_size(path: Path, fix: str, limit: int = MAX_NPZ_BYTES) -> None:
    """Refuses, before inflating anything, an NPZ whose members would inflate beyond
    ``limit`` bytes, or whose arrays' headers declare more data than their members hold (a
    compressed member can inflate a thousandfold: a folder someone sent you could fill the
    memory).

    Raises:
        UserError: naming the file, the member and the size.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            total = 0
            for info in archive.infolist():
                total += info.file_size
                if total > limit:
                    raise UserError(
                        f"{path}: its member {info.filename} would inflate it to more than "
                        f"{limit / 2**30:g} GiB ({total / 2**30:.3g} GiB so far); refused before "
                        f"inflating it; {fix}"
                    )
                if info.filename.endswith(".npy"):
                    declared = _declared_bytes(archive, info)
                    if declared is not None and declared > info.file_size:
                        raise UserError(
                            f"{path}: {info.filename} declares {declared:,} bytes of values but "
                            f"holds {info.file_size:,}; {fix}"
                        )
    except UserError:
        raise
    except Exception:  # not a readable archive: np.load says what is wrong
        return


def _declared_bytes(archive, info) -> int | None:
    """The bytes of values an ``.npy`` member's header declares (``None`` if unreadable)."""
    from numpy.lib import format as npy

    readers = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
    try:
        with archive.open(info) as member:
            reader = readers.get(npy.read_magic(member))
            if reader is None:
                return None
            header = reader(member, max_header_size=10_000)
    except Exception:
        return None
    shape, _, dtype = header
    return int(np.prod(shape, dtype=object)) * dtype.itemsize


def read_json(path: Path, fix: str) -> Any:
    """The JSON in ``path``.

    Raises:
        UserError: naming the file, if it is not a file, cannot be read or is not JSON.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} is missing or not a file; {fix}")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise UserError(f"{path} cannot be read ({exc.strerror}); {fix}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); {fix}") from None
    except RecursionError:
        raise UserError(f"{path} is nested too deeply to be a turing file; {fix}") from None


def folder_path(path: Any, what: str = "run folder") -> Path:
    """``path`` as a Path.

    Raises:
        UserError: if it is not a str or path-like object (``None``, a number, ...), or has
            a name or a length no file system takes (:func:`check_path_names`).
    """
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise UserError(f"give the {what} as a path (a str or pathlib.Path), got {path!r}")
    check_path_names(Path(path), what)
    return Path(path)


def check_path_names(path: Path, what: str) -> None:
    """Refuses, before anything is created, a path with a name longer than the file system
    takes (255 bytes on most) or longer than a path may be (4095 bytes): it would fail
    after its first folders were made.

    Raises:
        UserError: naming the part that is too long.
    """
    existing = Path(os.path.abspath(path))
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
        path_max = os.pathconf(existing, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        name_max, path_max = 255, 4096
    for part in path.parts:
        if len(os.fsencode(part)) > name_max:
            raise UserError(
                f"the {what} {str(path)[:80]}...: the name {part[:40]}... has "
                f"{len(os.fsencode(part))} bytes, more than the {name_max} the file system "
                "takes; choose a shorter name"
            )
    if len(os.fsencode(os.path.abspath(path))) >= path_max:
        raise UserError(
            f"the {what} {str(path)[:80]}... is {len(os.fsencode(os.path.abspath(path)))} "
            f"bytes long, more than the {path_max - 1} a path may have; choose a shorter one"
        )


def plot_atomically(folder: Path, draw) -> list[Path]:
    """Runs ``draw(temporary_folder)`` (which returns the paths it wrote) and renames what
    it drew into ``folder``: a kill leaves whole figures or the old ones, never half a
    PNG; a stale temporary folder is removed when the run resumes.

    Raises:
        UserError: if ``folder`` exists and is not a folder.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(
            f"{folder} is not a folder; move the file away so that the figures can be drawn"
        )
    folder.mkdir(parents=True, exist_ok=True)
    drawing = Path(tempfile.mkdtemp(dir=folder, prefix=".drawing.", suffix=TEMPORARY_SUFFIX))
    try:
        drawn = [Path(p) for p in draw(drawing)]
        placed = []
        for path in drawn:
            try:
                relative = path.resolve().relative_to(drawing.resolve())
            except ValueError:  # drawn elsewhere on purpose: leave it there
                placed.append(path)
                continue
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            placed.append(target)
        return placed
    finally:
        shutil.rmtree(drawing, ignore_errors=True)


def refuse_links(folder: Path, depth: int = 2, what: str = "a run folder") -> None:
    """Refuses symbolic links in ``folder`` (and its subfolders, ``depth`` levels down):
    through a link, a folder someone sent you could make turing read, create, overwrite or
    delete files anywhere (a linked ``checkpoints/`` had a resume delete files where it
    pointed). Also refuses a hard-linked ``metrics.csv``, which rows are appended to.

    Raises:
        UserError: naming the link and the fix.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return  # the readers say what is wrong with the folder itself
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink():
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            shown = "".join(c for c in target if c.isprintable())[:200]
            raise UserError(
                f"{path} is a symbolic link (to {shown}); {what} holds plain files and turing "
                "reads and writes nothing through links: replace it with a copy of what it "
                "points to (cp -rL), or remove it"
            )
        if entry.name == "metrics.csv" and entry.is_file() and entry.stat().st_nlink > 1:
            raise UserError(
                f"{path} has other hard links, and rows would be appended to all of them: "
                "replace it with a copy (cp metrics.csv m && mv m metrics.csv)"
            )
        if depth > 1 and entry.is_dir():
            refuse_links(path, depth - 1, what)

