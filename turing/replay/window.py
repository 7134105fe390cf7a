"""The replay window: a window that shows the replay's frames (exactly the frames a video
of it gets) and reports the keys pressed in it.

Two kinds, the same to the replay (``size``, ``show``, ``poll``, ``is_open``, ``close``,
``lost_message``):

- ``tk``: a Tk window (Python's ``tkinter``). It costs nothing while the replay waits
  (measured: 0.3 % of a core, against a full core for PyBullet's GUI, whose physics
  thread polls in a loop), needs no OpenGL, and shows a 1280x720 frame in about 5 ms.
  Some Python builds lack Tk (``import tkinter`` fails, e.g. pyenv built without the Tk
  headers);
- ``pybullet``: PyBullet's GUI window (:mod:`turing.replay.bullet_window`), always there
  since PyBullet is a dependency.

``auto`` takes Tk where it imports, else PyBullet. Either way, a window closed by the user
or a display that goes away ends the replay at once with status 0 and one line that says
what was saved (:func:`turing.envs.bullet_support.on_display_lost`: both talk to the
display through the same Xlib, whose default would be ``exit(1)``).
"""

from __future__ import annotations

from turing.envs.bullet_support import forget_display_lost, has_display, on_display_lost
from turing.errors import UserError
from turing.replay.player import lost_message

KINDS = ("auto", "tk", "pybullet")
TK_KEYS = {"space": " ", "Escape": "escape", "Right": "right", "Left": "left"}
"""Tk's names of the keys without a character that the replay uses."""


def tk_available() -> bool:
    """Whether this Python has Tk."""
    try:
        import tkinter  # noqa: F401
    except ImportError:
        return False
    return True


def open_window(size: tuple[int, int], kind: str = "auto"):
    """A replay window of ``size = (width, height)`` pixels, of ``kind`` (see the module).

    Raises:
        UserError: an unknown kind, Tk asked for where there is none, no display, or a
            window that cannot open.
    """
    if kind not in KINDS:
        raise UserError(f"--window {kind!r} is unknown; choose from {', '.join(KINDS)}")
    if not has_display():
        raise UserError(
            "cannot open the replay window: no display here (DISPLAY is not set); "
            "render headless instead with --video FILE.mp4 (or .gif)"
        )
    if kind == "tk" and not tk_available():
        raise UserError(
            "--window tk: this Python has no Tk (import tkinter fails); use --window "
            "pybullet, or a Python built with Tk"
        )
    if kind == "pybullet" or (kind == "auto" and not tk_available()):
        from turing.replay.bullet_window import BulletWindow

        return BulletWindow(size)
    return TkWindow(size)


class TkWindow:
    """A Tk window showing RGB frames, centred, on white.

    Args:
        size: ``(width, height)`` of the window, pixels.

    Attributes:
        lost_message: gives the line written on stderr if the display goes away (the
            process then ends with status 0).
    """

    def __init__(self, size: tuple[int, int]):
        import tkinter

        width, height = (int(v) for v in size)
        self.lost_message = lambda: lost_message([], None, None)
        on_display_lost(self._on_lost)
        try:
            self.root = tkinter.Tk(className="turing-replay")
        except tkinter.TclError as exc:
            forget_display_lost(self._on_lost)
            raise UserError(
                f"cannot open the replay window ({exc}); render headless instead with "
                "--video FILE.mp4 (or .gif)"
            ) from None
        self.root.title("turing replay")
        self.root.configure(background="white")
        self.root.geometry(f"{width}x{height}")
        self.label = tkinter.Label(
            self.root, background="white", borderwidth=0, highlightthickness=0
        )
        self.label.pack(fill="both", expand=True)
        self._requested = (width, height)
        self._open = True
        self._keys: set[str] = set()
        self._photo = None
        self.root.protocol("WM_DELETE_WINDOW", self._closed_by_user)
        self.root.bind("<KeyPress>", self._key)
        self.root.update()

    @property
    def size(self) -> tuple[int, int]:
        """The window's size now (the requested one until it is on screen)."""
        if not self._open:
            return self._requested
        width, height = self.label.winfo_width(), self.label.winfo_height()
        return (width, height) if width > 1 and height > 1 else self._requested

    def show(self, frame) -> None:
        """Shows ``frame`` (RGB ``[height, width, 3]`` uint8), centred."""
        import tkinter

        import numpy as np

        if not self._open:
            return
        frame = np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
        height, width = frame.shape[:2]
        data = b"P6 %d %d 255\n" % (width, height) + frame.tobytes()
        self._photo = tkinter.PhotoImage(master=self.root, data=data, format="PPM")
        self.label.configure(image=self._photo)
        self._update()

    def poll(self) -> set[str]:
        """Keys pressed since the last poll (lower-case characters, ``" "`` for space,
        ``escape``, ``left``, ``right``); also lets the window redraw and resize."""
        self._update()
        keys, self._keys = self._keys, set()
        return keys

    def is_open(self) -> bool:
        return self._open

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                self.root.destroy()
            except Exception:  # already gone with its display
                pass
            # Only now: the display may turn out to be gone while the window shuts down.
            forget_display_lost(self._on_lost)

    def __enter__(self) -> TkWindow:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _update(self) -> None:
        import tkinter

        if not self._open:
            return
        try:
            self.root.update()
        except tkinter.TclError:  # the window was destroyed under us
            self._open = False

    def _key(self, event) -> None:
        if event.keysym in TK_KEYS:
            self._keys.add(TK_KEYS[event.keysym])
        elif event.char and event.char.isprintable():
            self._keys.add(event.char.lower())

    def _closed_by_user(self) -> None:
        self.close()

    def _on_lost(self) -> str:
        return self.lost_message()
