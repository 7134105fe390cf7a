"""The Python entry points: :func:`learn` a system, :func:`resume` or :func:`load` a run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from turing.contracts.config import RunConfig
from turing.genuine.opening import describe_object
from turing.runs.result import Result
from turing.runs.runner import Runner
from turing.contracts.system import System


def learn(
    system: str | System = "agent-inference",
    *,
    out: str | Path | None = None,
    progress: bool = True,
    **settings: Any,
) -> Result:
    """Infers ``system``'s parameters and returns the finished run.

    Example::

        result = turing.learn("agent-inference", mode="interrogate", generations=300,
                              seed=1, true_params={"p": 0.35}, out="runs/agent-s1")

    Args:
        system: registered system name (see ``turing list``) or a registered System instance
            (its constructor options are kept).
        out: run folder; default a new folder under ``runs/``. A folder holding the same,
            unfinished run is continued.
        progress: show a progress bar.
        **settings: :class:`turing.RunConfig` fields, with its defaults: ``mode``,
            ``generations``, ``seed``, ``true_params``, ``device``, ``system_options``,
            ``models``, ``interrogators``, ``steps``, ``backend``, ``threads``, ... (each is
            described by ``RunConfig.describe(name)`` and in ``turing run --help``).
            ``genuine`` takes a Gymnasium id, or an env factory (a top-level function
            returning a ``gymnasium.Env``) or a ``gymnasium.vector.VectorEnv``: the genuine
            system (the run folder names the object; continue such a run with
            ``turing.resume(path, genuine=...)``).

    Returns:
        the :class:`Result`, also saved in the run folder.

    Raises:
        UserError: for bad input (unknown system, mode or parameter, out-of-bounds values,
            bad sizes, ``true_params`` or ``system_options`` that are not dicts or that the
            system rejects, an ``out`` folder holding a different run).
    """
    fields = {f.name for f in dataclasses.fields(RunConfig)} - {"system", "engine"}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise TypeError(f"learn() got unknown settings {unknown}; valid: {sorted(fields)}")
    for name in ("true_params", "system_options", "method_options"):
        if settings.get(name) is None:
            settings.pop(name, None)
        elif isinstance(settings[name], Mapping):
            settings[name] = dict(settings[name])
        # anything else (a string "a=0.5", a list) is refused by RunConfig.validate
    if isinstance(system, System):
        given = settings.get("system_options", {})
        if isinstance(given, dict):
            settings["system_options"] = {**system.options(), **given}
        system = system.name
    genuine = settings.get("genuine")
    if genuine is not None and not isinstance(genuine, str):
        settings["genuine"] = describe_object(genuine)
    else:
        genuine = None
    config = RunConfig(system=system, **settings)
    return Runner.create(config, out=out, progress=progress, genuine=genuine).run()


def resume(path: str | Path, progress: bool = True, genuine: Any = None) -> Result:
    """Continues the run in ``path`` from its latest checkpoint (a finished run is returned
    as it is).

    Args:
        genuine: the env factory or VectorEnv of a run whose genuine system was given as a
            Python object (the same object, or one that builds the same env).
    """
    return Runner.resume(path, progress=progress, genuine=genuine).run()


def load(path: str | Path) -> Result:
    """The finished run in ``path``.

    Raises:
        UserError: if ``path`` is not a path, not a finished run, or a damaged one.
    """
    return Result.load(path)
