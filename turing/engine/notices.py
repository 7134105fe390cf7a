"""Warnings of the engine in one line: a fallback (a kernel that cannot be built, a cache
that cannot be written) said once per process, attributed to no source line."""

from __future__ import annotations

import warnings

_WARNED: set[str] = set()


def warn_once(message: str) -> None:
    """A RuntimeWarning, once per process and message (a fallback taken every batch)."""
    if message not in _WARNED:
        _WARNED.add(message)
        warn_line(message)


def warn_line(message: str) -> None:
    """A RuntimeWarning printed as one line (``turing: RuntimeWarning: ...``): attributed
    to no source line, which Python would print beneath it."""
    warnings.warn_explicit(message, RuntimeWarning, "turing", 0, module="turing", registry={})
