"""Argument types and helpers shared by the subcommands."""

from __future__ import annotations

import argparse

from turing.errors import UserError


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must not be negative")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def assignments(text: str | None, flag: str) -> dict[str, str]:
    """Parses ``NAME=VALUE,NAME=VALUE`` into a dict of strings.

    Raises:
        UserError: for a pair without ``=`` or an empty or repeated name.
    """
    if not text:
        return {}
    result: dict[str, str] = {}
    for pair in text.split(","):
        pair = pair.strip()
        if not pair:
            continue
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise UserError(f"{flag} expects NAME=VALUE pairs separated by commas, got {pair!r}")
        if name in result:
            raise UserError(f"{flag} names {name!r} twice; give each name once")
        result[name] = value
    return result


def option_values(pairs: dict[str, str]) -> dict[str, object]:
    """Converts option strings to numbers or booleans where they read as such."""
    values: dict[str, object] = {}
    for name, text in pairs.items():
        lowered = text.lower()
        if lowered in ("true", "false"):
            values[name] = lowered == "true"
            continue
        try:
            values[name] = int(text)
        except ValueError:
            try:
                values[name] = float(text)
            except ValueError:
                values[name] = text
    return values


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
