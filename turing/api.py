"""The Python entry points: :func:`learn` a system, :func:`resume` or :func:`load` a run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from turing.config import RunConfig
from turing.result import Result
from turing.runner import Runner
from turing.system import System


def learn(
    system: str | System = "agent-inference",
    *,
    mode: str = "interrogate",
    generations: int | None = None,
    seed: int = 0,
    true_params: Mapping[str, Any] | None = None,
    device: str = "cpu",
    out: str | Path | None = None,
    progress: bool = True,
    system_options: Mapping[str, Any] | None = None,
    **settings: Any,
) -> Result:
    """Infers ``system``'s parameters with ``mode`` and returns the finished run.

    Args:
        system: registered system name (see ``turing list``) or a registered System instance.
        mode: ``interrogate`` (Turing Learning), ``passive``, ``passive-io``, or any
            registered baseline.
        generations: budget; default the system's (300 for ``agent-inference``).
        seed: root seed of every random stream.
        true_params: genuine values that differ from the defaults, name -> value.
        device: torch device (``cpu``, ``cuda``).
        out: run folder; default a new folder under ``runs/``. A folder holding the same,
            unfinished run is continued.
        progress: show a progress bar.
        system_options: the system's constructor options.
        **settings: any other :class:`turing.RunConfig` field (``models``,
            ``interrogators``, ``steps``, ``checkpoint_every``, ``chunk_size``,
            ``model_sigma_init``, ``interrogator_sigma_init``, ``init``, ``threads``, ...).

    Returns:
        the :class:`Result`, also saved in the run folder.

    Raises:
        UserError: for bad input (unknown system, mode or parameter, out-of-bounds values,
            bad sizes, an ``out`` folder holding a different run).
    """
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise TypeError(
            f"learn() got unknown settings {unknown}; valid: {sorted(fields - {'system'})}"
        )
    options = dict(system_options or {})
    if isinstance(system, System):
        options = {**system.options(), **options}
        system = system.name
    config = RunConfig(
        system=system,
        mode=mode,
        generations=generations,
        seed=seed,
        true_params=dict(true_params or {}),
        device=device,
        system_options=options,
        **settings,
    )
    return Runner.create(config, out=out, progress=progress).run()


def resume(path: str | Path, progress: bool = True) -> Result:
    """Continues the run in ``path`` from its latest checkpoint (a finished run is returned
    as it is)."""
    return Runner.resume(path, progress=progress).run()


def load(path: str | Path) -> Result:
    """The finished run in ``path``."""
    return Result.load(path)
