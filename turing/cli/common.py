"""Argument types and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import re

from turing.errors import UserError

WHOLE = re.compile(r"[+-]?[0-9]+")
NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
"""Numbers as the command line reads them: ASCII digits only (Python's ``int`` and
``float`` also take full-width and other Unicode digits, which a user never means)."""


def whole_number(text: str) -> int:
    """``text`` as an int (ASCII digits, an optional sign).

    Raises:
        argparse.ArgumentTypeError: for anything else.
    """
    stripped = text.strip()
    if not WHOLE.fullmatch(stripped):
        hint = "; use ASCII digits 0-9" if not stripped.isascii() else ""
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number{hint}")
    return int(stripped)


def positive_int(text: str) -> int:
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must not be negative")
    return value


def positive_float(text: str) -> float:
    stripped = text.strip()
    if not NUMBER.fullmatch(stripped):
        hint = "; use ASCII digits 0-9" if not stripped.isascii() else ""
        raise argparse.ArgumentTypeError(f"{text!r} is not a number{hint}")
    value = float(stripped)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def assignments(text: str | None, flag: str) -> dict[str, str]:
    """Parses ``NAME=VALUE,NAME=VALUE`` into a dict of strings.

    Raises:
        UserError: for an empty pair (``a=1,,b=2``, a trailing comma), a pair without
            ``=``, an empty or repeated name.
    """
    if not text:  # not given (an empty string included: no pairs)
        return {}
    result: dict[str, str] = {}
    for pair in text.split(","):
        pair = pair.strip()
        if not pair:
            raise UserError(
                f"{flag} {text!r} has an empty NAME=VALUE pair; separate pairs by single "
                "commas, e.g. a=0.6,p=0.35"
            )
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise UserError(f"{flag} expects NAME=VALUE pairs separated by commas, got {pair!r}")
        if name in result:
            raise UserError(f"{flag} names {name!r} twice; give each name once")
        result[name] = value
    return result


def option_values(pairs: dict[str, str]) -> dict[str, object]:
    """Converts option strings to numbers or booleans where they read as such.

    Raises:
        UserError: for a value written with non-ASCII digits (``１２``), which would read as
            a number in Python but is not one on a command line.
    """
    values: dict[str, object] = {}
    for name, text in pairs.items():
        lowered = text.lower()
        if lowered in ("true", "false"):
            values[name] = lowered == "true"
            continue
        if WHOLE.fullmatch(text):
            values[name] = int(text)
        elif NUMBER.fullmatch(text) or lowered in ("nan", "inf", "-inf", "+inf"):
            values[name] = float(text)
        else:
            if not text.isascii() and _reads_as_number(text):
                raise UserError(
                    f"option {name}={text!r} uses non-ASCII digits; write numbers with 0-9"
                )
            values[name] = text
    return values


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def add_system_module_option(parser: argparse.ArgumentParser) -> None:
    """Adds ``--system-module MODULE`` (repeatable) to a subcommand."""
    parser.add_argument(
        "--system-module",
        metavar="MODULE",
        action="append",
        dest="system_modules",
        help="import MODULE (a dotted module name or a .py file) before anything else, so "
        "that the systems it registers can be named; repeat for several",
    )


def load_system_modules(args: argparse.Namespace) -> None:
    """Imports the modules given with ``--system-module``.

    Raises:
        UserError: for a module that cannot be imported.
    """
    from turing.integrations.plugins import load_system_module

    for module in getattr(args, "system_modules", None) or ():
        load_system_module(module)
