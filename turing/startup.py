"""The first seconds of the ``turing`` command: Ctrl-C while it imports torch is one line.

Importing the package takes seconds (torch); a Ctrl-C meanwhile used to end in a traceback
of the import machinery. When this process is the ``turing`` console script (or ``python -m
turing.cli``), an interrupt nobody caught is said in one line instead (the exit status stays
that of a SIGINT); ``turing.cli.main`` handles the interrupts once it runs. In any other
program that imports turing, nothing changes.
"""

from __future__ import annotations

import os
import sys


def is_command_line() -> bool:
    """Whether this process is the ``turing`` command (not a program importing turing)."""
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    started = list(getattr(sys, "orig_argv", []))
    return name in ("turing", "turing.exe") or started[1:3] == ["-m", "turing.cli"]


def _one_line(kind, value, traceback) -> None:
    if issubclass(kind, KeyboardInterrupt):
        print("turing: interrupted while starting; nothing was written", file=sys.stderr)
        return
    _previous(kind, value, traceback)


_previous = sys.excepthook
if is_command_line():
    sys.excepthook = _one_line
