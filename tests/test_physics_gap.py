"""experiments/physics_gap.py runs end to end with a tiny budget and writes its report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "tyro", reason='the scripts\' command line needs tyro: pip install -e ".[experiments]"'
)

SCRIPT = Path(__file__).resolve().parent.parent / "experiments" / "physics_gap.py"


def test_the_gap_experiment_writes_results_a_report_and_figures(tmp_path):
    out = tmp_path / "gap"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--trials",
            "3",
            "--steps",
            "25",
            "--throughput-trials",
            "1",
            "--figure-trials",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    motion = results["motion_1s_segments"]
    # Fitting can only lower the error it minimises.
    assert motion["all three"]["mean_square_cm2"] <= motion["none"]["mean_square_cm2"]
    sensors = results["sensor_gap"]
    assert sensors["calibrated"]["rms"] <= sensors["uncalibrated"]["rms"]
    assert set(results["throughput"]) == {"Pendulum-v1", "turing/EpuckBullet-v0"}
    assert "| all three |" in (out / "report.md").read_text()
    assert (out / "trajectories.png").is_file() and (out / "errors.png").is_file()


def test_help_documents_every_option():
    done = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for text in ("--trials", "--noise", "--hold", "systematic gap"):
        assert text in done.stdout
