"""What the PyBullet view needs around PyBullet itself: a quiet import (PyBullet prints its
build banner and EGL chatter on the C-level streams), whether a window can open, which
offscreen renderer pays, the camera, and colours."""

from __future__ import annotations

import contextlib
import glob
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

Color = tuple[float, float, float]

RENDERERS = ("auto", "tiny", "egl")


def _flush_c_streams() -> None:
    # PyBullet writes with C stdio, which may buffer: flush it while the streams are muted.
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no C library to reach (Windows)
        pass


@contextlib.contextmanager
def quiet_output() -> Iterator[None]:
    """Silences the C-level stdout and stderr (PyBullet's build banner, EGL chatter)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no file descriptors to redirect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        _flush_c_streams()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def import_pybullet():
    """The ``pybullet`` module, imported without its build banner."""
    if "pybullet" in sys.modules:
        return sys.modules["pybullet"]
    with quiet_output():
        import pybullet
    return pybullet


def has_display() -> bool:
    """Whether a GUI window can open here (a display on Linux; always elsewhere)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def hardware_render_device() -> bool:
    # EGL on a software rasteriser (llvmpipe) measured 3-8x slower than TinyRenderer on a
    # 2-core CPU, so "auto" uses EGL only where a GPU render node exists.
    return bool(glob.glob("/dev/dri/renderD*") or glob.glob("/dev/nvidia[0-9]*"))


@dataclass
class Camera:
    """A camera looking at ``target`` from ``distance`` metres at ``yaw``/``pitch`` degrees
    (PyBullet's debug-visualiser convention)."""

    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    distance: float = 1.0
    yaw: float = 0.0
    pitch: float = -89.9
    fov: float = 45.0


def rgb255(color: Color) -> tuple[int, int, int]:
    return tuple(round(255 * min(1.0, max(0.0, c))) for c in color)


def color_scale(value: float, low: Color = (0.1, 0.7, 0.2), high: Color = (0.9, 0.1, 0.1)) -> Color:
    """A colour between ``low`` (value 0) and ``high`` (value 1)."""
    v = min(1.0, max(0.0, float(value)))
    return tuple(a + (b - a) * v for a, b in zip(low, high, strict=True))


# ----------------------------------------------------------------------------- display loss
_display_lost: list = []
_io_error_handler = None
_stderr = -1


def on_display_lost(callback) -> None:
    """Writes the line ``callback()`` returns on stderr, then ends the process with status
    0, when the X display of a window goes away: the server stopped, or the window was
    closed by cutting its client's connection (what a window manager does to a window
    that does not take part in the close protocol, as PyBullet's).

    Xlib's default reaction to a lost connection is ``exit(1)`` from whichever thread
    noticed; with PyBullet's threaded GUI the other threads then spin forever waiting for
    the GUI thread, deaf to SIGTERM. A handler that says what happened and leaves at once
    is the only clean way out: nothing can unwind through Xlib. The newest callback that
    returns a line is heard (the line goes to the stderr of the time of the first call,
    even if :func:`quiet_output` muted it since). Does nothing where Xlib cannot be loaded
    (macOS, Windows).
    """
    global _io_error_handler, _stderr
    _display_lost.append(callback)
    if _io_error_handler is not None or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        # PyBullet and Tk open libX11 by this name: the same library, the same handler.
        x11 = ctypes.CDLL("libX11.so.6")
    except OSError:
        return
    prototype = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
    _stderr = os.dup(2)

    def lost(display) -> int:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for call in reversed(_display_lost):
            line = None
            with contextlib.suppress(BaseException):
                line = call()
            if line:
                with contextlib.suppress(OSError):
                    os.write(_stderr, (" ".join(str(line).split()) + "\n").encode())
                break
        os._exit(0)

    _io_error_handler = prototype(lost)
    x11.XSetIOErrorHandler.argtypes = [prototype]
    x11.XSetIOErrorHandler.restype = ctypes.c_void_p
    x11.XSetIOErrorHandler(_io_error_handler)


def forget_display_lost(callback) -> None:
    """Removes a callback given to :func:`on_display_lost` (the handler itself stays)."""
    with contextlib.suppress(ValueError):
        _display_lost.remove(callback)
