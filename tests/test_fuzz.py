"""Bad input, damaged folders and interruptions (tests/fuzz.py, tests/fuzz_faults.py,
tests/kill_resume.py): one line, exit 2 (130/143 for signals), no traceback, no hang,
nothing changed on disk (nothing lost where a fault strikes a run that writes). Cases that
need root (mounted file systems, device nodes) skip with the reason where it is not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fuzz import CASES_BY_NAME, build_fixtures, run_case
from kill_resume import CLI, kill_and_resume, outcome, reference

import turing

TINY_RUN = ["--models", "4", "--interrogators", "4", "--steps", "20", "--c2st-trials", "0"]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return build_fixtures(tmp_path_factory.mktemp("fuzz-fixtures"))


SLOW = {"run: the disk fills during the generations", "run folder moved while the run writes",
        "Ctrl-C during start-up", "SIGTERM during start-up",
        "compare SIGKILLed while its workers start", "compare SIGKILLed while its workers run cells"}  # fmt: skip
"""Scenarios that drive several processes: over a minute on a busy 2-core machine."""


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in CASES_BY_NAME]
)
def test_bad_input_ends_in_one_line_and_changes_nothing(name, fixtures, tmp_path):
    outcome = run_case(CASES_BY_NAME[name], fixtures, tmp_path / "case")
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    assert not outcome.problems, (outcome.problems, outcome.stderr[-1500:])


def test_load_refuses_edited_contents(fixtures, tmp_path):
    # turing.load reads what plot and replay read: the same records refuse the same edits.
    import shutil

    from fuzz_faults import _edit_estimate, _edit_metrics_value, _from_other

    for damage, message in (
        (_edit_metrics_value, "other values than the run wrote"),
        (_edit_estimate, "was edited after the run finished"),
        (_from_other("populations.npz"), "not the file this run wrote"),
    ):
        folder = tmp_path / damage.__name__
        shutil.copytree(fixtures["finished"], folder)
        damage(folder)
        with pytest.raises(turing.UserError, match=message):
            turing.load(folder)
    assert turing.load(fixtures["finished"]).estimates


def test_the_python_api_raises_the_same_user_errors(tmp_path):
    with pytest.raises(turing.UserError, match="run folder"):
        turing.load(None)
    with pytest.raises(turing.UserError, match="true_params"):
        turing.learn("agent-inference", true_params="a=0.5", out=tmp_path / "a", progress=False)
    with pytest.raises(turing.UserError, match="bogus"):
        turing.learn(
            "agent-inference", system_options={"bogus": 1}, out=tmp_path / "b", progress=False
        )
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_genuine_data_that_is_no_file_says_what_it_is(tmp_path):
    # A folder or a FIFO given as --genuine-data is not "no such file" (and a FIFO is never
    # opened, which would block).
    os.mkfifo(tmp_path / "fifo.npz")
    for path, problem in ((tmp_path, "is a folder"), (tmp_path / "fifo.npz", "a FIFO")):
        with pytest.raises(turing.UserError, match=problem):
            turing.learn(
                "agent-inference", mode="passive", genuine_data=str(path), out=tmp_path / "r",
                progress=False,
            )  # fmt: skip
    assert not (tmp_path / "r").exists()


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_a_start_killed_after_taking_the_lock_leaves_a_usable_folder(tmp_path):
    # What `mkdir X; touch X/.lock` leaves is what a start killed before it wrote
    # config.json leaves: the same command must take the folder.
    out = tmp_path / "X"
    out.mkdir()
    (out / ".lock").touch()
    (out / ".config.json.k1ll.tmp").write_text("{")  # a write the kill cut short
    done = _cli(
        "run", "agent-inference", "--generations", "2", *TINY_RUN, "--out", str(out), "--quiet"
    )
    assert done.returncode == 0, done.stderr
    assert (out / "result.json").is_file()
    assert not list(out.rglob("*.tmp"))


def _start(out: Path, generations: int = 400) -> subprocess.Popen:
    command = [*CLI, "run", "agent-inference", "--generations", str(generations), *TINY_RUN]
    command += ["--checkpoint-every", "1000", "--out", str(out), "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_signals)  # fmt: skip


def _wait_for_rows(out: Path, rows: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = out / "metrics.csv"
        if metrics.is_file() and len(metrics.read_text().splitlines()) > rows:
            return
        time.sleep(0.02)
    raise AssertionError(f"{out} did not reach {rows} generations")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_saves_a_checkpoint_and_says_how_to_resume(tmp_path, signum, code):
    out = tmp_path / "run"
    process = _start(out, generations=100_000)
    _wait_for_rows(out, 3)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"turing run --resume {out}" in lines[0], stderr
    assert "Traceback" not in stderr
    # The checkpoint covers every generation written (none was due by --checkpoint-every).
    checkpoint = sorted((out / "checkpoints").glob("gen-*.npz"))[-1]
    written = len((out / "metrics.csv").read_text().splitlines()) - 1
    assert int(checkpoint.stem.split("-")[1]) == written >= 3


def test_list_into_a_closed_pipe_prints_nothing_on_stderr(tmp_path):
    shell = f"{sys.executable} -c 'import sys; from turing.cli import main; sys.exit(main())' list | head -1"
    done = subprocess.run(shell, shell=True, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip(), done.stderr
    assert "BrokenPipeError" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_files_are_created_with_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        turing.learn(
            "agent-inference",
            generations=2,
            out=tmp_path / "r",
            progress=False,
            models=4,
            interrogators=4,
            steps=20,
            c2st_trials=0,
        )
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "r").rglob("*") if p.is_file()}
    assert modes and all(m == 0o644 for m in modes.values()), modes


def test_a_metrics_tail_longer_than_the_checkpoint_is_cut_back_on_resume(tmp_path):
    out = tmp_path / "run"
    process = _start(out, generations=400)
    _wait_for_rows(out, 3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # Killed between checkpoints: only generation 0's checkpoint, more rows than it covers.
    assert len((out / "metrics.csv").read_text().splitlines()) - 1 > 0
    config = json.loads((out / "config.json").read_text())
    assert config["generations"] == 400
    done = _cli("run", "--resume", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert len((out / "metrics.csv").read_text().splitlines()) - 1 == 400


@pytest.mark.slow
def test_random_sigkills_resume_to_the_uninterrupted_result(tmp_path):
    # Two moments of a shorter run (tests/kill_resume.py --kills 20 draws them at random):
    # during the generations and while finishing.
    expected, seconds = reference(tmp_path, generations=40)
    for k, fraction in enumerate((0.5, 0.9)):
        report = kill_and_resume(tmp_path / f"kill-{k}", fraction * seconds, generations=40)
        assert report["code"] == 0, report["stderr"]
        assert outcome(report["folder"]) == expected, report["stage"]


def _default_signals() -> None:
    """The child takes SIGINT and SIGTERM as a shell's foreground command does, whatever the
    test process inherited (a background job's SIGINT is ignored, and so would be its
    children's)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
