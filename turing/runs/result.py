"""The result of a finished run, loaded from its folder.

:class:`Result` is what :func:`turing.learn` returns and what :meth:`Result.load` rebuilds
from a run folder alone: estimates, errors, the per-generation history, and the methods to
print its table and redraw its figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from turing.contracts.config import LAST_WINDOW, RunConfig
from turing.runs.convergence import verdict_text
from turing.runs.finish import failed_models_text
from turing.runs.integrity import check_result
from turing.runs.rundir import RunDir

ESTIMATE_LABELS = {
    "best": "best",
    "top10_median": "top-10 median",
    "last50_median": "last-50 median",
}


@dataclass
class Result:
    """A finished run.

    Attributes:
        path: the run folder.
        config: its configuration.
        data: the contents of ``result.json``.
    """

    path: Path
    config: RunConfig
    data: dict[str, Any]
    _history: dict[str, np.ndarray] | None = field(default=None, repr=False)
    _convergence: tuple | None = field(default=None, repr=False)

    @classmethod
    def load(cls, path: str | Path) -> Result:
        """Loads the finished run in ``path``.

        Raises:
            UserError: if ``path`` is not a finished run folder, or its files are damaged
                or contradict each other (an edited config.json, a metrics.csv cut short:
                :mod:`turing.runs.integrity`).
        """
        run_dir = RunDir(path)
        stored = run_dir.read_config()
        config = RunConfig.from_run_folder(stored, str(run_dir.config_path))
        data = check_result(run_dir, stored, run_dir.read_result())
        return cls(path=run_dir.path, config=config, data=data)

    # ------------------------------------------------------------------ accessors
    @property
    def system(self) -> str:
        return self.data["system"]

    @property
    def mode(self) -> str:
        return self.data["mode"]

    @property
    def seed(self) -> int:
        return self.data["seed"]

    @property
    def true_params(self) -> dict[str, float]:
        return self.data["true_params"]

    @property
    def estimates(self) -> dict[str, dict[str, float]]:
        """``best``, ``top10_median`` and ``last50_median``, each name -> value."""
        return self.data["estimates"]

    @property
    def abs_error(self) -> dict[str, dict[str, float]]:
        return self.data["abs_error"]

    @property
    def best(self) -> dict[str, float]:
        return self.estimates["best"]

    @property
    def wall_seconds(self) -> float:
        return float(self.data.get("wall_seconds") or 0.0)

    @property
    def c2st(self) -> float | None:
        """The C2ST accuracy of the best estimate (0.5 = indistinguishable from the genuine
        system), or ``None`` where the run skipped it (``--c2st-trials 0``)."""
        value = self.data.get("c2st")
        return None if value is None else float(value)

    @property
    def last_window(self) -> int:
        """The generations the last-50 median was taken over (all, if the run had fewer)."""
        window = self.data.get("last50_window")
        if isinstance(window, int) and not isinstance(window, bool) and window > 0:
            return window
        return min(LAST_WINDOW, int(self.data.get("generations") or LAST_WINDOW))


    @property
    def convergence(self) -> dict[str, Any] | None:
        """Whether the run looks converged (:mod:`turing.runs.convergence`), judged from
        metrics.csv by this version (so runs of earlier versions are judged alike); where the
        system is not installed, what result.json stored when the run finished. ``None``
        where the run is too short to judge."""
        if self._convergence is None:
            from turing.errors import UserError
            from turing.integrations.registry import make_system
            from turing.runs.convergence import assess

            try:
                system = make_system(self.system, **self.config.system_options)
                self._convergence = (assess(system, self.history),)
            except UserError:
                stored = self.data.get("convergence")
                self._convergence = (stored if isinstance(stored, dict) else None,)
        return self._convergence[0]

    @property
    def history(self) -> dict[str, np.ndarray]:
        """``metrics.csv`` as columns (one entry per generation)."""
        if self._history is None:
            self._history = RunDir(self.path).metrics_arrays()
        return self._history

    # ------------------------------------------------------------------ output
    def table(self) -> str:
        """The result as a plain-text table."""
        names = list(self.true_params)
        keys = list(ESTIMATE_LABELS)
        outside = self.data.get("genuine_source", {}).get("kind", "simulator") != "simulator"
        header = [
            "parameter",
            "reference" if outside else "genuine",
            *[ESTIMATE_LABELS[k] for k in keys],
            *[f"err {ESTIMATE_LABELS[k]}" for k in keys],
        ]
        rows = []
        for name in names:
            row = [name, _fmt(self.true_params[name])]
            row += [_fmt(self.estimates[k][name]) for k in keys]
            row += [_fmt(self.abs_error[k][name]) for k in keys]
            rows.append(row)
        extra = [
            k
            for k, v in self.data.items()
            if isinstance(v, dict) and set(v) == set(keys) and k not in ("estimates", "abs_error")
        ]
        for key in extra:
            values = self.data[key]
            if all(isinstance(values[k], int | float) for k in keys):
                rows.append([key, "", *[_fmt(values[k]) for k in keys], "", "", ""])
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        lines = [
            "  ".join(
                str(c).rjust(w) if i else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in [header, *rows]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def summary(self) -> str:
        """A few lines: what ran, the table, and where it is."""
        simulated = self.data.get("simulated", {})
        lines = [
            f"{self.system} | mode {self.mode} | seed {self.seed} | {self.data['generations']} generations "
            f"| {self.wall_seconds:.1f} s | {simulated.get('steps', 0):,} simulated steps",
            "",
            self.table(),
        ]
        if self.last_window < LAST_WINDOW:
            lines += [
                "",
                f"last-50 median: the median of the best model over all {self.last_window} "
                f"generations (the run had fewer than {LAST_WINDOW})",
            ]
        source = self.data.get("genuine_source", {})
        if source.get("kind", "simulator") != "simulator":
            what = source.get("env") or source.get("file")
            lines += [
                "",
                f"genuine system: {what} ({self.data.get('genuine_trials', 0):,} genuine trials); "
                "its parameters are unknown to the run: errors are against the reference "
                "values (--true-params, else the system's defaults)",
            ]
        if self.c2st is not None:
            lines += ["", f"C2ST accuracy (0.5 = indistinguishable): {self.c2st:.3f}"]
        lines += ["", verdict_text(self.convergence)]
        failed = self.data.get("failed_models")
        if isinstance(failed, dict) and failed.get("generations"):
            lines += ["", failed_models_text(failed)]
        lines += ["", f"run folder: {self.path}"]
        plots = sorted((self.path / "plots").glob("*.png"))
        if plots:
            lines.append("plots: " + ", ".join(str(p) for p in plots))
        return "\n".join(lines)

    def plot(self) -> list[Path]:
        """Redraws the run's figures into ``plots/``; returns their paths."""
        from turing.reports.run_figures import plot_run
        from turing.integrations.registry import make_system

        return plot_run(self, make_system(self.system, **self.config.system_options))

    def __repr__(self) -> str:
        return f"Result(system={self.system!r}, mode={self.mode!r}, seed={self.seed}, best={self.best}, path='{self.path}')"


def _fmt(value: Any) -> str:
    if value is None:
        return "nan"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
