"""`turing compare`: the grid of run folders, resuming, the summary's numbers, bad input, and
the local and Ray executors surviving a killed worker."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

import turing
from turing.cli import main
from turing.comparisons.comparison import Comparison
from turing.errors import UserError
from turing.methods.method import _METHODS, Method
from turing.reports.summary_files import read_summary_csv
from turing.runs.result import Result

SYSTEM = "agent-inference"
# Tiny runs: a few generations of small populations over short trials.
TINY = {"generations": 3, "models": 4, "interrogators": 4, "steps": 10, "c2st_trials": 0}
TINY_FLAGS = "--generations 3 --models 4 --interrogators 4 --steps 10 --c2st-trials 0".split()
ESTIMATES = ("best", "top10_median", "last50_median")


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _log(folder: Path) -> list[dict[str, str]]:
    with (folder / "log.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def _metrics_generations(run: Path) -> list[int]:
    with (run / "metrics.csv").open(newline="") as handle:
        return [int(row["generation"]) for row in csv.DictReader(handle)]


# ---------------------------------------------------------------------- the summary
def test_summary_numbers_match_the_run_folders(tmp_path):
    out = tmp_path / "cmp"
    summary = turing.compare_methods(
        SYSTEM,
        methods=["interrogate", "passive"],
        seeds=3,
        out=out,
        workers=1,
        progress=False,
        **dict(TINY, c2st_trials=20),
    )
    assert not summary.failures
    results = {
        (r.mode, r.seed): r
        for r in (Result.load(p) for p in sorted((out / "runs").glob("*/seed-*")))
    }
    assert sorted(results) == [(m, s) for m in ("interrogate", "passive") for s in range(3)]

    rows = {
        (r["method"], r["estimate"], r["quantity"]): r
        for r in read_summary_csv(out / "summary.csv")
    }
    names = list(results[("interrogate", 0)].true_params)
    for method in ("interrogate", "passive"):
        for estimate in ESTIMATES:
            for name in names:
                errors = [results[(method, s)].abs_error[estimate][name] for s in range(3)]
                row = rows[(method, estimate, f"abs_error_{name}")]
                q25, median, q75 = np.percentile(errors, [25, 50, 75])
                assert row["n"] == 3
                assert row["median"] == pytest.approx(median, abs=1e-12)
                assert row["q25"] == pytest.approx(q25, abs=1e-12)
                assert row["q75"] == pytest.approx(q75, abs=1e-12)
                if method == "passive":
                    reference = [
                        results[("interrogate", s)].abs_error[estimate][name] for s in range(3)
                    ]
                    p_value = mannwhitneyu(reference, errors, alternative="two-sided").pvalue
                    assert row["p_vs_interrogate"] == pytest.approx(p_value, abs=1e-12)
                else:
                    assert math.isnan(row["p_vs_interrogate"])
        walls = [results[(method, s)].wall_seconds for s in range(3)]
        assert rows[(method, "", "wall_seconds")]["median"] == pytest.approx(
            np.median(walls), abs=1e-12
        )
        steps = [results[(method, s)].data["simulated"]["steps"] for s in range(3)]
        assert rows[(method, "", "simulated_steps")]["median"] == pytest.approx(np.median(steps))
        c2st = [results[(method, s)].data["c2st"] for s in range(3)]
        c2st = [c["accuracy"] if isinstance(c, dict) else c for c in c2st]
        assert rows[(method, "best", "c2st")]["median"] == pytest.approx(np.median(c2st), abs=1e-12)

    with (out / "cells.csv").open(newline="") as handle:
        cells = list(csv.DictReader(handle))
    assert len(cells) == 6
    first = next(c for c in cells if c["method"] == "passive" and c["seed"] == "1")
    assert float(first["best:abs_error_p"]) == results[("passive", 1)].abs_error["best"]["p"]

    for figure in ("box_best", "box_top10_median", "box_last50_median", "convergence_best"):
        assert (out / "plots" / f"{figure}.png").stat().st_size > 0
    markdown = (out / "summary.md").read_text()
    assert "`interrogate`" in markdown and "`passive`" in markdown and "Mann-Whitney" in markdown
    assert (
        summary.value("passive", "abs_error_a")
        == rows[("passive", "best", "abs_error_a")]["median"]
    )

    # Re-summarising from the folder alone gives the same table.
    before = (out / "summary.csv").read_text()
    again = turing.summarise_comparison(out, write=False)
    assert again.rows == summary.rows
    assert (out / "summary.csv").read_text() == before


# ---------------------------------------------------------------------- resuming
def test_rerun_skips_finished_cells_and_resumes_unfinished_ones(tmp_path, capsys):
    out = tmp_path / "cmp"
    flags = [
        SYSTEM,
        "--methods",
        "interrogate,passive",
        "--seeds",
        "2",
        *TINY_FLAGS,
        "--generations",
        "5",
        "--checkpoint-every",
        "2",
        "--out",
        str(out),
        "--workers",
        "1",
        "--quiet",
        "--no-plots",
    ]
    code, _, err = _cli(capsys, "compare", *flags)
    assert code == 0, err
    runs = out / "runs"
    original = {p: json.loads((p / "result.json").read_text()) for p in runs.glob("*/seed-*")}

    # An interrupted cell (checkpoints at generations 2 and 4, no result) and a lost one.
    partial, lost = runs / "passive" / "seed-1", runs / "interrogate" / "seed-0"
    (partial / "result.json").unlink()
    shutil.rmtree(lost)
    untouched = {
        p: (p / "result.json").stat().st_mtime_ns for p in original if p not in (partial, lost)
    }

    code, _, err = _cli(capsys, "compare", *flags)
    assert code == 0, err
    for path, mtime in untouched.items():
        assert (path / "result.json").stat().st_mtime_ns == mtime  # skipped
    finished = [row for row in _log(out) if row["event"] == "finished"]
    assert len(finished) == 4 + 2
    resumed = {row["cell"]: int(row["start_generation"]) for row in finished[4:]}
    assert resumed == {"passive/seed-1": 4, "interrogate/seed-0": 0}
    for path in (partial, lost):
        result = json.loads((path / "result.json").read_text())
        # Resuming and restarting are bit-identical to the uninterrupted run.
        assert result["estimates"] == original[path]["estimates"]
        assert _metrics_generations(path) == list(range(5))
    assert Comparison.open(out).status() == {"finished": 4, "partial": 0, "new": 0}


def test_local_worker_pool_matches_running_inline(tmp_path):
    settings = dict(
        TINY, methods=["interrogate", "passive"], seeds=[3], progress=False, plots=False
    )
    pooled = turing.compare_methods(SYSTEM, out=tmp_path / "pool", workers=2, **settings)
    inline = turing.compare_methods(SYSTEM, out=tmp_path / "inline", workers=1, **settings)
    assert not pooled.failures and not inline.failures
    pids = {row["pid"] for row in _log(tmp_path / "pool")}
    assert str(os.getpid()) not in pids  # the cells ran in worker processes

    def numbers(summary):  # everything but wall times, which differ from run to run
        return [
            {k: v for k, v in c.values.items() if k[1] != "wall_seconds"} for c in summary.cells
        ]

    assert numbers(pooled) == numbers(inline)


def test_grid_grows_with_more_methods_and_seeds(tmp_path):
    out = tmp_path / "cmp"
    Comparison.create(SYSTEM, methods=["interrogate"], seeds=1, out=out, **TINY)
    grown = Comparison.create(
        SYSTEM, methods=["passive", "interrogate"], seeds=[1, 2], out=out, **TINY
    )
    assert grown.methods == ["interrogate", "passive"]
    assert grown.seeds == [0, 1, 2]
    assert grown.selected == (["passive", "interrogate"], [1, 2])
    assert json.loads((out / "comparison.json").read_text())["seeds"] == [0, 1, 2]
    assert len(Comparison.open(out).cells()) == 6


# ---------------------------------------------------------------------- bad input
def test_a_folder_of_a_different_comparison_is_refused(tmp_path, capsys):
    out = tmp_path / "cmp"
    flags = [
        SYSTEM,
        "--methods",
        "interrogate",
        "--seeds",
        "1",
        *TINY_FLAGS,
        "--out",
        str(out),
        "--workers",
        "1",
        "--quiet",
        "--no-plots",
    ]
    assert _cli(capsys, "compare", *flags)[0] == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, _, err = _cli(capsys, "compare", *flags, "--true-params", "p=0.3")
    assert code == 2
    assert (
        err.count("\n") == 1
        and "different comparison" in err
        and "true-params" in err.replace("_", "-")
    )
    assert "Traceback" not in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing lost


class _NeverSupported(Method):
    modes = ("never-supported",)

    @classmethod
    def check_supported(cls, system, mode):
        raise UserError(
            f"{mode} cannot identify {system.name}: it needs a differentiable simulator"
        )

    def generation(self):  # pragma: no cover - never runs
        raise AssertionError

    def state(self):  # pragma: no cover
        return {}, {}

    def load_state(self, arrays, meta):  # pragma: no cover
        pass


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--methods", "interrogate,nonsense"], "unknown method 'nonsense'"),
        (["--methods", "interrogate,never-supported"], "needs a differentiable simulator"),
        (["--methods", "interrogate,interrogate"], "twice"),
        (["--address", "localhost:6379"], "add --executor ray"),
        (["--true-params", "p=2"], "outside its bounds"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(tmp_path, capsys, monkeypatch, args, expected):
    monkeypatch.setitem(_METHODS, "never-supported", _NeverSupported)
    out = tmp_path / "cmp"
    code, _, err = _cli(capsys, "compare", SYSTEM, "--out", str(out), "--quiet", *args)
    assert code == 2
    assert err.count("\n") == 1 and expected in err, err
    assert not out.exists()  # refused before anything was written


def test_a_folder_holding_something_else_is_refused(tmp_path, capsys):
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = _cli(capsys, "compare", SYSTEM, "--out", str(out), "--quiet")
    assert code == 2 and "holds no comparison" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_missing_ray_names_the_pip_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    code, _, err = _cli(
        capsys, "compare", SYSTEM, "--out", str(tmp_path / "cmp"), "--executor", "ray", "--quiet"
    )
    assert code == 2
    assert 'pip install "turing-learning[ray]"' in err and err.count("\n") == 1
    assert not (tmp_path / "cmp").exists()


def test_an_unreachable_ray_address_fails_fast_naming_it(tmp_path, capsys):
    pytest.importorskip(
        "ray", reason="the ray extra is not installed (pip install 'turing-learning[ray]')"
    )
    with socket.socket() as probe:  # a local port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    start = time.monotonic()
    code, _, err = _cli(
        capsys,
        "compare",
        SYSTEM,
        "--out",
        str(tmp_path / "cmp"),
        "--executor",
        "ray",
        "--address",
        address,
        "--quiet",
        *TINY_FLAGS,
        "--seeds",
        "1",
    )
    assert time.monotonic() - start < 30
    assert code == 2 and address in err and err.count("\n") == 1


# ---------------------------------------------------------------------- killed workers
def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        children = _children(frontier.pop())
        found += children
        frontier += children
    return found


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _wait_for_a_cell_past_its_checkpoint(runs: Path, rows: int, timeout: float) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in runs.glob("*/seed-*"):
            if not (run / "result.json").exists() and (run / "metrics.csv").exists():
                if (run / "metrics.csv").read_bytes().count(b"\n") - 1 >= rows:
                    return run
        time.sleep(0.05)
    raise AssertionError(f"no cell reached {rows} generations within {timeout} s")


def _writer(run: Path, among: list[int]) -> int | None:
    """The process of ``among`` that holds ``run``'s writer lock open (the one running it)."""
    lock = str((run / ".lock").resolve())
    for pid in among:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        if lock in links:
            return pid
    return None


