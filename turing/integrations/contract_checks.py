"""Checks of a system against its contract, before it is registered or run: parameters
(names, bounds, genuine values), sizes and spaces, each problem named in one line."""

from __future__ import annotations

import inspect
import math
import re
from typing import Any

from turing.contracts.system import Parameter, System
from turing.errors import SystemContractError

PARAMETER_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""Parameter names are identifiers: they become ``metrics.csv`` columns (``best_a``) and
``--true-params a=0.6`` keys."""


def validate_system(system: System) -> System:
    """Checks a System instance's declarations against the contract.

    Returns:
        ``system``.

    Raises:
        SystemContractError: naming the system and every problem found.
    """
    problems = contract_problems(system)
    if problems:
        raise SystemContractError(
            f"{getattr(system, 'name', type(system).__name__)}: " + "; ".join(problems)
        )
    return system


def contract_problems(system: System | type[System]) -> list[str]:
    """What is wrong with the declarations of a System instance or class (empty if
    nothing). On a class, attributes that are not defined yet are skipped: a system may set
    them in ``__init__``."""
    is_class = inspect.isclass(system)
    problems: list[str] = []

    def get(attribute: str) -> Any:
        if is_class and isinstance(inspect.getattr_static(system, attribute, None), property):
            return _MISSING  # computed per instance: checked when the system is built
        value = getattr(system, attribute, _MISSING)
        if value is _MISSING and not is_class:
            problems.append(f"it has no `{attribute}`")
        return value

    parameters = get("parameters")
    if parameters is not _MISSING:
        problems += _parameter_problems(parameters)
    for attribute in ("observation_size", "action_size"):
        value = get(attribute)
        if value is not _MISSING and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            problems.append(f"{attribute} must be a whole number >= 1, got {value!r}")
    for kind, finite in (("action", True), ("observation", False)):
        low, high = get(f"{kind}_low"), get(f"{kind}_high")
        if low is not _MISSING and high is not _MISSING:
            problems += _bounds_problems(kind, low, high, get(f"{kind}_size"), finite)
    for names, size in (("observation_names", "observation_size"), ("action_names", "action_size")):
        value, n = getattr(system, names, ()), getattr(system, size, None)
        if value and isinstance(n, int) and len(value) != n:
            problems.append(f"{names} has {len(value)} names but {size} is {n}")
    for attribute, least in (
        ("default_steps", 1),
        ("default_generations", 1),
        ("default_chunk_size", 2),
    ):
        value = get(attribute)
        if value is not _MISSING and (
            isinstance(value, bool) or not isinstance(value, int) or value < least
        ):
            problems.append(f"{attribute} must be a whole number >= {least}, got {value!r}")
    return problems


_MISSING = object()


def _bounds_problems(kind: str, low: Any, high: Any, size: Any, finite: bool) -> list[str]:
    """Bounds are numbers, or sequences of one number per dimension, with low < high (and
    finite, for actions: an interrogator's output in [0, 1] is scaled into them)."""
    what = (
        f"{kind} bounds must be finite numbers with {kind}_low < {kind}_high"
        if finite
        else f"{kind} bounds must satisfy {kind}_low < {kind}_high"
    )
    hint = " (an interrogator's output in [0, 1] is scaled into them)" if finite else ""
    values = []
    for name, bound in (("low", low), ("high", high)):
        if _is_number(bound):
            values.append([float(bound)])
            continue
        if isinstance(bound, list | tuple) and bound and all(_is_number(v) for v in bound):
            if isinstance(size, int) and len(bound) != size:
                return [
                    f"{kind}_{name} has {len(bound)} values but {kind}_size is {size}; give one "
                    "number for every dimension, or a single number for all"
                ]
            values.append([float(v) for v in bound])
            continue
        return [f"{what}, got [{low!r}, {high!r}]{hint}"]
    lows, highs = values
    if len(lows) != len(highs) and 1 not in (len(lows), len(highs)):
        return [f"{kind}_low and {kind}_high have different lengths"]
    lows = lows * len(highs) if len(lows) == 1 else lows
    highs = highs * len(lows) if len(highs) == 1 else highs
    for lo, hi in zip(lows, highs, strict=True):
        if not lo < hi or (finite and not (math.isfinite(lo) and math.isfinite(hi))):
            return [f"{what}, got [{low!r}, {high!r}]{hint}"]
    return []


def _parameter_problems(parameters: Any) -> list[str]:
    if not isinstance(parameters, list | tuple) or not parameters:
        return [f"parameters must be a non-empty tuple of turing.Parameter, got {parameters!r}"]
    problems = []
    seen: set[str] = set()
    for p in parameters:
        if not isinstance(p, Parameter):
            problems.append(f"parameters must be turing.Parameter objects, got {p!r}")
            continue
        if not isinstance(p.name, str) or not PARAMETER_NAME_PATTERN.match(p.name):
            problems.append(f"parameter name {p.name!r} must be an identifier (letters, digits, _)")
        elif p.name in seen:
            problems.append(f"parameter name {p.name!r} is used twice")
        seen.add(p.name)
        bounds = (p.low, p.high, p.genuine)
        if not all(_is_number(v) and math.isfinite(v) for v in bounds) or not p.low < p.high:
            problems.append(
                f"parameter {p.name}: bounds must be finite with low < high, got [{p.low!r}, {p.high!r}]"
            )
        elif not p.low <= p.genuine <= p.high:
            problems.append(
                f"parameter {p.name}: genuine value {p.genuine:g} is outside its bounds "
                f"[{p.low:g}, {p.high:g}]"
            )
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def checked_step(system: System, result: Any, what: str, n: int) -> tuple[Any, Any]:
    """``(state, observation)`` of a ``reset`` or ``step`` call, checked as the engine checks
    it (for the views that call the simulator themselves: the Gymnasium envs).

    Args:
        result: what ``reset`` or ``step`` returned.
        what: ``"reset"`` or ``"step"``, for the message.
        n: trials simulated.

    Raises:
        SystemContractError: for anything but a pair whose observation is a floating point
            tensor of shape ``(observation_size, n)``.
    """
    import torch

    if not (isinstance(result, tuple) and len(result) == 2):
        raise SystemContractError(
            f"{system.name}: {what} returned {type(result).__name__}, expected a "
            "(state, observation) pair"
        )
    state, observation = result
    size = system.observation_size
    if not isinstance(observation, torch.Tensor) or tuple(observation.shape) != (size, n):
        got = (
            tuple(observation.shape)
            if isinstance(observation, torch.Tensor)
            else type(observation).__name__
        )
        raise SystemContractError(
            f"{system.name}: {what} returned shape {got}, expected ({size}, {n}) "
            "(features first, trial axis last)"
        )
    if not observation.is_floating_point():
        raise SystemContractError(
            f"{system.name}: {what} returned a {observation.dtype} tensor, expected floating "
            "point (create it like params, e.g. params.new_zeros)"
        )
    return state, observation
