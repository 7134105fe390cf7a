"""Method options: the ``method_options`` of a run (``--method-options KEY=VALUE,...``),
checked against each method's documented defaults before anything is written."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from turing.errors import UserError


def resolve_options(
    mode: str, given: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """``defaults`` updated with ``given``, each value converted to its default's type.

    A default of ``None`` accepts a positive whole number or ``None``.

    Raises:
        UserError: for an unknown option or a value of the wrong kind.
    """
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise UserError(
            f"--method-options: {mode} has no option {', '.join(map(repr, unknown))}; its options "
            f"are {', '.join(f'{k}={v}' for k, v in defaults.items())}"
        )
    options = dict(defaults)
    for name, value in given.items():
        options[name] = _convert(mode, name, value, defaults[name])
    return options


def _convert(mode: str, name: str, value: Any, default: Any) -> Any:
    problem = f"--method-options: {mode} option {name}={value!r}"
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise UserError(f"{problem} must be true or false")
    if default is None or isinstance(default, int):
        if value is None and default is None:
            return None
        if (
            isinstance(value, bool)
            or not (isinstance(value, int) or str(value).isdigit())
            or int(value) < 1
        ):
            raise UserError(f"{problem} must be a positive whole number")
        return int(value)
    if isinstance(default, float):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UserError(f"{problem} must be a number") from None
        if not math.isfinite(number) or number < 0:
            raise UserError(f"{problem} must be a finite number >= 0")
        return number
    return value
