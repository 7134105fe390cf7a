"""The replay window's controls: pacing a replay at its frame rate and the keys that pause
it, step it, skip to the next trial, switch to the next model or interrogator, or quit.

The window is polled a few dozen times a second while a step's time runs out, and ten
times a second while the replay is paused or finished (each poll redraws the window,
which costs a software renderer a few milliseconds of CPU: the replay sleeps in
between, never spins). A poll that finds the window resized draws the frame again at
the new size.
"""

from __future__ import annotations

import time
from collections.abc import Callable

PLAY_POLL = 0.03
"""Seconds between polls while a step's time runs out."""
IDLE_POLL = 0.1
"""Seconds between polls while paused or finished."""
REQUESTS = {
    "t": "trial",
    "m": "model",
    "i": "interrogator",
    "q": "quit",
    "escape": "quit",
}
"""Keys that end what is playing, and what they ask for."""
STEP_KEYS = {"s", "n", "right"}
"""Keys that play one step (and pause)."""


class Request(Exception):
    """The user asked for something that ends the current trial: ``trial`` (the next one),
    ``model`` or ``interrogator`` (the next rank), ``quit``, or ``closed`` (the window
    is gone)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class Controls:
    """Paces a replay in a window (:mod:`turing.replay.window`) and turns
    its keys into pauses, single steps and :class:`Request` s.

    Args:
        window: the window (``poll()``, ``is_open()``, ``size``).
        fps: steps per second.
        redraw: draws the current step again at the window's size (after a resize).
        note: shows a word on the replay's state in the frame (``paused``, ``trial
            over``, or ``""``).
    """

    def __init__(
        self,
        window,
        fps: float,
        redraw: Callable[[], None] | None = None,
        note: Callable[[str], None] | None = None,
    ):
        self.window = window
        self.period = 1.0 / fps
        self.redraw = redraw
        self.note = note or (lambda text: None)
        self.paused = False
        self._released = time.monotonic()
        self._size = tuple(getattr(window, "size", (0, 0)))

    def step(self) -> None:
        """Waits until the next step is due (one period after the last one, or a key
        press in pause).

        Raises:
            Request: a key asked to end the trial, or the window was closed.
        """
        deadline = self._released + self.period
        while True:
            keys = self._poll()
            if " " in keys:
                self.paused = not self.paused
                self.note("paused" if self.paused else "")
            if keys & STEP_KEYS:
                if not self.paused:
                    self.paused = True
                    self.note("paused")
                break
            now = time.monotonic()
            if not self.paused and now >= deadline:
                break
            wait = IDLE_POLL if self.paused else min(PLAY_POLL, max(0.0, deadline - now))
            time.sleep(wait)
        self._released = time.monotonic()

    def hold(self) -> str:
        """Waits, the last frame on screen, until a key asks for something (or the window
        closes); returns the request's kind (see :class:`Request`)."""
        self.note("trial over")
        while True:
            try:
                self._poll()
            except Request as request:
                if request.kind != "closed":
                    self.note("")
                return request.kind
            time.sleep(IDLE_POLL)

    def _poll(self) -> set[str]:
        if not self.window.is_open():
            raise Request("closed")
        keys = self.window.poll()
        if not self.window.is_open():
            raise Request("closed")
        for key, kind in REQUESTS.items():
            if key in keys:
                raise Request(kind)
        size = tuple(getattr(self.window, "size", self._size))
        if size != self._size:
            self._size = size
            if self.redraw is not None:
                self.redraw()
        return keys
