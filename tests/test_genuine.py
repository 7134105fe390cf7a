"""Genuine sources: the simulator, Gymnasium environments in worker pools, recorded trials;
the genuine-trial budget; runs that record, resume and fail safely."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import genuine_envs
import numpy as np
import pytest
import torch

import turing
from turing.engine import PASSIVE, Engine, Noise
from turing.errors import GenuineSourceError, UserError
from turing.genuine.data_source import DataSource, record_index
from turing.genuine.recording import record_trials, save_recorded
from turing.runs.runner import Runner

SMALL = dict(models=6, interrogators=4, steps=20, c2st_trials=0, seed=3)
"""A run small enough for a test (4 x 6 pairs of 20-step trials)."""


def _metrics(folder) -> list[dict[str, str]]:
    with open(Path(folder) / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: v for k, v in row.items() if "seconds" not in k} for row in rows]


def _result(folder) -> dict:
    return json.loads((Path(folder) / "result.json").read_text())


def _learn(out, **settings):
    return turing.learn("agent-inference", out=out, progress=False, **{**SMALL, **settings})


# ----------------------------------------------------------------------------- environments
def test_an_env_source_runs_records_and_counts_its_genuine_trials(tmp_path):
    _learn(tmp_path / "env", generations=3, genuine="turing/AgentInference-v0",
           genuine_trials=5, genuine_workers=2, c2st_trials=10)  # fmt: skip
    result = _result(tmp_path / "env")
    assert result["genuine_trials_by_use"] == {"training": 15, "c2st": 10, "episodes": 4}
    assert result["genuine_trials"] == 29
    assert result["genuine_source"]["env"] == "turing/AgentInference-v0"
    assert [row["genuine_trials"] for row in _metrics(tmp_path / "env")] == ["5", "5", "5"]
    record = np.load(tmp_path / "env" / "genuine" / "g000001-r00.npz")
    assert record["observations"].shape == (5, 20, 1)
    assert record["actions"].shape == (5, 19, 1)
    assert record["outputs"].shape == (5, 20, 2)
    assert record["reset_seed"].dtype == np.int64 and len(set(record["reset_seed"])) == 5
    # The interrogators chose the recorded actions: their outputs 1, scaled to [0, 1].
    assert np.allclose(record["actions"][..., 0], record["outputs"][:, :-1, 1], atol=1e-6)
    _replays_the_recorded_genuine_trials(tmp_path / "env", "turing/AgentInference-v0")


def _replays_the_recorded_genuine_trials(folder, source):
    """``turing replay`` of a run with an outside genuine system plays back the genuine
    trials it recorded at its end beside a live model trial: the best interrogator,
    reading the recorded observations again, gives exactly the outputs and inputs it gave
    the genuine system."""
    from turing.replay import replay

    episodes = np.load(folder / "episodes" / "final.npz")
    genuine = ~episodes["is_model"]
    played = replay(folder, trials=2, figure=folder / "replay" / "r.png")
    assert played.labels[0] == "genuine (recorded)"
    replayed = np.load(folder / "replay" / "r.npz")
    recorded = episodes["observation"][:, :, genuine].transpose(2, 0, 1)[:2]
    assert np.array_equal(replayed["observation"][..., 0], recorded.astype(np.float64))
    outputs = episodes["output"][:, 0, genuine].T[:2]
    assert np.array_equal(replayed["judgement"][..., 0], outputs.astype(np.float64))
    actions = episodes["action"][:, :, genuine].transpose(2, 0, 1)[:2]
    assert np.array_equal(replayed["action"][..., 0], actions.astype(np.float64))
    # The model column is simulated: not a recorded trial.
    assert not np.array_equal(replayed["observation"][..., 1], replayed["observation"][..., 0])
    with pytest.raises(UserError, match=f"{source}.*leave out --interrogator"):
        replay(folder, interrogator=1)
    with pytest.raises(UserError, match="recorded 4 genuine trials"):
        replay(folder, trials=9)


def test_a_deterministic_env_gives_the_same_run_whatever_the_pool(tmp_path):
    settings = dict(generations=3, genuine="turing/AgentInference-v0", genuine_trials=7)
    _learn(tmp_path / "two", genuine_workers=2, **settings)
    _learn(tmp_path / "here", genuine_workers=0, **settings)
    _learn(tmp_path / "again", genuine_workers=2, **settings)
    assert _metrics(tmp_path / "two") == _metrics(tmp_path / "here") == _metrics(tmp_path / "again")


def test_env_trials_behave_like_simulated_ones():
    # turing/AgentInference-v0 is the agent's simulator one trial at a time: its trials and
    # the simulator's differ in their noise only, so their statistics agree.
    system = turing.make_system("agent-inference")
    sim_obs, _ = record_trials(system, 400, 60, seed=1)
    env_obs, _ = record_trials(system, 400, 60, seed=1, genuine="turing/AgentInference-v0",
                               workers=0)  # fmt: skip
    assert not np.array_equal(sim_obs, env_obs)
    for statistic in (np.mean, np.std):
        assert statistic(sim_obs) == pytest.approx(statistic(env_obs), rel=0.05)


def test_a_resumed_run_is_served_its_recorded_genuine_trials(tmp_path, monkeypatch):
    settings = dict(generations=5, genuine="genuine_envs:Counting-v0", genuine_trials=6,
                    genuine_workers=0, checkpoint_every=2)  # fmt: skip
    _learn(tmp_path / "whole", **settings)
    genuine_envs.CALLS.clear()

    runner = Runner.create(turing.RunConfig(system="agent-inference", **{**SMALL, **settings}),
                           out=tmp_path / "cut", progress=False)  # fmt: skip
    method = runner.method
    real = method.generation

    def crash_at_generation_4():
        if method.generations_done == 4:
            raise RuntimeError("power cut")
        return real()

    monkeypatch.setattr(method, "generation", crash_at_generation_4)
    with pytest.raises(RuntimeError, match="power cut"):
        runner.run()
    runner.release()
    assert genuine_envs.CALLS["reset"] == 1 + 4 * 6  # the check of the env, generations 0..3
    # The latest checkpoint is at generation 2: generations 2 and 3 are computed again,
    # with the genuine trials they recorded; only generation 4 meets the env again.
    genuine_envs.CALLS.clear()
    turing.resume(tmp_path / "cut", progress=False)
    assert genuine_envs.CALLS["reset"] == 1 + 6 + 4  # the check, generation 4, 4 episodes
    assert _metrics(tmp_path / "cut") == _metrics(tmp_path / "whole")
    assert _result(tmp_path / "cut")["estimates"] == _result(tmp_path / "whole")["estimates"]
    assert (
        _result(tmp_path / "cut")["genuine_trials"] == _result(tmp_path / "whole")["genuine_trials"]
    )


@pytest.mark.slow
def test_a_killed_run_with_an_env_resumes_to_the_uninterrupted_result(tmp_path):
    from kill_resume import GENUINE, kill_and_resume, outcome, reference

    expected, seconds = reference(tmp_path, generations=6, extra=GENUINE)
    for k, moment in enumerate((0.4, 0.75)):
        report = kill_and_resume(tmp_path / f"kill-{k}", moment * seconds, 6, GENUINE)
        assert report["code"] == 0, report["stderr"]
        assert outcome(report["folder"]) == expected, report["stage"]


@pytest.mark.parametrize(
    "fault, message",
    [
        ("raise", r"step 3: step raised RuntimeError: the robot's motor driver stopped answering"),
        ("nan", r"step 3: the observation is not finite"),
        ("end", r"ended \(terminated or truncated\) at step 3"),
    ],
)
def test_an_env_that_fails_mid_trial_stops_the_run_with_a_checkpoint(tmp_path, fault, message):
    out = tmp_path / "run"
    with pytest.raises(GenuineSourceError, match=message) as caught:
        _learn(out, generations=4, genuine="genuine_envs:Faulty-v0", genuine_trials=6,
               genuine_kwargs={"fault": fault, "at": 3, "every": 2}, genuine_workers=1)  # fmt: skip
    text = str(caught.value)
    assert "\n" not in text and "generation 0: genuine env genuine_envs:Faulty-v0: trial" in text
    assert f"turing run --resume {out}" in text
    assert (out / "checkpoints").is_dir() and list((out / "checkpoints").iterdir())


def test_an_env_that_hangs_is_stopped_by_the_timeout(tmp_path):
    start = time.perf_counter()
    with pytest.raises(GenuineSourceError, match=r"no answer within 2 s \(step; the env hangs\)"):
        _learn(tmp_path / "run", generations=2, genuine="genuine_envs:Faulty-v0",
               genuine_trials=4, genuine_kwargs={"fault": "hang", "at": 2},
               genuine_workers=1, genuine_timeout=2.0)  # fmt: skip
    assert time.perf_counter() - start < 60


def test_env_workers_die_with_their_parent(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time
        import turing
        from turing.genuine.pool import EnvSpec, ProcessPool
        pool = ProcessPool(EnvSpec("turing/AgentInference-v0"), 1, timeout=60, workers=2)
        pool.reset([1, 2, 3])
        print(" ".join(str(p.pid) for p in pool.processes), flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in workers if _running(pid)]
        time.sleep(0.1)
    assert not alive


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return status != "Z"


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            dict(genuine="Pendulum-v2"),
            "no Gymnasium environment 'Pendulum-v2' is registered; did you mean Pendulum-v1?",
        ),
        (
            dict(genuine="Pendulum-v1", genuine_kwargs={"grav": 3}),
            "Pendulum-v1 refuses its keyword arguments",
        ),
        (
            dict(genuine="CartPole-v1"),
            "its observations are a Box of shape (4,), but agent-inference's are 1 numbers",
        ),
        (dict(genuine="Pendulum-v1"), "its observations are a Box of shape (3,)"),
        (dict(genuine_data="missing.npz", mode="passive"), "missing.npz: no such file"),
        (dict(genuine_data="x.npz"), "--mode interrogate chooses the genuine system's inputs"),
        (
            dict(genuine="turing/AgentInference-v0", mode="gan-interrogate"),
            "gan-interrogate chooses inputs",
        ),
        (dict(genuine_trials=25), "more than one per (interrogator, model) pair (24)"),
        (dict(genuine_trials=0), "--genuine-trials must be a whole number >= 1"),
    ],
)
def test_bad_genuine_sources_are_refused_before_anything_is_written(tmp_path, settings, message):
    with pytest.raises(UserError) as caught:
        _learn(tmp_path / "run", generations=2, **settings)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "run").exists()


def test_the_command_line_refuses_a_bad_env_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "turing.cli", "run", "agent-inference", "--genuine", "Pendulum-v2",
         "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "did you mean Pendulum-v1?" in done.stderr
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- recorded data
@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recorded")
    observations, actions = record_trials(turing.make_system("agent-inference"), 60, 20, seed=5)
    return save_recorded(folder / "agent.npz", observations, actions), observations, actions


@pytest.mark.parametrize("mode", ["passive", "passive-io", "metric"])
def test_recorded_trials_serve_the_passive_modes(tmp_path, recorded, mode):
    path = recorded[0]
    _learn(tmp_path / "run", generations=2, mode=mode, genuine_data=str(path), c2st_trials=10)
    result = _result(tmp_path / "run")
    assert result["genuine_source"] == {"kind": "data", "file": "agent.npz", "trials": 60}
    assert result["genuine_trials_by_use"]["training"] == 2 * 24
    copy = tmp_path / "run" / "genuine" / "data.npz"
    assert copy.read_bytes() == path.read_bytes()  # the run folder stands alone
    # Resumable from its own copy, even when the original is gone.
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert len(config["genuine_digest"]) == 64
    if mode != "metric":  # recorded trials replayed beside the model, by any interrogator
        from turing.replay import replay

        played = replay(tmp_path / "run", interrogator=1, trials=1)
        episodes = np.load(tmp_path / "run" / "episodes" / "final.npz")
        first = episodes["observation"][:, :, ~episodes["is_model"]][:, :, 0]
        assert np.array_equal(played.episodes[0].observation[..., 0], first.astype(np.float64))


def test_a_model_trial_replays_the_inputs_of_its_pairs_recorded_trial(recorded):
    _, observations, actions = recorded
    system = turing.make_system("agent-inference")
    source = DataSource(system, observations, actions, "agent.npz")
    noise = Noise(torch.tensor([[7], [9]]), torch.arange(10), input_stream=torch.arange(10) // 2)
    index = record_index(noise, 60)
    assert torch.equal(index[0::2], index[1::2])  # a pair shares its recorded trial
    inputs = source.inputs_of(noise)
    assert torch.equal(inputs.actions[..., 3], torch.from_numpy(actions[int(index[3])]))
    trials = source.run(noise, inputs=PASSIVE, record=True)
    assert torch.equal(trials.observations[..., 4], torch.from_numpy(observations[int(index[4])]))
    # A model with the genuine values, driven by those inputs, behaves like the recording.
    engine = Engine(system, 20, backend="eager")
    params = torch.tensor(system.make_truth().simulation).reshape(-1, 1).expand(-1, 10)
    replayed = engine.run(params, noise, inputs=inputs, record=True)
    assert float(replayed.observations.mean()) == pytest.approx(
        float(trials.observations.mean()), abs=0.05
    )


def _write(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(
    "arrays, message",
    [
        (dict(observations=np.zeros((3, 20, 1), np.float32)), "lacks actions"),
        (
            dict(observations=np.zeros((3, 20, 1)), actions=np.zeros((3, 19, 1), np.float32)),
            "observations is float64, not float32",
        ),
        (
            dict(
                observations=np.zeros((3, 20, 2), np.float32),
                actions=np.zeros((3, 19, 1), np.float32),
            ),
            "observations has shape (3, 20, 2)",
        ),
        (
            dict(
                observations=np.zeros((3, 20, 1), np.float32),
                actions=np.zeros((3, 20, 1), np.float32),
            ),
            "a trial of T observations has T - 1 inputs",
        ),
        (
            dict(
                observations=np.full((3, 20, 1), np.nan, np.float32),
                actions=np.zeros((3, 19, 1), np.float32),
            ),
            "non-finite values",
        ),
        (
            dict(
                observations=np.zeros((3, 12, 1), np.float32),
                actions=np.zeros((3, 11, 1), np.float32),
            ),
            "its trials have 12 observations, the run 20",
        ),
        (
            dict(
                observations=np.array([{"a": 1}], dtype=object),
                actions=np.zeros((3, 19, 1), np.float32),
            ),
            "holds object arrays, which are never loaded",
        ),
    ],
)
def test_bad_recorded_files_are_refused_in_one_line(tmp_path, arrays, message):
    path = _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(UserError) as caught:
        _learn(tmp_path / "run", generations=2, mode="passive", genuine_data=path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "run").exists()


def test_a_recorded_file_that_would_inflate_too_far_is_refused_before_reading(
    tmp_path, monkeypatch
):
    import turing.genuine.data_source as data_source

    monkeypatch.setattr(data_source, "MAX_BYTES", 1 << 20)
    path = tmp_path / "big.npz"
    np.savez_compressed(path, observations=np.zeros((100, 20, 200), np.float32),
                        actions=np.zeros((100, 19, 1), np.float32))  # fmt: skip
    assert path.stat().st_size < 100_000
    with pytest.raises(UserError, match=r"would inflate to .* refused before reading it"):
        _learn(tmp_path / "run", generations=1, mode="passive", genuine_data=str(path))


def test_turing_record_writes_what_genuine_data_reads(tmp_path):
    out = tmp_path / "trials.npz"
    done = subprocess.run(
        [sys.executable, "-m", "turing.cli", "record", "agent-inference", "--trials", "30",
         "--steps", "20", "--inputs", "random", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with np.load(out) as data:
        assert data["observations"].shape == (30, 20, 1) and data["actions"].shape == (30, 19, 1)
        assert data["observations"].dtype == np.float32
        assert np.ptp(data["actions"]) > 0.5  # random inputs, not the passive schedule
    _learn(tmp_path / "run", generations=1, mode="passive", genuine_data=str(out))


# ----------------------------------------------------------------------------- the budget
def test_a_budget_of_one_per_pair_is_the_papers_run(tmp_path):
    _learn(tmp_path / "default", generations=4)
    _learn(tmp_path / "budget", generations=4, genuine_trials=24)
    assert _metrics(tmp_path / "default") == _metrics(tmp_path / "budget")


def test_a_small_budget_runs_that_many_genuine_trials_and_is_reproducible(tmp_path):
    for name in ("a", "b"):
        _learn(tmp_path / name, generations=4, genuine_trials=3, c2st_trials=10)
    rows = _metrics(tmp_path / "a")
    assert rows == _metrics(tmp_path / "b")
    assert [r["genuine_trials"] for r in rows] == ["3"] * 4
    result = _result(tmp_path / "a")
    assert result["genuine_trials"] == 4 * 3 + 10 + 4 and isinstance(result["genuine_trials"], int)


def test_genuine_trials_go_to_the_interrogators_that_judged_fewest():
    config = turing.RunConfig(system="agent-inference", generations=2, genuine_trials=6,
                              **{k: v for k, v in SMALL.items()})  # fmt: skip
    runner = Runner.resolve(config)
    method = turing.get_method("interrogate")(runner[1], runner[1].make_truth(), runner[0])
    method.windows[:] = -1
    method.windows[0, -3:] = 1  # interrogator 0 judged three lately; 1, 2 and 3 none
    method.windows[1, -1:] = 0
    allocation = method.allocate()
    counts = np.bincount(allocation.owner, minlength=4)
    assert counts.sum() == 6 and counts[0] == 1 and counts[1] == 1 and set(counts[2:]) == {2}
    assert np.array_equal(allocation.slot[allocation.owner == 2], [0, 1])


def test_interrogators_are_scored_on_their_last_genuine_judgements(tmp_path):
    # With 3 genuine trials per generation, each judgement stays in its interrogator's
    # window: the genuine accuracy is over the interrogators that judged any.
    _learn(tmp_path / "run", generations=6, genuine_trials=3)
    state = np.load(sorted((tmp_path / "run" / "checkpoints").iterdir())[-1])
    window = state["genuine_window"]
    assert window.shape == (4, 6) and set(np.unique(window)) <= {-1, 0, 1}


def test_the_metric_compares_every_model_with_the_same_genuine_trials(tmp_path):
    _learn(tmp_path / "run", generations=2, mode="metric", genuine_trials=5)
    assert [r["genuine_trials"] for r in _metrics(tmp_path / "run")] == ["5", "5"]
    assert _result(tmp_path / "run")["genuine_trials_by_use"]["training"] == 10


def test_sources_close_their_workers_when_a_run_ends(tmp_path):
    def children() -> set[str]:
        return {
            p.name
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _child_of(p, os.getpid())
        }

    before = children()  # other tests' processes (a suite's worker has some) are not ours
    _learn(tmp_path / "run", generations=1, genuine="turing/AgentInference-v0",
           genuine_trials=2, genuine_workers=2)  # fmt: skip
    assert not children() - before


def _child_of(proc: Path, parent: int) -> bool:
    try:
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return False
    if int(fields[1]) != parent or fields[0] == "Z":
        return False
    # multiprocessing's resource tracker lives as long as the process that started workers
    return b"resource_tracker" not in (proc / "cmdline").read_bytes()
