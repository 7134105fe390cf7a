"""Where a run's system came from, recorded in the run folder (``system.json``) so that the
commands that read the folder say which flag to pass when the system is not known.

A run of a system defined in the user's own module records the ``--system-module`` value
that imported it (an absolute path for a ``.py`` file, or a module name); a plugin's run
records the plugin. ``turing run --resume``, ``plot``, ``replay`` and ``compare --resume``
then answer "unknown system" with the exact flag (or the package to install). The record is
a hint and nothing more: it is never imported or executed (a folder someone sent you cannot
run code), a damaged one is ignored, and what it holds is printed as plain text.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from turing.errors import UserError
from turing.integrations.plugins import system_module_of
from turing.integrations.registry import registered
from turing.runs.files import atomic_write_json

RECORD = "system.json"
LIMIT = 4096
"""Bytes of ``system.json`` read at most (it holds a few short strings)."""


def record_system(folder: Path, name: str) -> None:
    """Writes ``system.json``: the system's name, the module that defined it, and the
    ``--system-module`` flag or the plugin that made it known."""
    registration = registered(name)
    if registration is None or registration.source.split(".")[0] == "turing":
        return  # a built-in system: always known
    atomic_write_json(
        Path(folder) / RECORD,
        {
            "system": name,
            "module": registration.source,
            "system_module": system_module_of(registration.source),
            "plugin": registration.plugin or None,
        },
    )


def read_record(folder: Path) -> dict[str, str]:
    """The recorded strings (empty where there is no record or it is damaged)."""
    path = Path(folder) / RECORD
    try:
        if not path.is_file() or path.is_symlink():
            return {}
        with path.open("rb") as handle:
            data = json.loads(handle.read(LIMIT).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: _printable(v) for k, v in data.items() if isinstance(v, str) and v}


def how_to_load(folder: Path, name: str) -> str:
    """What to pass so that ``name`` is known, from the folder's record ("" if it has none)."""
    record = read_record(folder)
    if record.get("system") != name:
        return ""
    module = record.get("system_module")
    if module:
        where = Path(module)
        missing = module.endswith(".py") and where.is_absolute() and not where.is_file()
        note = " (that file is not there any more: give the module's new path)" if missing else ""
        return (
            f"it was defined by `--system-module {shlex.quote(module)}` when this ran: add "
            f"that flag{note}; turing never imports code from a run folder"
        )
    if record.get("plugin"):
        return (
            f"it came from {record['plugin']} when this ran: install that package (or name "
            f"the module that defines it, {record.get('module', '?')}, with --system-module)"
        )
    if record.get("module"):
        return (
            f"it was defined in the module {record['module']} when this ran: add "
            f"`--system-module {shlex.quote(record['module'])}` (or the path of its file); "
            "turing never imports code from a run folder"
        )
    return ""


@contextmanager
def system_hint(folder: Path, name: str) -> Iterator[None]:
    """Adds :func:`how_to_load` to the "unknown system" error raised inside the block."""
    try:
        yield
    except UserError as exc:
        hint = how_to_load(folder, name) if str(exc).startswith("unknown system") else ""
        if not hint:
            raise
        raise UserError(f"unknown system {name!r}; {hint}") from None


def _printable(text: Any) -> str:
    # Shown in a terminal: no control characters (escape sequences), and short.
    return "".join(c for c in str(text) if c.isprintable())[:300]
