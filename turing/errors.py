"""Errors a user can fix.

Every problem caused by input (a flag, a parameter value, a run folder) is raised as a
:class:`UserError` carrying one line that names the problem and the fix. The CLI prints it
on stderr and exits with status 2, without a traceback; the Python API lets it propagate.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input: the message is one line that says what is wrong and how to fix it."""

    exit_code = 2


class SystemContractError(UserError):
    """A registered system broke the System contract (wrong shapes, NaN from the genuine system)."""
