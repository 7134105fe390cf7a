"""Comparisons: a grid of runs (methods x seeds) of one system, run in parallel, summarised.

A comparison lives in one folder::

    DIR/comparison.json              the definition: system, methods, seeds, run settings
    DIR/runs/<method>/seed-<k>/      one ordinary, resumable run folder per cell
    DIR/log.csv                      which process ran which cell, from which generation
    DIR/cells.csv, summary.csv, summary.md, plots/   the summary (see turing.reports.summary)

Running a comparison again skips the finished cells and resumes the unfinished ones from
their last checkpoint (each cell is a :class:`turing.runs.runner.Runner` run folder, so a cell's
result does not depend on how often it was interrupted). The definition's run settings
are fixed once written: a command that names other settings for the same folder is refused
before anything is touched. Methods and seeds may be added later (the grid grows), so a
comparison can be extended with a new baseline or more seeds.

Cells run on one of two executors (see :mod:`turing.comparisons.executors`):

* ``local``: a pool of worker processes (``spawn``), one torch thread each; with one
  worker, in this process. A worker that dies is replaced and its cell resumed, up to
  ``retries`` times.
* ``ray``: each cell is a Ray task (1 CPU) on the cluster at ``address`` or on a local Ray;
  Ray retries a task whose worker dies, and the retry resumes from the cell's checkpoint.
  On a cluster, the comparison folder must be on a file system that every node sees.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from turing.comparisons.cells import (
    CELL_FIELDS,
    DEFINITION,
    FORMAT,
    PAPER_METHODS,
    Cell,
    check_methods,
    check_seeds,
    first_difference,
    normalised,
)
from turing.comparisons.executors import check_executor, run_inline, run_local
from turing.comparisons.monitor import FolderLock, Monitor
from turing.comparisons.ray_executor import run_ray
from turing.comparisons.tasks import batches, plugin_modules
from turing.contracts.config import RunConfig
from turing.errors import UserError
from turing.reports.summaries import summarise_results
from turing.reports.summary import Summary
from turing.reports.summary_files import write_summary
from turing.runs.files import check_path_names
from turing.runs.provenance import record_system, system_hint
from turing.runs.rundir import atomic_write_json, read_json, refuse_links
from turing.runs.runner import Runner


class Comparison:
    """A comparison folder and its definition.

    Build one with :meth:`create` (new, or the same comparison again, possibly with more
    methods or seeds) or :meth:`open` (an existing folder); then :meth:`run` it and
    :meth:`summarise` it.

    Args:
        path: the comparison folder.
        definition: the contents of ``comparison.json``.
    """

    def __init__(self, path: str | Path, definition: Mapping[str, Any]):
        self.path = Path(path)
        self.definition = dict(definition)
        # The cells a `create` call asked for (the stored grid may be larger); None = all.
        self.selected: tuple[list[str], list[int]] | None = None
        self._generations: dict[str, int] = {}

    # ------------------------------------------------------------------ building
    @classmethod
    def create(
        cls,
        system: str,
        *,
        methods: Sequence[str] = PAPER_METHODS,
        seeds: int | Sequence[int] = 5,
        out: str | Path,
        generations: int | None = None,
        true_params: Mapping[str, Any] | None = None,
        system_options: Mapping[str, Any] | None = None,
        device: str = "cpu",
        threads: int = 1,
        **settings: Any,
    ) -> Comparison:
        """Defines a comparison in ``out`` (or reopens the same one there).

        Every cell's configuration is validated (system, options, genuine values, methods
        and whether the system supports them) before anything is written.

        Args:
            system: registered system name.
            methods: modes to compare (``turing list`` shows them); ``interrogate`` is the
                reference of the p-values.
            seeds: a number ``N`` (seeds ``0 .. N-1``) or the seeds themselves.
            out: the comparison folder.
            generations: budget of every run; default the system's.
            true_params: genuine values that differ from the defaults.
            system_options: the system's constructor options.
            device: torch device of every run.
            threads: torch CPU threads per run (1: one worker per core does the
                parallelism).
            **settings: any other :class:`turing.RunConfig` field, shared by all cells
                (``models``, ``interrogators``, ``steps``, ``checkpoint_every``, ...).

        Returns:
            the comparison, its definition written to ``out/comparison.json``.

        Raises:
            UserError: for bad input, or if ``out`` holds a different comparison or
                something else.
        """
        fields = {f.name for f in dataclasses.fields(RunConfig)} - set(CELL_FIELDS)
        unknown = sorted(set(settings) - fields)
        if unknown:
            raise TypeError(
                f"Comparison.create() got unknown settings {unknown}; valid: {sorted(fields)}"
            )
        methods = check_methods(methods)
        seeds = check_seeds(seeds)
        template = RunConfig(
            system=system,
            generations=generations,
            true_params=dict(true_params or {}),
            system_options=dict(system_options or {}),
            device=device,
            threads=threads,
            **settings,
        ).with_preset()  # stored with the options its preset chose, as a run folder is
        generations = {}
        for method in methods:
            config, _ = Runner.resolve(dataclasses.replace(template, mode=method, seed=seeds[0]))
            generations[method] = config.generations
        # The settings are stored as given: defaults (generations, steps) are filled in per
        # method by each run, as `turing run` would, and a budget becomes generations there.
        definition = {
            "format": FORMAT,
            "system": config.system,
            "methods": list(methods),
            "seeds": list(seeds),
            "run": {k: v for k, v in template.to_json().items() if k not in CELL_FIELDS},
        }
        comparison = cls._attach(Path(out), normalised(definition))
        comparison._generations.update(generations)
        if not (comparison.path / "system.json").exists():
            record_system(comparison.path, config.system)  # which --system-module, for readers
        return comparison

    @classmethod
    def _attach(cls, path: Path, definition: dict[str, Any]) -> Comparison:
        check_path_names(path, "comparison folder")
        if path.exists() and not path.is_dir():
            raise UserError(f"--out {path} is a file; give a folder for the comparison")
        stored_path = path / DEFINITION
        if stored_path.is_file():
            stored = cls.open(path).definition
            difference = first_difference(stored, definition)
            if difference:
                raise UserError(
                    f"--out {path} holds a different comparison ({difference}); choose another "
                    f"--out, or continue that one with `turing compare --resume {path}`"
                )
            grown = dict(stored)
            grown["methods"] = stored["methods"] + [
                m for m in definition["methods"] if m not in stored["methods"]
            ]
            grown["seeds"] = sorted(set(stored["seeds"]) | set(definition["seeds"]))
            if grown != stored:
                atomic_write_json(stored_path, grown)
            comparison = cls(path, grown)
            comparison.selected = (definition["methods"], definition["seeds"])
            return comparison
        if path.is_dir() and any(path.iterdir()):
            raise UserError(
                f"--out {path} is not empty and holds no comparison; choose a new or empty folder"
            )
        path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(stored_path, definition)
        return cls(path, definition)

    @classmethod
    def open(cls, path: str | Path) -> Comparison:
        """The comparison stored in ``path``.

        Raises:
            UserError: if ``path`` holds no comparison.
        """
        path = Path(path)
        stored_path = path / DEFINITION
        if not stored_path.is_file():
            raise UserError(
                f"{path} holds no comparison ({DEFINITION} is missing); "
                "give the --out folder of a `turing compare`"
            )
        damaged = "the comparison folder is damaged: restore comparison.json"
        # Its cells are run folders: no links down to them (they check their own files).
        refuse_links(path, depth=3, what="a comparison folder")
        definition = read_json(stored_path, damaged)
        if not isinstance(definition, dict):
            raise UserError(f"{stored_path} does not hold a JSON object; {damaged}")
        if definition.get("format") != FORMAT:
            raise UserError(
                f"{stored_path} was written by another version of turing-learning "
                f"(format {definition.get('format')!r}); summarise it with that version"
            )
        kinds = {"system": str, "methods": list, "seeds": list, "run": dict}
        for key, kind in kinds.items():
            if not isinstance(definition.get(key), kind):
                raise UserError(
                    f"{stored_path}: {key!r} is missing or not a {kind.__name__}; {damaged}"
                )
        try:
            check_methods(definition["methods"])
            check_seeds(definition["seeds"])
        except UserError as exc:
            raise UserError(f"{stored_path}: {exc}; {damaged}") from None
        # Settings added to RunConfig since the file was written take their defaults.
        run = RunConfig.from_json(
            dict(definition["run"], system=definition["system"]), str(stored_path)
        ).to_json()
        definition["run"] = {k: v for k, v in run.items() if k not in CELL_FIELDS}
        return cls(path, normalised(definition))

    # ------------------------------------------------------------------ the grid
    @property
    def system(self) -> str:
        return self.definition["system"]

    @property
    def methods(self) -> list[str]:
        return list(self.definition["methods"])

    @property
    def seeds(self) -> list[int]:
        return list(self.definition["seeds"])

    def cells(
        self, methods: Iterable[str] | None = None, seeds: Iterable[int] | None = None
    ) -> list[Cell]:
        """The grid's cells (or those of the given methods and seeds), method-major."""
        methods = self.methods if methods is None else list(methods)
        seeds = self.seeds if seeds is None else list(seeds)
        return [self.cell(m, s) for m in methods for s in seeds]

    def cell(self, method: str, seed: int) -> Cell:
        config = dict(self.definition["run"], system=self.system, mode=method, seed=int(seed))
        path = self.path / "runs" / method / f"seed-{seed}"
        return Cell(method, int(seed), path, config)

    def generations(self, method: str) -> int:
        """The generations a run of ``method`` gets (its default, or what a budget buys)."""
        if method not in self._generations:
            template = dict(self.definition["run"], system=self.system, mode=method)
            with system_hint(self.path, self.system):
                config, _ = Runner.resolve(RunConfig.from_json(template))
            self._generations[method] = config.generations
        return self._generations[method]

    def status(self) -> dict[str, int]:
        """How many cells are ``finished``, ``partial`` and ``new``."""
        counts = {"finished": 0, "partial": 0, "new": 0}
        for cell in self.cells():
            counts[cell.status] += 1
        return counts

    # ------------------------------------------------------------------ running
    def run(
        self,
        *,
        executor: str = "local",
        workers: int | None = None,
        address: str | None = None,
        retries: int = 2,
        progress: bool = True,
        summarise: bool = True,
        plots: bool = True,
        batch: int | None = None,
    ) -> Summary:
        """Runs the unfinished cells (those selected by :meth:`create`, else all) and
        writes the summary.

        Args:
            executor: ``local`` (worker processes) or ``ray``.
            workers: parallel cells; default the number of CPU cores (local), or the CPUs
                of a local Ray; on a Ray cluster, a cap on tasks in flight (default none).
                With one local worker (or one cell to run) the cells run one after another
                in this process, which spares starting a worker and lets a debugger in.
            address: Ray cluster address (``host:port``, ``ray://host:port`` or ``auto``);
                default a local Ray started for this comparison.
            retries: how often a cell whose worker process died is restarted (it resumes
                from its last checkpoint).
            progress: show a progress bar over all cells' generations.
            summarise: write the summary at the end.
            plots: draw the summary's figures.
            batch: coevolution cells one process runs in lockstep, their trials simulated
                as one batch (:mod:`turing.runs.lockstep`; each is still its own run folder).
                Default: 1 on a CPU (a run's trials already keep the cores busy), on CUDA
                every such cell of the grid, up to 32 (one run cannot fill a GPU).

        Returns:
            the :class:`~turing.reports.summary.Summary` of every finished cell of the grid.
            ``failures`` on the returned summary lists the cells that raised.

        Raises:
            UserError: for a bad executor, worker count or Ray address, a missing Ray, or if
                another process is running this comparison.
        """
        ray = check_executor(executor, workers, address, retries)
        methods, seeds = self.selected or (self.methods, self.seeds)
        cells = self.cells(methods, seeds)
        if batch is None:
            on_gpu = str(self.definition["run"].get("device", "cpu")).startswith("cuda")
            batch = min(32, len(cells)) if on_gpu else 1
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise UserError(f"--batch must be a positive whole number, got {batch!r}")
        with FolderLock(self.path):
            todo = [c for c in cells if c.status != "finished"]
            budgets = {c.name: self.generations(c.method) for c in cells}
            monitor = Monitor(self.path, f"compare {self.system}", budgets, todo, progress)
            failures: dict[str, str] = {}
            if todo:
                modules = plugin_modules(self.system, methods)
                tasks = len(batches(todo, batch))
                if executor == "local" and (workers == 1 or tasks == 1):
                    run_inline(todo, monitor, failures, batch)
                elif executor == "local":
                    run_local(
                        todo, workers or os.cpu_count() or 1, modules, retries, monitor,
                        failures, batch,
                    )  # fmt: skip
                else:
                    run_ray(ray, todo, workers, address, modules, retries, monitor, failures)
            monitor.close()
        summary = self.summarise(write=summarise, plots=plots)
        summary.failures = failures
        return summary

    def summarise(self, *, write: bool = True, plots: bool = True) -> Summary:
        """Summarises the grid's finished cells; writes ``summary.csv``, ``summary.md``,
        ``cells.csv`` and the figures into the folder unless ``write`` is false."""
        from turing.runs.result import Result

        results = [Result.load(c.path) for c in self.cells() if c.status == "finished"]
        for result in results:
            if result.config.system != self.system:
                raise UserError(
                    f"{self.path / 'comparison.json'} names system {self.system!r}, but its cell "
                    f"{result.path} ran {result.config.system!r}: the definition was edited; "
                    "restore it, or summarise the runs in a new comparison folder"
                )
        planned = {m: len(self.seeds) for m in self.methods}
        summary = summarise_results(
            results, methods=self.methods, planned=planned, title=self.title()
        )
        summary.system = self.system
        if write:
            write_summary(summary, self.path, results, plots=plots)
        return summary

    def title(self) -> str:
        """One line: system, seeds and budget."""
        try:
            budgets = {m: self.generations(m) for m in self.methods}
        except UserError:  # summarising where the system's code is not installed
            budgets = {m: self.definition["run"]["generations"] or "default" for m in self.methods}
        if len(set(budgets.values())) == 1:
            budget = f"{next(iter(budgets.values()))} generations"
        else:
            budget = "generations " + ", ".join(f"{m} {g}" for m, g in budgets.items())
        return f"{self.system}: {len(self.seeds)} seeds x {budget}"


