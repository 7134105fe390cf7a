"""The run loop around any method: run folder, metrics, checkpoints, estimates, result.

:class:`Runner` is what ``turing run`` and :func:`turing.learn` drive. It validates the
whole configuration before it touches the disk, writes one ``metrics.csv`` row per
generation, checkpoints every ``checkpoint_every`` generations (and on Ctrl-C), resumes
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
import json
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from turing.contracts.config import LAST_WINDOW, TOP_K, RunConfig
from turing.contracts.presentation import presentation
from turing.runs.setup import (
    check_device,
    normalised,
    resolve_config,
    set_threads,
    versions,
    writer_lock,
)
from turing.engine import default_threads
from turing.errors import UserError
from turing.methods.method import GenerationReport, get_method
from turing.integrations.registry import make_system
from turing.runs.rundir import FolderLock, RunDir, new_run_path
from turing.contracts.system import System

if TYPE_CHECKING:  # result.py imports this module
    from turing.runs.result import Result

ESTIMATES = ("best", "top10_median", "last50_median")
EPISODE_TRIALS = 4



class Runner:
    """One run of one method on one system, attached to its run folder.

    Build it with :meth:`create` (a new run) or :meth:`resume` (an existing folder).
    """

    def __init__(self, config: RunConfig, run_dir: RunDir, system: System, progress: bool = True):
        self.system = system
        self.config = config
        self.run_dir = run_dir
        self.progress = progress
        self.truth = system.make_truth(config.true_params)
        method = get_method(config.mode)
        method.check_supported(system, config.mode)
        self.method = method(system, self.truth, config)
        self.generation = 0
        self.best_history: list[np.ndarray] = []
        self.elapsed = 0.0
        self.last_report: GenerationReport | None = None
        self.lock: FolderLock | None = None
        """Held from the first write until the run finishes (see :func:`writer_lock`)."""

    # ------------------------------------------------------------------ building
    @classmethod
    def resolve(cls, config: RunConfig) -> tuple[RunConfig, System]:
        """Validates ``config`` fully (system, options, genuine values, method) and fills in
        defaults, without touching the disk."""
        config.validate()
        check_device(config.device)
        system = make_system(config.system, **config.system_options)
        config = resolve_config(dataclasses.replace(config, system=system.name), system)
        system.make_truth(config.true_params)
        method = get_method(config.mode)
        method.check_supported(system, config.mode)
        method.check_config(config, system)
        return config, system

    @classmethod
    def create(
        cls,
        config: RunConfig,
        out: str | Path | None = None,
        progress: bool = True,
        runs_root: str | Path = "runs",
    ) -> Runner:
        """A new run (or the continuation of the same, unfinished run if ``out`` holds one).

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
            # Refuses a folder of another engine; fields added to RunConfig since the folder
            # was written take their defaults.
            stored = RunConfig.from_run_folder(run_dir.read_config(), str(run_dir.config_path))
            stored = normalised(stored.to_json())
            if stored != normalised(config.to_json()):
                raise UserError(
                    f"--out {run_dir.path} already holds a different run; choose a new --out "
                    f"folder, or continue that run with `turing run --resume {run_dir.path}`"
                )
            return cls.resume(run_dir.path, progress=progress)
        if run_dir.path.is_dir() and any(run_dir.path.iterdir()):
            raise UserError(
                f"--out {run_dir.path} is not empty and holds no run; choose a new or empty folder"
            )
        lock = writer_lock(run_dir)
        run_dir.write_config(config.to_json())
        runner = cls(config, run_dir, system, progress)
        runner.lock = lock
        runner._save_checkpoint()
        return runner

    @classmethod
    def resume(cls, path: str | Path, progress: bool = True) -> Runner:
        """The run in ``path``, restored from its latest checkpoint.

        Raises:
            UserError: if ``path`` is not a run folder.
        """
        run_dir = RunDir(path)
        try:
            config = RunConfig.from_run_folder(run_dir.read_config(), str(run_dir.config_path))
        except TypeError as exc:
            raise UserError(
                f"{run_dir.config_path} is not a valid run configuration ({exc})"
            ) from None
        config, system = cls.resolve(config)
        set_threads(config)
        lock = None if run_dir.is_finished() else writer_lock(run_dir)
        runner = cls(config, run_dir, system, progress)
        runner.lock = lock
        if lock is not None:
            runner._restore()
        return runner

    # ------------------------------------------------------------------ state
    def _save_checkpoint(self) -> None:
        arrays, meta = self.method.state()
        self._write_checkpoint((arrays, meta, self._runner_state()))

    def _runner_state(self) -> tuple[int, np.ndarray, float]:
        history = np.array(self.best_history).reshape(-1, len(self.system.parameters))
        return self.generation, history, self.elapsed

    def _write_checkpoint(self, snapshot) -> None:
        arrays, meta, (generation, history, elapsed) = snapshot
        arrays = dict(arrays)
        arrays["best_history"] = history
        meta = dict(meta, generation=generation, elapsed_seconds=elapsed)
        self.run_dir.save_checkpoint(generation, arrays, meta)

    def _restore(self) -> None:
        loaded = self.run_dir.load_checkpoint()
        if loaded is None:
            self.run_dir.truncate_metrics(0)
            return
        arrays, meta = loaded
        self.generation = int(meta["generation"])
        self.elapsed = float(meta["elapsed_seconds"])
        self.best_history = list(arrays.pop("best_history"))
        self.method.load_state(arrays, meta)
        self.run_dir.truncate_metrics(self.generation)

    # ------------------------------------------------------------------ loop
    def run(self) -> Result:
        """Runs the remaining generations and finishes the run; returns its Result. On a
        finished run it changes nothing and returns the stored result."""
        from turing.runs.result import Result

        if self.run_dir.is_finished():
            return Result.load(self.run_dir.path)
        try:
            return self._run()
        finally:
            if self.lock is not None:
                self.lock.release()

    def _run(self) -> Result:
        total = self.config.generations
        bar = self._progress_bar(total)
        try:
            while self.generation < total:
                snapshot = self.snapshot()
                try:
                    start = time.perf_counter()
                    report = self.method.generation()
                    seconds = time.perf_counter() - start
                except KeyboardInterrupt:
                    self._write_checkpoint(snapshot)
                    raise
                self.advance(report, seconds, bar)
        except KeyboardInterrupt:
            if bar is not None:
                bar.close()
            raise UserError(
                f"interrupted at generation {self.generation}; a checkpoint was saved: continue "
                f"with `turing run --resume {self.run_dir.path}`"
            ) from None
        if bar is not None:
            bar.close()
        return self._finish()

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
            self.release()

    def _record(self, report: GenerationReport, seconds: float) -> None:
        ranked = np.asarray(report.ranked, dtype=np.float64).reshape(
            -1, len(self.system.parameters)
        )
        self.last_report = report
        self.best_history.append(ranked[0].copy())
        row: dict[str, Any] = {"generation": self.generation}
        best = self._as_dict(ranked[0])
        top = self._median(ranked[:TOP_K])
        for name in self.system.parameter_names:
            row[f"best_{name}"] = best[name]
        for name in self.system.parameter_names:
            row[f"top10_{name}"] = top[name]
        errors_best = self.system.errors(list(best.values()), self.truth)
        errors_top = self.system.errors(list(top.values()), self.truth)
        for name in self.system.parameter_names:
            row[f"error_best_{name}"] = errors_best[name]
        for name in self.system.parameter_names:
            row[f"error_top10_{name}"] = errors_top[name]
        for key, value in presentation(self.system).metrics(best, self.truth).items():
            if isinstance(value, int | float):
                row[f"{key}_best"] = float(value)
        for key, value in presentation(self.system).metrics(top, self.truth).items():
            if isinstance(value, int | float):
                row[f"{key}_top10"] = float(value)
        row.update(report.metrics)
        row["simulated_trials"] = self.method.simulated_trials
        row["generation_seconds"] = seconds
        row["elapsed_seconds"] = self.elapsed
        self.run_dir.append_metrics(row)
        self.generation += 1

    def _as_dict(self, vector: np.ndarray) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.system.parameter_names, vector, strict=True)}

    def _median(self, rows: np.ndarray) -> dict[str, float]:
        rows = np.asarray(rows).reshape(-1, len(self.system.parameters))
        return {p.name: p.median(rows[:, k]) for k, p in enumerate(self.system.parameters)}

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
        best = self._as_dict(np.asarray(report.ranked)[0])
        errors = self.system.errors(list(best.values()), self.truth)
        metrics = {
            k: v
            for k, v in presentation(self.system).metrics(best, self.truth).items()
            if isinstance(v, float | int)
        }
        if metrics:
            text = " ".join(f"{k} {v:.3g}" for k, v in metrics.items())
        elif len(errors) <= 6:
            text = "err " + " ".join(f"{k} {v:.3f}" for k, v in errors.items())
        else:
            text = f"mean err {np.mean(list(errors.values())):.3f}"
        return f"{text} | {report.progress}" if report.progress else text

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
        result: dict[str, Any] = {
            "system": self.system.name,
            "mode": self.config.mode,
            "seed": self.config.seed,
            "generations": self.config.generations,
            "true_params": self.truth.reference,
            "true_params_overrides": self.truth.spec,
            "estimates": estimates,
            "abs_error": {
                k: self.system.errors(list(v.values()), self.truth) for k, v in estimates.items()
            },
        }
        per_estimate = {k: presentation(self.system).metrics(v, self.truth) for k, v in estimates.items()}
        for key in per_estimate["best"]:
            result[key] = {k: per_estimate[k][key] for k in ESTIMATES}
        result["final"] = dict(self.last_report.metrics)
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
            )
            result["c2st"] = judged.accuracy
            result["c2st_details"] = {**judged.to_json(), "estimate_name": "best"}
        result["simulated"] = {
            "trials": self.method.simulated_trials,
            "steps": self.method.simulated_steps,
        }
        result["wall_seconds"] = self.elapsed
        result["seconds_per_generation"] = self.elapsed / max(1, self.config.generations)
        result["device"] = str(self.method.device)
        result["threads"] = {
            "simulation": int(self.config.threads or default_threads()),
            "torch": torch.get_num_threads(),
        }
        result["backend"] = self.config.backend
        result["versions"] = versions()
        result["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")

        populations = self.method.final_arrays()
        if populations:
            self.run_dir.write_populations(populations)
        episodes = self.method.record_episodes(EPISODE_TRIALS)
        if episodes:
            from turing.runs.rundir import atomic_write_npz

            atomic_write_npz(self.run_dir.episodes_dir / "final.npz", episodes)
        self.run_dir.write_result(result)
        loaded = Result.load(self.run_dir.path)
        plot_run(loaded, self.system)
        return loaded


