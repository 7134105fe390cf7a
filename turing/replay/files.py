"""Where a replay writes: video files (``.mp4`` needs imageio-ffmpeg, ``.gif`` nothing) and
checks that a path can be written before anything is played."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from turing.errors import UserError
from turing.runs.files import check_path_names

VIDEO_SUFFIXES = (".mp4", ".gif")


def check_video_path(path: str | os.PathLike) -> Path:
    """``path`` if a video can be written there.

    Raises:
        UserError: an unknown suffix, a folder that does not exist or is not writable, or
            ``.mp4`` without imageio-ffmpeg.
    """
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise UserError(
            f"--video {path}: unknown video type {path.suffix or '(none)'!r}; name a .mp4 or .gif file"
        )
    check_writable(path, "video", "--video FILE")
    if path.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise UserError(
                "writing .mp4 needs imageio-ffmpeg: pip install 'turing-learning[video]' "
                "(or write a .gif)"
            ) from None
    return path


def check_writable(path: Path, what: str, flag: str) -> None:
    """Checks that a file can be written at ``path``: in a writable folder, not a folder,
    and not a special file (:func:`check_regular`).

    Raises:
        UserError: naming the problem and ``flag`` to give another place.
    """
    check_regular(path, what, flag)
    check_path_names(path, what)
    folder = path.parent if str(path.parent) else Path(".")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if path.is_dir():
        raise UserError(
            f"cannot write the {what} to {path}: it is a folder; give a file name with {flag}"
        )
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(
            f"cannot write the {what} to {path}: {existing} is not a writable folder; give another place with {flag}"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(
            f"cannot write the {what} to {path}: the file is read-only; give another place with {flag}"
        )


SPECIAL = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
}


def check_regular(path: Path, what: str, flag: str) -> None:
    """Refuses a path that names a device, a FIFO, a socket (or a link to one, or a link to
    nowhere): the file would be renamed over it, or written into it (run as root, a figure
    once replaced a system device node).

    Raises:
        UserError: naming the kind of file.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise UserError(
                f"cannot write the {what} to {path}: it is a symbolic link to nowhere; give a "
                f"plain file path with {flag}"
            ) from None
        return
    except OSError:
        return  # the folder checks say what is wrong
    kind = SPECIAL.get(stat.S_IFMT(info.st_mode))
    if kind:
        raise UserError(
            f"cannot write the {what} to {path}: it is {kind}, which turing never writes into "
            f"or replaces; give a file path with {flag}"
        )


def open_video(path: Path, fps: float):
    """An imageio writer for ``path`` (``.mp4`` or ``.gif``) with ``append_data`` and ``close``."""
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.suffix.lower() == ".gif":
            return imageio.get_writer(path, mode="I", duration=1000.0 / fps, loop=0)
        return imageio.get_writer(path, fps=fps, codec="libx264", quality=7, macro_block_size=1)
    except OSError as exc:
        raise UserError(
            f"cannot write the video to {path} ({exc}); give another place with --video FILE"
        ) from None
