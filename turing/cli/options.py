"""The run options of ``turing run``, ``compare`` and ``bench``, generated from RunConfig.

Every option of a run is declared once, as a field of :class:`turing.contracts.config.RunConfig`
with its default and its description (:func:`turing.contracts.config.option`); this module turns
fields into ``argparse`` options (``--checkpoint-every`` for ``checkpoint_every``) and
parsed arguments back into the keyword arguments of a RunConfig. An option left out on the
command line is not passed, so the dataclass default applies: a default lives in one place,
and ``--help`` prints it once.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from turing.cli.common import (
    assignments,
    non_negative_int,
    option_values,
    positive_float,
    positive_int,
)
from turing.contracts.config import RunConfig

TYPES = {
    "positive_int": positive_int,
    "non_negative_int": non_negative_int,
    "positive_float": positive_float,
    "str": str,
    "pairs": str,
    "values": str,
}

FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_config_options(
    parser: argparse.ArgumentParser,
    names: Iterable[str] | None = None,
    defaults: Mapping[str, tuple[Any, str]] | None = None,
) -> None:
    """Adds the options of RunConfig fields ``names`` (default: every field the command line
    sets) to ``parser``.

    Args:
        defaults: a command's own default for a field, with the text that says why, e.g.
            ``{"threads": (1, "1 per run")}`` for ``compare``.
    """
    defaults = dict(defaults or {})
    for name in names or [n for n, f in FIELDS.items() if f.metadata.get("cli", True)]:
        meta = FIELDS[name].metadata
        kind = meta.get("kind", "str")
        if name in defaults:
            shown = defaults[name][1]
        elif "default_text" in meta:
            shown = meta["default_text"]
        else:
            default = _default(FIELDS[name])
            shown = None if default in (None, {}) else default
        help_text = meta.get("help", "")
        if shown is not None:
            help_text += f" (default: {shown})"
        parser.add_argument(
            flag(name),
            dest=name,
            type=TYPES[kind],
            choices=meta.get("choices"),
            metavar=meta.get("metavar"),
            default=argparse.SUPPRESS,
            help=help_text,
        )


def config_values(
    args: argparse.Namespace,
    names: Iterable[str] | None = None,
    defaults: Mapping[str, tuple[Any, str]] | None = None,
) -> dict[str, Any]:
    """The RunConfig keyword arguments the command line gave (plus a command's own
    ``defaults`` for the fields it left out)."""
    values: dict[str, Any] = {}
    for name in names or [n for n, f in FIELDS.items() if f.metadata.get("cli", True)]:
        if hasattr(args, name):
            kind = FIELDS[name].metadata.get("kind", "str")
            raw = getattr(args, name)
            if kind == "pairs":
                raw = assignments(raw, flag(name))
            elif kind == "values":
                raw = option_values(assignments(raw, flag(name)))
            values[name] = raw
        elif defaults and name in defaults:
            values[name] = defaults[name][0]
    return values


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None
