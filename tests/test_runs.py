"""Runs: determinism, kill-and-resume bit-identity, run folder contents, the Python API."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import turing
from turing.agents import InterrogatorPopulation
from turing.contracts.config import RunConfig
from turing.engine import stream_key
from turing.engine.evaluator import Evaluator, interrogator_shape
from turing.envs import AgentInference
from turing.integrations.gym_envs import SystemEnv
from turing.runs.runner import Runner

SMALL = {"models": 10, "interrogators": 8, "steps": 30}


def rows(path: Path) -> list[dict[str, str]]:
    """metrics.csv rows without wall-time columns."""
    with (path / "metrics.csv").open() as handle:
        return [{k: v for k, v in r.items() if "seconds" not in k} for r in csv.DictReader(handle)]


def small_run(out, mode="interrogate", seed=3, generations=12, **settings):
    return turing.learn(
        "agent-inference",
        mode=mode,
        generations=generations,
        seed=seed,
        out=out,
        progress=False,
        checkpoint_every=5,
        **{**SMALL, **settings},
    )


@pytest.mark.parametrize("mode", ["interrogate", "passive", "passive-io"])
def test_same_seed_gives_identical_metrics(tmp_path, mode):
    first = small_run(tmp_path / "a", mode)
    second = small_run(tmp_path / "b", mode)
    assert rows(first.path) == rows(second.path)
    assert first.estimates == second.estimates
    other = small_run(tmp_path / "c", mode, seed=4)
    assert rows(other.path) != rows(first.path)


def test_interrupted_run_resumes_bit_identically(tmp_path, monkeypatch):
    reference = small_run(tmp_path / "reference")
    config = RunConfig(
        system="agent-inference", generations=12, seed=3, checkpoint_every=5, **SMALL
    )
    runner = Runner.create(config, out=tmp_path / "interrupted", progress=False)
    original = runner.method.generation
    calls = {"n": 0}

    def interrupt_at_eight():
        if calls["n"] == 8:
            raise KeyboardInterrupt
        calls["n"] += 1
        return original()

    monkeypatch.setattr(runner.method, "generation", interrupt_at_eight)
    with pytest.raises(turing.UserError, match="interrupted at generation 8"):
        runner.run()
    assert len(rows(tmp_path / "interrupted")) == 8
    resumed = turing.resume(tmp_path / "interrupted", progress=False)
    assert rows(resumed.path) == rows(reference.path)
    assert resumed.estimates == reference.estimates


def test_killed_process_resumes_bit_identically(tmp_path):
    """A real SIGKILL mid-run: the resumed run continues from the last periodic checkpoint."""
    args = [
        "agent-inference",
        "--generations",
        "40",
        "--seed",
        "5",
        "--models",
        "20",
        "--interrogators",
        "20",
        "--checkpoint-every",
        "4",
        "--quiet",
        "--threads",
        "1",
    ]
    cli = [sys.executable, "-m", "turing.cli", "run"]
    subprocess.run(
        [*cli, *args, "--out", str(tmp_path / "reference")], check=True, capture_output=True
    )

    out = tmp_path / "killed"
    process = subprocess.Popen(
        [*cli, *args, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if (out / "metrics.csv").exists() and len(rows(out)) >= 10:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 10 <= len(rows(out)) < 40, "the run must be killed mid-way"
    done = subprocess.run([*cli, "--resume", str(out), "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert rows(out) == rows(tmp_path / "reference")


def test_resume_of_a_finished_run_changes_nothing(tmp_path):
    result = small_run(tmp_path / "run", generations=3)
    before = {p: p.stat().st_mtime_ns for p in result.path.rglob("*") if p.is_file()}
    again = turing.resume(result.path, progress=False)
    assert again.estimates == result.estimates
    after = {p: p.stat().st_mtime_ns for p in result.path.rglob("*") if p.is_file()}
    assert before == after


def test_a_run_being_written_is_refused_to_a_second_writer(tmp_path):
    """Two processes never write one run folder: a second `--resume` of a run another
    process is writing is one line, exit code 2, and changes nothing."""
    config = RunConfig(
        system="agent-inference", generations=3, models=4, interrogators=4, steps=10, c2st_trials=0
    )
    runner = Runner.create(config, tmp_path / "run", progress=False)
    before = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()}
    second = subprocess.run(
        [sys.executable, "-m", "turing.cli", "run", "--resume", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 2
    assert "being written by another process" in second.stderr
    assert "Traceback" not in second.stderr and len(second.stderr.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()} == before
    runner.run()  # the lock is released when the run finishes
    assert len(turing.resume(tmp_path / "run", progress=False).history["generation"]) == 3


def test_run_folder_holds_what_the_design_promises(tmp_path):
    result = small_run(tmp_path / "run", generations=6)
    folder = result.path
    for name in (
        "config.json",
        "metrics.csv",
        "result.json",
        "populations.npz",
        "episodes/final.npz",
        "plots/parameters.png",
        "plots/fitness.png",
    ):
        assert (folder / name).is_file(), name
    assert list((folder / "checkpoints").glob("gen-*.npz"))
    data = json.loads((folder / "result.json").read_text())
    for key in (
        "system",
        "mode",
        "seed",
        "generations",
        "true_params",
        "estimates",
        "abs_error",
        "wall_seconds",
        "versions",
    ):
        assert key in data, key
    for key in ("best", "top10_median", "last50_median"):
        assert set(data["estimates"][key]) == {"a", "b", "delta", "p"}
        for name, value in data["estimates"][key].items():
            assert data["abs_error"][key][name] == pytest.approx(
                abs(value - data["true_params"][name])
            )
    metrics = rows(folder)
    assert len(metrics) == 6 and [int(r["generation"]) for r in metrics] == list(range(6))
    with (folder / "metrics.csv").open() as handle:
        header = next(csv.reader(handle))
    assert any("seconds" in column for column in header)
    # No pickles anywhere: every NPZ loads with allow_pickle=False.
    for path in folder.rglob("*.npz"):
        np.load(path, allow_pickle=False)
    # The estimates follow from the stored history.
    best = {n: float(metrics[-1][f"best_{n}"]) for n in "a b delta p".split()}
    assert data["estimates"]["best"] == pytest.approx(best)
    last = np.array([[float(r[f"best_{n}"]) for n in "a b delta p".split()] for r in metrics])
    assert list(data["estimates"]["last50_median"].values()) == pytest.approx(
        np.median(last, axis=0).tolist()
    )


def test_result_loads_again_from_its_folder(tmp_path):
    result = small_run(tmp_path / "run", generations=4, true_params={"a": 0.6})
    loaded = turing.load(result.path)
    assert loaded.estimates == result.estimates
    assert loaded.true_params["a"] == 0.6
    assert loaded.history["generation"].tolist() == [0, 1, 2, 3]
    assert "a" in loaded.table() and "top-10 median" in loaded.table()
    assert all(p.exists() for p in loaded.plot())


def test_out_folder_holding_the_same_unfinished_run_is_continued(tmp_path):
    config = RunConfig(system="agent-inference", generations=6, seed=1, checkpoint_every=2, **SMALL)
    runner = Runner.create(config, out=tmp_path / "run", progress=False)
    assert runner.generation == 0
    runner.lock.release()  # its process ends without running
    again = Runner.create(config, out=tmp_path / "run", progress=False)
    assert again.generation == 0 and not again.run_dir.is_finished()
    again.run()
    assert Runner.create(config, out=tmp_path / "run", progress=False).run_dir.is_finished()


@pytest.mark.parametrize("backend", ["native", "eager"])
def test_evaluator_judgements_match_single_trial_simulation(backend):
    """With a deterministic agent (no noise, p in {0, 1}) the batched all-vs-all evaluator
    and a per-trial Gymnasium loop must give every judgement identically."""
    system = AgentInference(noise_std=0.0)
    rng = np.random.default_rng(0)
    models = np.array(
        [[0.8, 0.2, 0.3, 1.0], [0.3, 0.9, 0.1, 0.0], [0.8, 0.2, 0.3, 0.0], [0.5, 0.5, 0.5, 1.0]]
    )
    genuine = np.array([0.8, 0.2, 0.3, 1.0])
    shape = interrogator_shape(system, "interrogate")
    weights = torch.as_tensor(rng.normal(0, 2, size=(3, shape.n_weights)), dtype=torch.float32)
    evaluator = Evaluator(
        system, "interrogate", torch.tensor(genuine), steps=20, chunk_size=6, backend=backend
    )
    assert evaluator.backend == backend
    judgements = evaluator.evaluate(
        torch.as_tensor(models.T, dtype=torch.float32), weights, stream_key(0, "simulation", 0)
    )

    def single(params, interrogator):
        env = SystemEnv(system, params=list(params), steps=20)
        net = InterrogatorPopulation(shape, weights[interrogator : interrogator + 1]).trials(
            torch.zeros(1, dtype=torch.long)
        )
        obs, _ = env.reset(seed=0)
        hidden = net.initial_state()
        for t in range(20):
            hidden, out = net.step(hidden, torch.as_tensor(obs).reshape(-1, 1))
            if t < 19:
                obs, *_ = env.step(out[1:, 0].numpy())
        return bool(out[0, 0] >= 0.5)

    for i in range(3):
        for j in range(4):
            assert judgements.genuine[i, j].item() == single(genuine, i)
            assert judgements.model[i, j].item() == single(models[j], i)
    fitness = judgements.interrogator_fitness
    expected = (judgements.genuine.sum(1) + (~judgements.model).sum(1)) / 8
    assert torch.allclose(fitness, expected.double())


# A system that overrides its parent's step must be simulated with that step, whatever the
# backend: "auto" is what a run of it gets.
SUBCLASS_BACKENDS = ["auto", "eager"]


@pytest.mark.parametrize("backend", SUBCLASS_BACKENDS)
def test_models_that_produce_nan_are_judged_counterfeit_and_counted(backend):
    class Fragile(AgentInference):
        name = "fragile-agent"

        def step(self, state, params, action, noise):
            state, obs = super().step(state, params, action, noise)
            return state, torch.where(params[0] > 0.5, torch.nan, obs)

    system = Fragile()
    shape = interrogator_shape(system, "passive")
    evaluator = Evaluator(
        system, "passive", torch.tensor([0.2, 0.2, 0.3, 0.2]), steps=15, backend=backend
    )
    weights = torch.zeros(4, shape.n_weights)  # judges everything "genuine" (o = 0.5)
    models = torch.tensor([[0.9, 0.2, 0.3, 0.2], [0.1, 0.2, 0.3, 0.2]]).T
    judgements = evaluator.evaluate(models, weights, stream_key(0, "simulation", 0))
    assert judgements.model_failed.tolist() == [True, False]
    assert judgements.model[:, 0].logical_not().all() and judgements.model[:, 1].all()
    assert judgements.genuine.all()


@pytest.mark.parametrize("backend", SUBCLASS_BACKENDS)
def test_genuine_system_producing_nan_is_an_error(backend):
    class Broken(AgentInference):
        name = "broken-agent"

        def step(self, state, params, action, noise):
            state, obs = super().step(state, params, action, noise)
            return state, obs * torch.nan

    evaluator = Evaluator(
        Broken(), "passive", torch.tensor([0.2, 0.2, 0.3, 0.2]), steps=5, backend=backend
    )
    with pytest.raises(turing.SystemContractError, match=r"broken-agent.*genuine"):
        evaluator.evaluate(torch.rand(4, 2), torch.zeros(2, 41), stream_key(0, "simulation", 0))


@pytest.mark.parametrize("backend", SUBCLASS_BACKENDS)
def test_wrong_shapes_from_a_system_are_reported(backend):
    class Flat(AgentInference):
        name = "flat-agent"

        def step(self, state, params, action, noise):
            state, obs = super().step(state, params, action, noise)
            return state, obs[0]

    evaluator = Evaluator(
        Flat(), "interrogate", torch.tensor([0.2, 0.2, 0.3, 0.2]), steps=5, backend=backend
    )
    with pytest.raises(turing.SystemContractError, match=r"flat-agent: step returned shape"):
        evaluator.evaluate(torch.rand(4, 2), torch.zeros(2, 47), stream_key(0, "simulation", 0))


def test_native_kernel_judges_models_that_produce_nan_counterfeit():
    # a = nan: the calm agent's speed a L is not finite from the first step on.
    evaluator = Evaluator(
        AgentInference(), "passive", torch.tensor([0.2, 0.2, 0.3, 0.2]), steps=15, backend="native"
    )
    weights = torch.zeros(4, interrogator_shape(evaluator.system, "passive").n_weights)
    models = torch.tensor([[torch.nan, 0.2, 0.3, 0.2], [0.1, 0.2, 0.3, 0.2]]).T
    judgements = evaluator.evaluate(models, weights, stream_key(0, "simulation", 0))
    assert judgements.model_failed.tolist() == [True, False]
    assert judgements.model[:, 0].logical_not().all() and judgements.model[:, 1].all()
    assert judgements.genuine.all()


def test_chunking_bounds_the_batch_without_changing_the_experiment():
    system = AgentInference()
    genuine = torch.tensor([0.8, 0.2, 0.3, 0.2])
    evaluator = Evaluator(system, "interrogate", genuine, steps=10, chunk_size=70, backend="eager")
    seen = []
    reset = system.reset

    def spy(params, noise, *args, **kwargs):
        seen.append(params.shape[1])
        return reset(params, noise, *args, **kwargs)

    system.reset = spy
    models, weights = torch.rand(4, 15), torch.randn(6, 47)
    key = stream_key(0, "simulation", 0)
    judgements = evaluator.evaluate(models, weights, key)
    # 180 trials in chunks of 70 rounded up to whole blocks of 64 (128, then 52 padded to 64).
    assert seen == [128, 64]
    assert judgements.genuine.shape == (6, 15) and judgements.model.shape == (6, 15)
    # The same trials in one batch: the same judgements (each trial's numbers come from its
    # own stream, whatever chunk it is simulated in).
    seen.clear()
    whole = Evaluator(system, "interrogate", genuine, steps=10, backend="eager")
    alone = whole.evaluate(models, weights, key)
    assert seen == [192]  # 180 trials, padded to whole blocks
    assert torch.equal(alone.genuine, judgements.genuine)
    assert torch.equal(alone.model, judgements.model)
    assert torch.equal(alone.model_output, judgements.model_output)
