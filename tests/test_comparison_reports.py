"""Comparisons read right: axes with units and their scale, the smallest p-value a few seeds
can reach, the top-10-median table on the console, and run folders that say which
--system-module their system needs (without ever importing it)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from kill_resume import CLI
from scipy.stats import mannwhitneyu

import turing
from turing.cli import main
from turing.reports.figures import plot_boxes, plot_convergence
from turing.reports.quantities import CellValues
from turing.reports.statistics import smallest_p_value
from turing.reports.summaries import summarise_cells

TINY = ["--models", "4", "--interrogators", "4", "--steps", "10", "--c2st-trials", "0"]


def _cells(seeds: int) -> list[CellValues]:
    """Two methods; r's errors span three decades (a log axis), a's do not."""
    cells = []
    for k, method in enumerate(("interrogate", "passive")):
        for seed in range(seeds):
            values = {}
            for estimate in ("best", "top10_median", "last50_median"):
                values[(estimate, "abs_error_r")] = 10.0 ** (-3 + 3 * k) * (1 + seed)
                values[(estimate, "abs_error_a")] = 0.2 + 0.01 * seed + 0.05 * k
                values[(estimate, "mean_angle_error_deg")] = 5.0 + seed + k
            cells.append(CellValues(method, seed, Path(f"{method}-{seed}"), values))
    return cells


def _labels(monkeypatch) -> list[str]:
    from matplotlib.axes import Axes

    seen: list[str] = []
    original = Axes.set_ylabel

    def record(self, label, *args, **kwargs):
        seen.append(label)
        return original(self, label, *args, **kwargs)

    monkeypatch.setattr(Axes, "set_ylabel", record)
    return seen


def test_figure_axes_give_units_and_say_when_they_are_logarithmic(monkeypatch, tmp_path):
    summary = summarise_cells("s", _cells(3), methods=["interrogate", "passive"])
    summary.units = {"r": "cm", "a": ""}
    labels = _labels(monkeypatch)
    plot_boxes(summary, tmp_path)
    assert labels.count("|error| (cm), log scale") == 3  # one per estimate
    assert labels.count("|error| (no unit)") == 3
    assert labels.count("value (deg)") == 3
    labels.clear()
    generations = 30
    history = {
        "error_best_r": np.geomspace(1.0, 1e-3, generations),
        "error_best_a": np.linspace(0.3, 0.2, generations),
        "error_top10_r": np.geomspace(1.0, 1e-3, generations),
        "error_top10_a": np.linspace(0.3, 0.2, generations),
    }
    results = [SimpleNamespace(mode=m, history=history) for m in ("interrogate", "passive")]
    plot_convergence(summary, results, tmp_path)
    assert labels.count("|error| (cm), log scale") == 2 and labels.count("|error| (no unit)") == 2


def test_a_run_records_its_parameters_units(tmp_path):
    result = turing.learn(
        "agent-inference", generations=2, models=4, interrogators=4, steps=10, c2st_trials=0,
        out=tmp_path / "r", progress=False,
    )  # fmt: skip
    assert result.data["units"] == {
        p.name: p.unit for p in turing.make_system("agent-inference").parameters
    }


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_the_smallest_p_value_is_what_the_test_reaches(n):
    apart = mannwhitneyu(list(range(n)), list(range(10, 10 + n)), alternative="two-sided")
    assert smallest_p_value(n, n) == pytest.approx(apart.pvalue)


def test_fewer_than_5_seeds_say_the_smallest_reachable_p_value():
    few = summarise_cells("s", _cells(3), methods=["interrogate", "passive"])
    note = "0.1 against passive (3 vs 3 runs; 0.2 after Holm's correction across 2 parameters)"
    assert note in few.table("top10_median") and note in few.markdown()
    enough = summarise_cells("s", _cells(5), methods=["interrogate", "passive"])
    assert "fewer than 5 seeds" not in enough.table().lower() + enough.markdown().lower()


def test_compare_prints_the_top10_median_table(tmp_path, capsys):
    out = tmp_path / "cmp"
    flags = ["--methods", "interrogate,passive", "--seeds", "1", "--generations", "2", *TINY]
    main(["compare", "agent-inference", *flags, "--workers", "1", "--quiet", "--no-plots",
          "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert printed.startswith("absolute error of the top-10 median estimate"), printed[:200]


SYSTEM_MODULE = """
from turing import register_system
from turing.envs.range_sensor import RangeSensorId


class Mine(RangeSensorId):
    name = "mine-from-a-module"
    env_id = "turing/MineFromAModule-v0"


register_system(Mine)
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "TURING_SYSTEM_MODULES"}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300, env=environment
    )


def test_a_run_folder_names_the_system_module_its_readers_need(tmp_path):
    module = tmp_path / "mine.py"
    module.write_text(SYSTEM_MODULE)
    done = _cli("run", "mine-from-a-module", "--system-module", "mine.py", "--generations", "2",
                *TINY, "--quiet", "--out", "r", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "r" / "system.json").read_text())
    assert record["system_module"] == str(module.resolve())
    for command in (["plot", "r"], ["replay", "r", "--figure", "f.png"], ["run", "--resume", "r"]):
        done = _cli(*command, cwd=tmp_path)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, done.stderr
        assert f"--system-module {module.resolve()}" in lines[0]
    assert _cli("plot", "r", "--system-module", "mine.py", cwd=tmp_path).returncode == 0

    # A record someone edited is shown as text, never imported or run.
    marker = tmp_path / "imported"
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(marker)!r}, 'w').close()\n")
    record["system_module"] = str(evil) + "\x1b[2J"
    (tmp_path / "r" / "system.json").write_text(json.dumps(record))
    done = _cli("plot", "r", cwd=tmp_path)
    assert done.returncode == 2 and str(evil) in done.stderr and "\x1b" not in done.stderr
    assert not marker.exists()
