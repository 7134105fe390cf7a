"""What the file system refuses, said in one line: a full disk, a read-only file system, a
name too long, a folder removed or moved while a run writes it.

Every write of a run is atomic (:mod:`turing.runs.files`), so a refused write leaves the
files as they were: the run stops at once with one :class:`~turing.errors.UserError` that
names the file, what the file system said and how to go on (free space, then ``turing run
--resume DIR`` continues exactly as if nothing had happened). A run folder is *pinned* when
its writer takes it (:meth:`Pin.check`): a folder removed or moved away while the run
writes is noticed before the next write, which would otherwise recreate the folder at the
old path and scatter the run over two places.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from turing.errors import UserError

REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file is larger than the file system allows",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted",
    errno.ENAMETOOLONG: "a name in the path is too long (at most 255 bytes per name)",
    errno.ENOENT: "a folder on the path does not exist (removed or moved while in use?)",
    errno.ESTALE: "the file vanished (a network file system's stale handle)",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.ELOOP: "too many symbolic links on the path",
    errno.EIO: "the device reported an input/output error",
    errno.ENXIO: "it is a special file that cannot be written",
    errno.EMLINK: "the folder holds too many entries",
    errno.ETXTBSY: "the file is busy",
}
"""The errors of the file system (not of turing) that a user fixes, and how they read."""

FIXES = {
    errno.ENOSPC: "free some space (or use a folder on another disk)",
    errno.EDQUOT: "free some space (or use a folder on another disk)",
    errno.EFBIG: "use a folder on another file system",
    errno.EROFS: "use a folder on a writable file system",
    errno.EACCES: "use a folder you may write to",
    errno.EPERM: "use a folder you may write to",
    errno.ENAMETOOLONG: "use a shorter path",
}


def is_file_system_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the file system refusing something (see :data:`REASONS`)."""
    return isinstance(exc, OSError) and exc.errno in REASONS


def describe(exc: OSError, then: str = "") -> str:
    """One line: the path, what the file system said, and the fix (and ``then``, what to do
    once it is fixed)."""
    path = exc.filename if exc.filename is not None else "a file"
    fix = FIXES.get(exc.errno, "check the path")
    return f"cannot write {path}: {REASONS.get(exc.errno, exc.strerror)}; {fix}" + (
        f", then {then}" if then else ""
    )


@contextmanager
def file_system_errors(then: str = "") -> Iterator[None]:
    """Turns the file system's refusals inside the block into one-line user errors (other
    OSErrors, and everything else, pass through)."""
    try:
        yield
    except OSError as exc:
        if not is_file_system_error(exc):
            raise
        raise UserError(describe(exc, then)) from None


class Pin:
    """A run folder's identity (device and inode) when its writer took it.

    Args:
        folder: the run folder, which exists.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        info = os.stat(self.folder)
        self.identity = (info.st_dev, info.st_ino)
        self.config: Path | None = None
        """The run's config.json once it exists: gone, the folder is being deleted."""

    def check(self) -> None:
        """Raises a one-line error if the folder was removed, moved or replaced.

        Raises:
            UserError: naming the folder; its files are where the user moved them.
        """
        try:
            info = os.stat(self.folder)
            same = (info.st_dev, info.st_ino) == self.identity
            same = same and (self.config is None or self.config.exists())
        except OSError:
            same = False
        if not same:
            raise UserError(
                f"the run folder {self.folder} was removed, moved or replaced while the run "
                "wrote it; the run stopped without writing more: continue it where it is now "
                "with `turing run --resume FOLDER` (its last checkpoint is intact)"
            )
