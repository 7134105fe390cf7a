"""The experiment scripts run end to end, as subprocesses, with a tiny budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from turing.reports.summary_files import read_summary_csv

pytest.importorskip(
    "tyro", reason='the scripts\' command line needs tyro: pip install -e ".[experiments]"'
)

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
TINY = (
    "--seeds 1 --generations 2 --models 4 --interrogators 4 --steps 10 --c2st-trials 0 "
    "--workers 1 --quiet"
).split()


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXPERIMENTS / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    ("script", "methods", "headline"),
    [
        ("case_study_1.py", ["interrogate", "passive", "metric"], "| `metric` | 1/1 |"),
        # Slow: every run of the robot draws its sensor layout and 16 parameter panels.
        pytest.param(
            "case_study_2.py",
            ["interrogate", "passive"],
            "angle error (deg)",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_script_writes_a_report_with_a_tiny_budget(tmp_path, script, methods, headline):
    out = tmp_path / "report"
    done = _run(script, *TINY, "--methods", *methods, "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    report = (out / "report.md").read_text()
    assert "## The paper's comparison" in report and "## Extended comparison" in report
    assert headline in report
    rows = read_summary_csv(out / "summary.csv")
    assert {r["method"] for r in rows} == set(methods)
    assert all(r["n"] == 1 for r in rows if r["quantity"] == "wall_seconds")
    paper = read_summary_csv(out / "paper" / "summary.csv")
    assert {r["method"] for r in paper} == {"interrogate", "passive"}
    assert (out / "plots" / "box_best.png").is_file() and (
        out / "paper" / "plots" / "box_best.png"
    ).is_file()

    # Running the same command again finds every run finished and only rewrites the report.
    again = _run(script, *TINY, "--methods", *methods, "--out", str(out))
    assert again.returncode == 0, again.stderr[-3000:]
    finished = [
        line for line in (out / "log.csv").read_text().splitlines()[1:] if ",finished," in line
    ]
    assert len(finished) == len(methods)


def test_help_documents_every_option():
    done = _run("case_study_1.py", "--help")
    assert done.returncode == 0, done.stderr
    for text in ("--paper", "the paper's budget", "--seeds", "seeds per method", "--executor"):
        assert text in done.stdout


def test_stuck_seeds_keeps_snapshots_and_writes_its_diagnosis(tmp_path):
    out = tmp_path / "stuck"
    args = ["--seeds", "1", "0", "--stuck", "1", "--generations", "4", "--models", "6",
            "--interrogators", "6", "--c2st-trials", "0", "--snapshot-every", "2",
            "--workers", "1", "--out", str(out)]  # fmt: skip
    done = _run("stuck_seeds.py", *args)
    assert done.returncode == 0, done.stderr[-3000:]
    import numpy as np

    snapshots = np.load(out / "snapshots" / "seed-1.npz")
    assert list(snapshots["generation"]) == [1, 2, 4]
    assert snapshots["model_genes"].shape == (3, 6, 16)
    report = (out / "report.md").read_text()
    for section in ("Which sensors are wrong", "collapsed", "The interrogators", "robot see"):
        assert section in report
    for figure in ("errors", "population", "interrogators", "tournament", "activity"):
        assert (out / f"{figure}.png").stat().st_size > 0


@pytest.mark.slow  # 14 tiny runs, each drawing its figures: about 90 s
def test_robust_compares_the_preset_with_the_paper_and_states_its_targets(tmp_path):
    out = tmp_path / "robust"
    args = ["--systems", "sensor-self-id", "agent-inference", "--variants", "graded+wrapped", "--seeds", "2",
            "--passive-seeds", "2", "--generations", "3", "--mark-generations", "3", "--models", "4",
            "--interrogators", "4", "--steps", "10", "--c2st-trials", "0", "--workers", "1",
            "--quiet", "--out", str(out)]  # fmt: skip
    done = _run("robust.py", *args)
    assert done.returncode == 0, done.stderr[-3000:]
    report = (out / "report.md").read_text()
    assert "## Targets" in report and "every `robust` seed's angle error" in report
    assert "`robust` beats `robust passive`" in report
    assert "agent-inference: `robust` significantly worse" in report
    rows = read_summary_csv(out / "sensor-self-id" / "summary.csv")
    assert {r["method"] for r in rows} == {"default", "robust", "graded+wrapped", "robust passive"}
    for folder in ("default", "robust", "graded+wrapped", "robust-passive", "default-marks"):
        assert (out / "sensor-self-id" / folder / "comparison.json").is_file()


def test_genuine_budget_adds_a_method_to_an_earlier_report(tmp_path):
    # A report of the metric at two budgets, then the interrogation added at one of them
    # with the metric's rows kept from the first summary (not run again).
    import csv

    tiny = ["--seeds", "1", "--generations", "2", "--models", "4", "--interrogators", "4",
            "--workers", "1", "--quiet"]  # fmt: skip
    first = _run("genuine_budget.py", *tiny, "--methods", "metric", "--budgets", "4", "8",
                 "--out", str(tmp_path / "first"))  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    earlier = tmp_path / "first" / "s1-g2" / "summary.csv"
    summary = tmp_path / "second" / "s1-g2" / "summary.csv"
    with open(earlier, newline="") as handle:
        metric = {(r["budget"], r["mean_angle_error_deg"]) for r in csv.DictReader(handle)}
    assert {b for b, _ in metric} == {"4", "8"}
    second = _run("genuine_budget.py", *tiny, "--methods", "interrogate", "--budgets", "4",
                  "--keep", str(earlier), "--out", str(tmp_path / "second"))  # fmt: skip
    assert second.returncode == 0, second.stderr[-3000:]
    with open(summary, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["method"], r["budget"]) for r in rows} == {
        ("interrogate", "4"), ("metric", "4"), ("metric", "8")}  # fmt: skip
    assert {
        (r["budget"], r["mean_angle_error_deg"]) for r in rows if r["method"] == "metric"
    } == metric
    report = (tmp_path / "second" / "s1-g2" / "report.md").read_text()
    assert "kept from" in report and "metric at 4, metric at 8" in report
    assert "| 4 | metric |" in report and "| 8 | metric |" in report
    assert (tmp_path / "second" / "s1-g2" / "error-vs-genuine-trials.png").stat().st_size > 0