def _kill_the_writer_of_a_checkpointed_cell(runs: Path, candidates, rows: int) -> Path:
    """SIGKILLs the process writing a cell that has passed its first checkpoint (and has
    not finished), so that the retry must resume from that checkpoint; returns the cell.
    Killing any worker instead could hit one whose cell has not checkpointed yet, whose
    retry rightly starts from generation 0."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        run = _wait_for_a_cell_past_its_checkpoint(runs, rows=rows, timeout=240)
        pid = _writer(run, candidates())
        if pid is not None and not (run / "result.json").exists():
            os.kill(pid, signal.SIGKILL)
            return run
        time.sleep(0.05)
    raise AssertionError("found no process writing a checkpointed cell")


def _assert_every_cell_once(out: Path, cells: int, generations: int) -> None:
    runs = sorted((out / "runs").glob("*/seed-*"))
    assert len(runs) == cells
    for run in runs:
        assert (run / "result.json").is_file()
        assert _metrics_generations(run) == list(range(generations))  # no row twice
    finished = [row["cell"] for row in _log(out) if row["event"] == "finished"]
    assert sorted(finished) == sorted(f"{r.parent.name}/{r.name}" for r in runs)
    rows = read_summary_csv(out / "summary.csv")
    assert all(r["n"] == cells // 2 for r in rows if r["quantity"] == "abs_error_a")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds worker processes through /proc")
def test_pool_workers_exit_when_the_compare_process_is_killed(tmp_path):
    """A killed `turing compare` leaves no worker running its cells: orphans once went on
    writing run folders that the next `turing compare` was resuming."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import multiprocessing, os, sys, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from turing.comparisons.executors import import_modules\n"
        "if __name__ == '__main__':\n"
        "    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn'),\n"
        "                               initializer=import_modules, initargs=([],))\n"
        "    print(pool.submit(os.getpid).result(), flush=True)\n"
        "    pool.submit(time.sleep, 600)\n"
        "    time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = None
    try:
        worker = int(parent.stdout.readline())
        assert Path(f"/proc/{worker}").exists()
        parent.kill()
        parent.wait(30)
        deadline = time.monotonic() + 20
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(worker)
    finally:
        parent.kill()
        if worker is not None and _alive(worker):  # the test failed: do not leave it behind
            os.kill(worker, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds worker processes through /proc")
def test_local_executor_restarts_a_killed_worker_from_its_checkpoint(tmp_path):
    out = tmp_path / "cmp"
    settings = {"generations": 14, "steps": 100, "checkpoint_every": 3, "c2st_trials": 0}
    killed: list[int] = []

    def kill_one_worker() -> None:
        def workers() -> list[int]:
            return [p for p in _children(os.getpid()) if "spawn_main" in _cmdline(p)]

        killed.append(_kill_the_writer_of_a_checkpointed_cell(out / "runs", workers, rows=4))

    killer = threading.Thread(target=kill_one_worker, daemon=True)
    killer.start()
    summary = turing.compare_methods(
        SYSTEM,
        methods=["interrogate", "passive"],
        seeds=1,
        out=out,
        workers=2,
        progress=False,
        **settings,
    )
    killer.join(1)
    assert killed and not summary.failures
    _assert_every_cell_once(out, cells=2, generations=14)
    assert any(int(row["start_generation"]) > 0 for row in _log(out))  # resumed, not restarted


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds Ray's worker processes through /proc")
def test_ray_executor_completes_every_cell_once_when_a_worker_is_killed(tmp_path):
    pytest.importorskip(
        "ray", reason="the ray extra is not installed (pip install 'turing-learning[ray]')"
    )
    out = tmp_path / "cmp"
    command = [
        sys.executable,
        "-c",
        "import sys; from turing.cli import main; sys.exit(main())",
        "compare",
        SYSTEM,
        "--methods",
        "interrogate,passive",
        "--seeds",
        "2",
        "--generations",
        "14",
        "--checkpoint-every",
        "3",
        "--c2st-trials",
        "0",
        "--out",
        str(out),
        "--executor",
        "ray",
        "--workers",
        "2",
        "--quiet",
        "--no-plots",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:

        def tasks() -> list[int]:
            return [p for p in _descendants(process.pid) if _cmdline(p).startswith("ray::")]

        _kill_the_writer_of_a_checkpointed_cell(out / "runs", tasks, rows=4)
        _, stderr = process.communicate(timeout=400)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr[-2000:]
    _assert_every_cell_once(out, cells=4, generations=14)
    resumed = [row for row in _log(out) if int(row["start_generation"]) > 0]
    assert len(resumed) == 1  # the killed task's retry continued from its checkpoint

    # ... and reached exactly the result of an uninterrupted run.
    cell = out / "runs" / resumed[0]["cell"]
    reference = turing.learn(
        SYSTEM,
        **{
            k: v
            for k, v in json.loads((cell / "config.json").read_text()).items()
            if k not in ("system", "engine")  # the engine version is recorded, not chosen
        },
        out=tmp_path / "reference",
        progress=False,
    )
    assert json.loads((cell / "result.json").read_text())["estimates"] == reference.estimates
