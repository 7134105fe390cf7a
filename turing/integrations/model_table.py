"""The models of a Turing test (``turing/TuringTest-v0``), from any way a user gives them:
mappings of parameter values, rows of values, an array, or ``None`` for models drawn
uniformly within the bounds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from turing.contracts.system import System
from turing.errors import UserError

ModelsLike = (
    Sequence[Mapping[str, Any]] | Sequence[Sequence[float]] | np.ndarray | Mapping[str, Any] | None
)


def model_table(
    system: System, models: ModelsLike, reference: Mapping[str, float] | None = None
) -> np.ndarray | None:
    """The models of a Turing test as a ``[M, D]`` array of parameter values.

    Args:
        system: the system.
        models: ``None`` (a fresh uniformly drawn model per model trial); a mapping name ->
            value (names left out take their genuine values); ``D`` values in the order of
            ``system.parameters``; or a list of either, or an ``[M, D]`` array.
        reference: the genuine values that mappings start from (default the system's).

    Returns:
        ``[M, D]`` float64 values, or ``None``.

    Raises:
        UserError: for an unknown name, a value out of bounds, a wrong shape or no models.
    """
    if models is None:
        return None
    reference = dict(reference or {p.name: p.genuine for p in system.parameters})
    if isinstance(models, Mapping):
        models = [models]
    if len(models) == 0:
        raise UserError(
            f"{system.name}: models is empty; give at least one model, or None for random models"
        )
    rows = []
    for model in models:
        if isinstance(model, Mapping):
            values = dict(reference)
            for name, value in model.items():
                values[system.parameter(name).name] = value
            model = [values[name] for name in system.parameter_names]
        rows.append(model)
    models = rows if any(isinstance(m, list) for m in rows) else models
    try:
        table = np.array(models, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(
            f"{system.name}: models must be mappings name -> value or rows of "
            f"{len(system.parameters)} numbers ({', '.join(system.parameter_names)})"
        ) from None
    d = len(system.parameters)
    if table.ndim == 1:
        table = table.reshape(1, -1)
    if table.ndim != 2 or table.shape[1] != d:
        raise UserError(
            f"{system.name}: models must be [M, {d}] values ({', '.join(system.parameter_names)}), "
            f"got shape {table.shape}"
        )
    for k, parameter in enumerate(system.parameters):
        for value in table[:, k]:
            parameter.check(value, system.name)
    return table