def compare_methods(
    system: str,
    *,
    methods: Sequence[str] = PAPER_METHODS,
    seeds: int | Sequence[int] = 5,
    out: str | Path,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    plots: bool = True,
    batch: int | None = None,
    **settings: Any,
) -> Summary:
    """Defines (or reopens) the comparison in ``out``, runs its unfinished cells and returns
    its summary: :meth:`Comparison.create` followed by :meth:`Comparison.run`.

    Example::

        summary = turing.compare_methods("agent-inference", methods=["interrogate", "passive"],
                                         seeds=5, generations=300, out="cmp", workers=2)
        print(summary.table())

    Args:
        system: registered system name.
        methods: modes to compare.
        seeds: a number ``N`` (seeds ``0 .. N-1``) or the seeds themselves.
        out: the comparison folder.
        executor: ``local`` (worker processes) or ``ray``.
        workers: parallel cells.
        address: Ray cluster address.
        batch: cells run in lockstep per process (see :meth:`Comparison.run`).
        progress: show a progress bar.
        plots: draw the summary's figures.
        **settings: :meth:`Comparison.create` settings (``generations``, ``true_params``,
            ``models``, ``interrogators``, ``steps``, ``device``, ...).

    Returns:
        the :class:`~turing.reports.summary.Summary`.
    """
    comparison = Comparison.create(system, methods=methods, seeds=seeds, out=out, **settings)
    return comparison.run(
        executor=executor, workers=workers, address=address, progress=progress, plots=plots,
        batch=batch,
    )  # fmt: skip


def summarise_comparison(path: str | Path, *, write: bool = True) -> Summary:
    """Summarises the finished cells of the comparison in ``path`` without running any."""
    return Comparison.open(path).summarise(write=write)
