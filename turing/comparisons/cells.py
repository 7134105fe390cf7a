"""The cells of a comparison and its stored definition (``comparison.json``).

A comparison is one system, a list of methods, a list of seeds and the run settings the
cells share; a :class:`Cell` is one (method, seed) run of it, an ordinary run folder under
``runs/<method>/seed-<k>/``. The checks here decide whether a folder holds the same
comparison as the one asked for (settings added to :class:`~turing.RunConfig` since it
was written take their defaults).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from turing.contracts.config import RunConfig
from turing.errors import UserError
from turing.methods.method import method_names
from turing.runs.rundir import RunDir

DEFINITION = "comparison.json"
FORMAT = 1
PAPER_METHODS = ("interrogate", "passive")
# Settings that choose a cell rather than describe the shared experiment.
CELL_FIELDS = ("system", "mode", "seed")


@dataclass(frozen=True)
class Cell:
    """One (method, seed) run of a comparison.

    Attributes:
        method: the run's mode.
        seed: its root seed.
        path: its run folder.
        config: its configuration as JSON (defaults not filled in).
    """

    method: str
    seed: int
    path: Path
    config: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.method}/seed-{self.seed}"

    @property
    def status(self) -> str:
        """``finished``, ``partial`` (started, not finished) or ``new``."""
        run_dir = RunDir(self.path)
        if run_dir.is_finished():
            return "finished"
        return "partial" if run_dir.is_run() else "new"


def check_methods(methods: Sequence[str] | str) -> list[str]:
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",")]
    methods = [m for m in methods if m]
    if not methods:
        raise UserError("--methods is empty; name at least one method (see `turing list`)")
    known = method_names()
    for method in methods:
        if method not in known:
            raise UserError(f"--methods: unknown method {method!r}; choose from {', '.join(known)}")
    duplicates = sorted({m for m in methods if methods.count(m) > 1})
    if duplicates:
        raise UserError(f"--methods names {', '.join(duplicates)} twice; give each method once")
    return list(methods)


MAX_SEEDS = 10_000
"""Seeds of one comparison: each is a run folder per method (the paper used 10)."""


def check_seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, bool):
        raise UserError(f"--seeds must be a positive whole number, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise UserError(f"--seeds must be a positive whole number, got {seeds}")
        if seeds > MAX_SEEDS:
            raise UserError(
                f"--seeds {seeds}: a comparison of {seeds:,} run folders per method cannot "
                f"finish; give at most {MAX_SEEDS:,}"
            )
        return list(range(seeds))
    if isinstance(seeds, range | list | tuple) and len(seeds) > MAX_SEEDS:
        raise UserError(
            f"{len(seeds):,} seeds: a comparison of that many run folders per method cannot "
            f"finish; give at most {MAX_SEEDS:,}"
        )
    values = list(seeds)
    if not values or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in values):
        raise UserError(f"seeds must be non-negative whole numbers, got {values!r}")
    if len(set(values)) != len(values):
        raise UserError(f"seeds {values} repeat a seed; give each seed once")
    return values


def first_difference(stored: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    if stored["system"] != new["system"]:
        return f"system {stored['system']} there, {new['system']} here"
    # A setting added to RunConfig after the folder was written has its default there (new
    # options default to what the code did before).
    defaults = {
        f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
        for f in dataclasses.fields(RunConfig)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }
    for key in sorted(set(stored["run"]) | set(new["run"])):
        there = stored["run"].get(key, defaults.get(key))
        here = new["run"].get(key, defaults.get(key))
        if there != here:
            return f"{key.replace('_', '-')} {json.dumps(there)} there, {json.dumps(here)} here"
    return ""


def normalised(data: Any) -> Any:
    """``data`` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(data))
