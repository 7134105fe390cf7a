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
