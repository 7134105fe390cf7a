"""Errors a user can fix, and interruptions.

Every problem caused by input (a flag, a parameter value, a run folder) is raised as a
:class:`UserError` carrying one line that names the problem and the fix. The CLI prints it
on stderr and exits with status 2, without a traceback; the Python API lets it propagate.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class UserError(ValueError):
    """Bad input: the message is one line that says what is wrong and how to fix it."""

    exit_code = 2


class SystemContractError(UserError):
    """A registered system broke the System contract (wrong shapes, NaN from the genuine system)."""


class GenuineSourceError(UserError):
    """A genuine source outside the simulator failed mid-run (an environment raised, hung,
    died, or returned a non-finite observation): the message names the trial and the step;
    the run saves a checkpoint to resume from."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt (the command line installs the
    handler), so that everything that checkpoints on Ctrl-C does so on SIGTERM too."""


class Interrupted(UserError):
    """A command stopped by Ctrl-C (exit status 130) or SIGTERM (143) after saving what it
    had; the message says how to continue."""

    def __init__(self, message: str, terminated: bool = False):
        super().__init__(message)
        self.exit_code = 143 if terminated else 130

    @classmethod
    def of(cls, interruption: BaseException, message: str) -> Interrupted:
        """The error for ``interruption`` (a KeyboardInterrupt or :class:`Terminated`)."""
        return cls(message, isinstance(interruption, Terminated))


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Holds Ctrl-C (and SIGTERM where the command line turned it into :class:`Terminated`)
    until the block ends, then raises it: a block that writes a run's files (a metrics row
    and its checkpoint) is never cut in the middle. Outside the main thread, or where the
    signals keep their default actions, it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum, frame) -> None:
        pending.append(signum)

    held = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(number)
        if callable(current):  # Python raises there: default_int_handler, the CLI's SIGTERM
            held[number] = signal.signal(number, hold)
    try:
        yield
    finally:
        for number, previous in held.items():
            signal.signal(number, previous)
        if signal.SIGTERM in pending:
            raise Terminated()
        if pending:
            raise KeyboardInterrupt()
