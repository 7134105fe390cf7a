"""The command line: bad input gives one line, exit code 2, no traceback, nothing changed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import turing
from turing.cli import main

TINY = ["--generations", "2", "--models", "4", "--interrogators", "4", "--steps", "10", "--quiet"]


def run_cli(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "no-such-system"], "unknown system 'no-such-system'"),
        (["run", "agent-inference", "--true-params", "zeta=0.2"], "no parameter 'zeta'"),
        (["run", "agent-inference", "--true-params", "a=1.5"], "outside its bounds"),
        (["run", "agent-inference", "--true-params", "a=nan"], "outside its bounds"),
        (["run", "agent-inference", "--true-params", "a=fast"], "not a number"),
        (["run", "agent-inference", "--true-params", "a0.5"], "NAME=VALUE"),
        (["run", "agent-inference", "--models", "0"], "must be at least 1"),
        (["run", "agent-inference", "--interrogators", "-3"], "must be at least 1"),
        (["run", "agent-inference", "--models", "1"], "at least 2"),
        (["run", "agent-inference", "--generations", "ten"], "not a whole number"),
        (["run", "agent-inference", "--steps", "0"], "must be at least 1"),
        (["run", "agent-inference", "--mode", "telepathy"], "unknown mode 'telepathy'"),
        (["run", "agent-inference", "--device", "cuda:7"], "--device"),
        (["run"], "name a SYSTEM"),
        (["bench", "no-such-system"], "unknown system"),
        (["plot", "nowhere"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(capsys, tmp_path, argv, message):
    code, _, err = run_cli(
        capsys,
        *argv,
        *(["--out", str(tmp_path / "run")] if argv[0] == "run" and len(argv) > 1 else []),
    )
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists(), "nothing may be written for bad input"


def test_out_holding_a_different_run_is_refused_and_untouched(capsys, tmp_path):
    out = tmp_path / "run"
    assert run_cli(capsys, "run", "agent-inference", *TINY, "--out", str(out))[0] == 0
    before = snapshot(out)
    code, _, err = run_cli(
        capsys, "run", "agent-inference", *TINY, "--seed", "9", "--out", str(out)
    )
    assert code == 2 and "already holds a different run" in err and len(err.splitlines()) == 1
    assert snapshot(out) == before


def test_resume_on_a_folder_that_is_not_a_run(capsys, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    code, _, err = run_cli(capsys, "run", "--resume", str(tmp_path / "notes"))
    assert code == 2 and "not a run folder" in err
    assert (tmp_path / "notes" / "a.txt").read_text() == "hello"
    code, _, err = run_cli(capsys, "run", "--resume", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err


def test_out_on_a_non_empty_foreign_folder_is_refused(capsys, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("1,2")
    code, _, err = run_cli(capsys, "run", "agent-inference", *TINY, "--out", str(tmp_path / "data"))
    assert code == 2 and "not empty" in err
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["x.csv"]


def test_run_prints_the_table_and_resume_of_finished_run_exits_0(capsys, tmp_path):
    out = tmp_path / "run"
    code, stdout, _ = run_cli(
        capsys, "run", "agent-inference", *TINY, "--true-params", "a=0.6,p=0.35", "--out", str(out)
    )
    assert code == 0
    for text in ("parameter", "genuine", "best", "top-10 median", "last-50 median", str(out)):
        assert text in stdout
    result = json.loads((out / "result.json").read_text())
    assert result["true_params"] == {"a": 0.6, "b": 0.2, "delta": 0.3, "p": 0.35}
    before = snapshot(out)
    code, stdout, _ = run_cli(capsys, "run", "--resume", str(out))
    assert code == 0 and "finished" in stdout
    assert snapshot(out) == before


def test_plot_redraws_the_figures(capsys, tmp_path):
    out = tmp_path / "run"
    run_cli(capsys, "run", "agent-inference", *TINY, "--out", str(out))
    for png in (out / "plots").glob("*.png"):
        png.unlink()
    code, stdout, _ = run_cli(capsys, "plot", str(out))
    assert "parameters.png" in stdout
    assert code == 0
    assert (out / "plots" / "parameters.png").stat().st_size > 1000
    assert (out / "plots" / "fitness.png").exists()


def test_list_shows_systems_parameters_and_modes(capsys):
    code, stdout, _ = run_cli(capsys, "list")
    assert code == 0
    assert "agent-inference" in stdout and "turing/AgentInference-v0" in stdout
    assert "delta" in stdout and "[0, 1]" in stdout
    code, stdout, _ = run_cli(capsys, "list", "--json")
    data = json.loads(stdout)
    agent = next(s for s in data["systems"] if s["name"] == "agent-inference")
    assert [p["name"] for p in agent["parameters"]] == ["a", "b", "delta", "p"]
    assert {"interrogate", "passive", "passive-io"} <= set(data["modes"])


def test_bench_json_reports_the_promised_figures(capsys):
    code, stdout, _ = run_cli(
        capsys,
        "bench",
        "agent-inference",
        "--generations",
        "1",
        "--models",
        "4",
        "--interrogators",
        "4",
        "--gym-seconds",
        "0.1",
        "--json",
    )
    assert code == 0
    figures = json.loads(stdout)
    for key in (
        "seconds_per_generation",
        "steps_per_second",
        "gym_loop_steps_per_second",
        "speedup",
    ):
        assert figures[key] > 0


def test_help_documents_every_option():
    out = subprocess.run(
        [sys.executable, "-m", "turing.cli", "run", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    for flag in (
        "--mode",
        "--generations",
        "--models",
        "--interrogators",
        "--steps",
        "--seed",
        "--device",
        "--true-params",
        "--out",
        "--checkpoint-every",
        "--quiet",
        "--resume",
    ):
        assert flag in out.stdout


def test_console_error_has_no_traceback():
    out = subprocess.run(
        [sys.executable, "-m", "turing.cli", "run", "agent-inference", "--true-params", "b=7"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_python_api_raises_user_errors():
    with pytest.raises(turing.UserError, match="unknown system"):
        turing.learn("nope", progress=False)
    with pytest.raises(turing.UserError, match="outside its bounds"):
        turing.learn("agent-inference", true_params={"p": 2}, progress=False)


def test_the_help_says_what_graded_model_fitness_is(capsys):
    code, out, _ = run_cli(capsys, "run", "--help")
    assert code == 0
    text = " ".join(out.split())
    entry = text[text.index("--model-fitness {verdict,graded,weighted} a model") :]
    entry = entry[: entry.index("--periodic-genes")]
    assert "mean judgement output on its trials, in [0, 1]" in entry, entry
    assert "output 0" not in entry


def test_help_of_reset_documents_its_start_argument():
    import pydoc

    text = pydoc.render_doc(turing.System.reset, renderer=pydoc.plaintext)
    assert "start: 'Any' = None" in text
    assert "start: explicit start conditions" in text and "sample_starts" in text
