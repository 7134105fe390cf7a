"""A virtual screen for the replay window's tests: an Xvfb server, the windows on it, and
what a user does to them (grab, close, kill the display).

``python tests/xscreen.py RUN OUT.png [--window tk|pybullet] [--size 1280x720]`` replays
the run in a window on a fresh 1280x800 Xvfb screen and grabs the window with ImageMagick
once the first trial has ended: the screenshots of the README are made so.

Windows are found and closed through Xlib (ctypes) rather than xdotool or xwininfo, so
that the tests need only Xvfb and ImageMagick. Closing a window here is what a window
manager does: a ``WM_DELETE_WINDOW`` message to a window that takes part in that protocol
(Tk does), else cutting its client's connection (``XKillClient``; PyBullet's window).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SCREEN = (1280, 800)
NAMES = {"tk": "turing replay", "pybullet": "Bullet Physics"}
"""How each kind of replay window names itself."""


def missing_tools() -> str | None:
    """Why the screen cannot be used here, or ``None``."""
    for tool, package in (("Xvfb", "xvfb"), ("import", "imagemagick")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {package}; .ci/run does)"
    try:
        ctypes.CDLL("libX11.so.6")
    except OSError:
        return "libX11 is not installed"
    return None


class Screen:
    """An Xvfb server on a free display, stopped by :meth:`stop` (or on exit of a ``with``)."""

    def __init__(self, size: tuple[int, int] = SCREEN):
        read, write = os.pipe()
        self.process = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write),
                "-screen",
                "0",
                f"{size[0]}x{size[1]}x24",
                "-nolisten",
                "tcp",
            ],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as stream:
            number = stream.readline().strip()
        if not number:
            self.process.kill()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.display, "MPLBACKEND": "Agg"}

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(10)

    def __enter__(self) -> Screen:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ windows
    def windows(self) -> list[Window]:
        """The top-level windows with a name (none while the server does not answer)."""
        if self.process.poll() is not None:
            raise RuntimeError(f"Xvfb on {self.display} ended ({self.process.returncode})")
        try:
            with _Display(self.display) as x:
                return x.windows()
        except ConnectionError:  # a busy server may refuse a connection now and then
            return []

    def wait_for(self, name: str, timeout: float = 30.0, process=None) -> Window:
        """The first window whose name contains ``name``, once it is shown."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [w for w in self.windows() if name in w.name and w.width > 16]
            if found:
                return found[0]
            if process is not None and process.poll() is not None:
                _, err = process.communicate()
                raise RuntimeError(
                    f"the replay ended ({process.returncode}) before its window showed: "
                    f"{str(err)[-800:]}"
                )
            time.sleep(0.2)
        raise TimeoutError(f"no window named {name!r} within {timeout} s")

    def wait_drawn(self, window: Window, timeout: float = 30.0) -> np.ndarray:
        """The window's pixels once it shows a replay frame (white, with something on it:
        PyBullet's window opens on a grey-blue view of its own)."""
        deadline = time.monotonic() + timeout
        while True:
            shot = self.grab(window)
            if shot.std() > 10 and (shot[:4, :4] > 250).all():
                return shot
            if time.monotonic() > deadline:
                raise TimeoutError("the window stayed blank")
            time.sleep(0.2)

    def grab(self, window: Window) -> np.ndarray:
        """The window's pixels as a user sees them, RGB (ImageMagick's ``import``)."""
        from PIL import Image

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "shot.png"
            subprocess.run(
                ["import", "-window", "root", "-crop", f"{window.width}x{window.height}+{window.x}+{window.y}", str(path)],
                env=self.env(), check=True, capture_output=True, timeout=30,
            )  # fmt: skip
            return np.asarray(Image.open(path).convert("RGB"))

    def close(self, window: Window) -> None:
        """Closes ``window`` as a window manager does."""
        for attempt in range(10):
            try:
                with _Display(self.display) as x:
                    x.close(window.id)
                return
            except ConnectionError:
                if attempt == 9:
                    raise
                time.sleep(0.3)


