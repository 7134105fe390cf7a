"""The run loop around any method: run folder, metrics, checkpoints, estimates, result.

:class:`Runner` is what ``turing run`` and :func:`turing.learn` drive. It validates the
whole configuration before it touches the disk, writes one ``metrics.csv`` row per
generation, checkpoints every ``checkpoint_every`` generations (and on Ctrl-C or SIGTERM), resumes
bit-identically from the latest checkpoint, and at the end writes ``populations.npz``,
``episodes/``, ``plots/`` and finally ``result.json`` (whose presence marks the run
finished).

Estimates (``docs/specs/evolution-strategy.md``): ``best`` is the best model of the last
generation (what the original code reported); ``top10_median`` the per-parameter median of
its top 10 models; ``last50_median`` the per-parameter median of the best model over the
last 50 generations (all, if fewer).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from turing.contracts.config import LAST_WINDOW, TOP_K, RunConfig
from turing.contracts.system import System
from turing.errors import GenuineSourceError, Interrupted, UserError, deferred_interrupts
from turing.genuine.data_source import recorded_steps
from turing.genuine.opening import check_mode, keep_data, open_source, with_digest
from turing.genuine.records import GenuineRecords
from turing.integrations.plugins import system_modules
from turing.integrations.registry import make_system
from turing.methods.method import GenerationReport, get_method
from turing.runs.disk import file_system_errors
from turing.runs.finish import EPISODE_TRIALS, add_run_facts, result_data, write_outputs
from turing.runs.integrity import RECORD, check_checkpoint, check_metrics, record
from turing.runs.limits import check_run_size
from turing.runs.preflight import preflight
from turing.runs.provenance import record_system, system_hint
from turing.runs.restore import restore
from turing.runs.rows import as_dict, median, metrics_row, progress_text
from turing.runs.rundir import FolderLock, RunDir, new_run_path
from turing.runs.setup import (
    check_backend,
    check_engine,
    check_device,
    normalised,
    resolve_config,
    set_threads,
    writer_lock,
)

if TYPE_CHECKING:  # result.py imports this module
    from turing.runs.result import Result

LEFTOVERS = (".lock",)
"""What a start killed before it wrote config.json may leave in a folder (with temporary
files): such a folder counts as empty."""


class Runner:
    """One run of one method on one system, attached to its run folder.

    Build it with :meth:`create` (a new run) or :meth:`resume` (an existing folder).
    """

    def __init__(
        self,
        config: RunConfig,
        run_dir: RunDir,
        system: System,
        progress: bool = True,
        genuine: Any = None,
    ):
        self.system = system
        self.config = config
        self.run_dir = run_dir
        self.progress = progress
        self.truth = system.make_truth(config.true_params)
        method = get_method(config.mode)
        method.check_supported(system, config.mode)
        source = None
        outside = config.genuine is not None or config.genuine_data is not None
        if outside and not run_dir.is_finished():
            # The simulator source is the method's default (it runs on the method's engine).
            source = open_source(config, system, self.truth, None, run_dir.path, genuine,
                                 system_modules())  # fmt: skip
        self.method = method(system, self.truth, config, source)
        if not self.method.trials.source.replayable:
            self.method.trials.records = GenuineRecords(run_dir.path)
        self.generation = 0
        self.best_history: list[np.ndarray] = []
        self.elapsed = 0.0
        self.last_report: GenerationReport | None = None
        self.stored_config: dict[str, Any] = normalised(config.to_json())
        """config.json as stored (what the integrity records' digest is of)."""
        self.metrics_header: list[str] | None = None
        self.lock: FolderLock | None = None
        """Held from the first write until the run finishes (see :func:`writer_lock`)."""

    # ------------------------------------------------------------------ building
    @classmethod
    def resolve(cls, config: RunConfig) -> tuple[RunConfig, System]:
        """Validates ``config`` fully (system, options, genuine values, method, sizes this
        machine can run) and fills in defaults, without touching the disk."""
        config.validate()
        check_mode(config)
        check_device(config.device)
        system = make_system(config.system, **config.system_options)
        if config.genuine_data is not None and config.steps is None:
            # Recorded trials have the length they were recorded with.
            config = dataclasses.replace(config, steps=recorded_steps(config.genuine_data))
        config = resolve_config(dataclasses.replace(config, system=system.name), system)
        config = with_digest(config)
        system.make_truth(config.true_params)
        method = get_method(config.mode)
        method.check_supported(system, config.mode)
        method.check_config(config, system)
        check_backend(config, system)
        check_run_size(config, system)
        return config, system

    @classmethod
    def create(
        cls,
        config: RunConfig,
        out: str | Path | None = None,
        progress: bool = True,
        runs_root: str | Path = "runs",
        genuine: Any = None,
    ) -> Runner:
        """A new run (or the continuation of the same, unfinished run if ``out`` holds one).

        Everything is checked before the folder is created: the configuration, the method
        built, two genuine trials simulated (:func:`turing.runs.preflight.preflight`). A
        start killed before its config.json was written leaves a folder that the same
        command takes as empty.

        Raises:
            UserError: for any bad input, before anything is written; or if ``out`` holds a
                different run.
        """
        config, system = cls.resolve(config)
        set_threads(config)
        if out is None:
            out = new_run_path(runs_root, [system.name, config.mode, f"s{config.seed}"])
        run_dir = RunDir(out)
        if run_dir.path.exists() and not run_dir.path.is_dir():
            raise UserError(f"--out {run_dir.path} is a file; give a folder path")
        if run_dir.is_run():
            return cls._same_run(config, run_dir, progress, genuine)
        if run_dir.path.is_dir() and not _empty(run_dir):
            raise UserError(
                f"--out {run_dir.path} is not empty and holds no run; choose a new or empty folder"
            )
        runner = cls(config, run_dir, system, progress, genuine)
        preflight(system, runner.truth, config.steps, config.backend)
        lock = writer_lock(run_dir)
        try:
            if run_dir.is_run():  # another process started it while we checked
                lock.release()
                return cls._same_run(config, run_dir, progress, genuine)
            with file_system_errors("run the same command again (it continues the run)"):
                run_dir.remove_stale_temporaries()
                keep_data(config, run_dir.path)
                run_dir.write_config(runner.stored_config)
                record_system(run_dir.path, system.name)  # which --system-module, for readers
                runner.lock = lock
                runner._save_checkpoint()
        except BaseException:
            lock.release()
            raise
        return runner

    @classmethod
    def _same_run(cls, config: RunConfig, run_dir: RunDir, progress: bool, genuine: Any = None) -> Runner:
        # Refuses a folder of another engine; fields added to RunConfig since the folder
        # was written take their defaults.
        stored = RunConfig.from_run_folder(run_dir.read_config(), str(run_dir.config_path))
        if normalised(stored.to_json()) != normalised(config.to_json()):
            raise UserError(
                f"--out {run_dir.path} already holds a different run; choose a new --out "
                f"folder, or continue that run with `turing run --resume {run_dir.path}`"
            )
        return cls.resume(run_dir.path, progress=progress, genuine=genuine)

    @classmethod
    def resume(cls, path: str | Path, progress: bool = True, genuine: Any = None) -> Runner:
        """The run in ``path``, restored from its latest checkpoint after the folder was
        checked against it (:mod:`turing.runs.integrity`); a finished run is checked against
        its result.json and left untouched.

        Raises:
            UserError: if ``path`` is not a run folder, or one whose files contradict each
                other or are damaged (before anything in it is changed).
        """
        from turing.runs.result import Result

        run_dir = RunDir(path)
        stored = run_dir.read_config()
        config = RunConfig.from_run_folder(stored, str(run_dir.config_path))
        stored_engine = config.engine
        with system_hint(run_dir.path, config.system):
            config, system = cls.resolve(config)
        check_engine(stored_engine, config, system)
        set_threads(config)
        runner = cls(config, run_dir, system, progress, genuine)
        runner.stored_config = normalised(stored)
        if run_dir.is_finished():
            Result.load(run_dir.path)
            return runner
        preflight(system, runner.truth, config.steps, config.backend)
        lock = writer_lock(run_dir)
        try:
            with file_system_errors(f"continue with `turing run --resume {run_dir.path}`"):
                runner._restore()
        except BaseException:
            lock.release()
            raise
        runner.lock = lock
        return runner

    # ------------------------------------------------------------------ state
    def _save_checkpoint(self) -> None:
        arrays, meta = self.method.state()
        self._write_checkpoint((arrays, meta, self._runner_state()))

    def _runner_state(self) -> tuple[int, np.ndarray, float, dict[str, dict]]:
        history = np.array(self.best_history).reshape(-1, len(self.system.parameters))
        return self.generation, history, self.elapsed, self.method.trials.state()

    def _write_checkpoint(self, snapshot) -> None:
        arrays, meta, (generation, history, elapsed, trials) = snapshot
        arrays = dict(arrays)
        arrays["best_history"] = history
        meta = dict(meta, generation=generation, elapsed_seconds=elapsed,
                    genuine_used=trials["used"], trial_seconds=trials["seconds"])  # fmt: skip
        meta[RECORD] = record(self.stored_config, generation, self.metrics_header, self.run_dir)
        self.run_dir.save_checkpoint(generation, arrays, meta)

    def _restore(self) -> None:
        restore(self)

    # ------------------------------------------------------------------ loop
    def run(self) -> Result:
        """Runs the remaining generations and finishes the run; returns its Result. On a
        finished run it changes nothing and returns the stored result."""
        from turing.runs.result import Result

        if self.run_dir.is_finished():
            return Result.load(self.run_dir.path)
        try:
            with file_system_errors(f"continue with `turing run --resume {self.run_dir.path}`"):
                return self._run()
        finally:
            self.method.trials.source.close()
            if self.lock is not None:
                self.lock.release()

    def _run(self) -> Result:
        total = self.config.generations
        bar = self._progress_bar(total)
        # Interruptions are held while files are written: one lands either in a generation
        # (its snapshot, the state before it, is checkpointed) or between two.
        snapshot = None
        try:
            while self.generation < total:
                with deferred_interrupts():
                    snapshot = self.snapshot()
                start = time.perf_counter()
                self.method.trials.begin(f"g{self.generation:06d}")
                report = self.method.generation()
                seconds = time.perf_counter() - start
                with deferred_interrupts():
                    snapshot = None
                    self.advance(report, seconds, bar)
        except GenuineSourceError as exc:
            with deferred_interrupts():
                if snapshot is not None:
                    self._write_checkpoint(snapshot)
            if bar is not None:
                bar.close()
            self.method.trials.source.close()
            raise GenuineSourceError(
                f"generation {self.generation}: {exc}; a checkpoint was saved: fix the genuine "
                f"system, then continue with `turing run --resume {self.run_dir.path}`"
            ) from None
        except KeyboardInterrupt as exc:
            with deferred_interrupts():
                if snapshot is not None:
                    self._write_checkpoint(snapshot)
                elif self.generation < total:  # never a checkpoint at the last generation
                    self._save_checkpoint()
            if bar is not None:
                bar.close()
            raise Interrupted.of(
                exc,
                f"interrupted at generation {self.generation if snapshot is None else snapshot[2][0]}"
                f"{_by(exc)}; a checkpoint was saved: continue with `turing run --resume "
                f"{self.run_dir.path}`",
            ) from None
        if bar is not None:
            bar.close()
        try:
            return self._finish()
        except KeyboardInterrupt as exc:
            raise Interrupted.of(
                exc,
                f"interrupted while finishing{_by(exc)}; continue with `turing run --resume "
                f"{self.run_dir.path}` (it recomputes the generations after its last checkpoint)",
            ) from None

    def snapshot(self):
        """The state before a generation (what an interruption during it checkpoints)."""
        return (*self.method.state(), self._runner_state())

    def advance(self, report: GenerationReport, seconds: float, bar=None) -> None:
        """Records a finished generation: its metrics row, then a checkpoint every
        ``checkpoint_every`` generations (never at the last: a run that dies while finishing
        resumes from an earlier one and recomputes the same final generations)."""
        self.elapsed += seconds
        self._record(report, seconds)
        total = self.config.generations
        if self.generation % self.config.checkpoint_every == 0 and self.generation < total:
            self._save_checkpoint()
        if bar is not None:
            bar.set_postfix_str(self._progress_text(report), refresh=False)
            bar.update(1)

    @property
    def unfinished(self) -> bool:
        return self.generation < self.config.generations

    def interrupted(self, snapshot) -> None:
        """Checkpoints ``snapshot`` after an interruption and releases the folder."""
        self._write_checkpoint(snapshot)
        self.release()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def finish(self) -> Result:
        """Writes the results of a run whose generations are done (see :meth:`run`)."""
        try:
            return self._finish()
        finally:
            self.method.trials.source.close()
            self.release()

    def _record(self, report: GenerationReport, seconds: float) -> None:
        ranked = np.asarray(report.ranked, dtype=np.float64).reshape(
            -1, len(self.system.parameters)
        )
        self.last_report = report
        self.best_history.append(ranked[0].copy())
        row = metrics_row(self.system, self.truth, self.generation, ranked, report)
        row["simulated_trials"] = self.method.simulated_trials
        row["generation_seconds"] = seconds
        row["elapsed_seconds"] = self.elapsed
        self.run_dir.append_metrics(row)
        self.metrics_header = self.metrics_header or list(row)
        self.generation += 1

    def _as_dict(self, vector: np.ndarray) -> dict[str, float]:
        return as_dict(self.system, vector)

    def _median(self, rows: np.ndarray) -> dict[str, float]:
        return median(self.system, rows)

    def _progress_bar(self, total: int):
        if not self.progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(
            total=total,
            initial=self.generation,
            desc=f"{self.system.name} {self.config.mode}",
            unit="gen",
            file=sys.stderr,
            dynamic_ncols=True,
        )

    def _progress_text(self, report: GenerationReport) -> str:
        return progress_text(self.system, self.truth, report)

    # ------------------------------------------------------------------ result
    def estimates(self) -> dict[str, dict[str, float]]:
        """The three estimates of the current state (after at least one generation)."""
        if self.last_report is None:
            raise RuntimeError("no generation has run")
        ranked = np.asarray(self.last_report.ranked).reshape(-1, len(self.system.parameters))
        history = np.array(self.best_history[-LAST_WINDOW:])
        return {
            "best": self._as_dict(ranked[0]),
            "top10_median": self._median(ranked[:TOP_K]),
            "last50_median": self._median(history),
        }

    def _finish(self):
        from turing.reports.run_figures import plot_run
        from turing.runs.result import Result

        if self.last_report is None:
            raise UserError(f"{self.run_dir.path}: no generation was run; nothing to report")
        estimates = self.estimates()
        self.method.trials.begin("finish")
        data = result_data(self, estimates)
        if self.config.c2st_trials:
            # The neutral judge of every method: genuine vs the best estimate under fresh
            # random inputs, seeded from the run's seed (its own streams).
            from turing.reports.c2st import c2st

            judged = c2st(
                self.system,
                self.truth,
                estimates["best"],
                trials=self.config.c2st_trials,
                seed=self.config.seed,
                steps=self.config.steps,
                device=self.method.device,
                backend=self.config.backend,
                threads=self.config.threads,
                runner=self.method.trials,
            )
            data["c2st"] = judged.accuracy
            data["c2st_details"] = {**judged.to_json(), "estimate_name": "best"}
        # Episodes before the facts: their genuine trials count among those the run used.
        episodes = self.method.record_episodes(EPISODE_TRIALS)
        result = Result(path=self.run_dir.path, config=self.config, data=data)
        add_run_facts(self, data, result.history)
        # Figures first, result.json last: its presence means everything is there.
        write_outputs(self, result, lambda r: plot_run(r, self.system), episodes)
        return Result.load(self.run_dir.path)


def _empty(run_dir: RunDir) -> bool:
    """Whether a folder holds nothing but what a killed start leaves (its lock, temporary
    files)."""
    stale = set(run_dir.stale_temporaries())
    return all(p.name in LEFTOVERS or p in stale for p in run_dir.path.iterdir())


def _by(interruption: BaseException) -> str:
    from turing.errors import Terminated

    return " (SIGTERM)" if isinstance(interruption, Terminated) else ""