@dataclass
class Window:
    id: int
    name: str
    x: int
    y: int
    width: int
    height: int


class _XWindowAttributes(ctypes.Structure):
    _fields_ = [
        (n, ctypes.c_int) for n in ("x", "y", "width", "height", "border_width", "depth")
    ] + [("rest", ctypes.c_byte * 128)]


class _XClientMessageEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _XClientMessageEvent), ("pad", ctypes.c_long * 24)]


class _Display:
    """A connection of the test's own to the X server (not the replay's)."""

    def __init__(self, name: str):
        x = self.x = ctypes.CDLL("libX11.so.6")
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong] + [ctypes.c_void_p] * 4
        x.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
        x.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p]
        x.XInternAtom.restype = ctypes.c_ulong
        x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x.XGetWMProtocols.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulong,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        x.XSendEvent.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulong,
            ctypes.c_int,
            ctypes.c_long,
            ctypes.c_void_p,
        ]
        x.XKillClient.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        x.XFlush.argtypes = x.XSync.argtypes = [ctypes.c_void_p]
        x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        x.XFree.argtypes = [ctypes.c_void_p]
        self.display = x.XOpenDisplay(name.encode())
        if not self.display:
            raise ConnectionError(f"cannot open display {name}")

    def __enter__(self) -> _Display:
        return self

    def __exit__(self, *exc) -> None:
        self.x.XCloseDisplay(self.display)

    def windows(self) -> list[Window]:
        x, d = self.x, self.display
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children, count = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
        x.XQueryTree(d, x.XDefaultRootWindow(d), ctypes.byref(root), ctypes.byref(parent),
                     ctypes.byref(children), ctypes.byref(count))  # fmt: skip
        found = []
        for i in range(count.value):
            name = ctypes.c_char_p()
            if not x.XFetchName(d, children[i], ctypes.byref(name)) or not name.value:
                continue
            attributes = _XWindowAttributes()
            x.XGetWindowAttributes(d, children[i], ctypes.byref(attributes))
            found.append(Window(children[i], name.value.decode(errors="replace"), attributes.x,
                                attributes.y, attributes.width, attributes.height))  # fmt: skip
        if children:
            x.XFree(children)
        return found

    def close(self, window: int) -> None:
        x, d = self.x, self.display
        delete = x.XInternAtom(d, b"WM_DELETE_WINDOW", 0)
        protocols, count = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_int()
        takes_part = False
        if x.XGetWMProtocols(d, window, ctypes.byref(protocols), ctypes.byref(count)):
            takes_part = delete in [protocols[i] for i in range(count.value)]
            x.XFree(protocols)
        if takes_part:
            event = _XEvent()
            event.xclient.type = 33  # ClientMessage
            event.xclient.window = window
            event.xclient.message_type = x.XInternAtom(d, b"WM_PROTOCOLS", 0)
            event.xclient.format = 32
            event.xclient.data[0] = delete
            x.XSendEvent(d, window, 0, 0, ctypes.byref(event))
        else:
            x.XKillClient(d, window)
        x.XSync(d, 0)


def replay_command(run: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "turing.cli", "replay", str(run), "--gui", *args]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("run")
    parser.add_argument("out")
    parser.add_argument("--window", default="tk", choices=tuple(NAMES))
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seed", default="0")
    args = parser.parse_args()
    with Screen() as screen, tempfile.TemporaryDirectory() as folder:
        figure = Path(folder) / "replay.png"
        command = replay_command(Path(args.run), "--window", args.window, "--size", args.size,
                                 "--seed", args.seed, "--figure", str(figure))  # fmt: skip
        process = subprocess.Popen(command, env=screen.env())
        try:
            window = screen.wait_for(NAMES[args.window], process=process)
            while not figure.with_suffix(".npz").exists():
                if process.poll() is not None:
                    raise RuntimeError(f"the replay ended with {process.returncode}")
                time.sleep(0.2)
            time.sleep(1.0)  # the last frame is up once the episode is saved; let it settle
            from PIL import Image

            Image.fromarray(screen.grab(window)).save(args.out)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
