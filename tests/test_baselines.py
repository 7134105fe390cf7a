"""The baselines (metric, gan, gan-interrogate, sbi): end to end on every registered system,
bit-identical resume, budgets, identical inputs for the metric, learning signals, bias
of the metric on case study 1, and bad input."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import turing
from turing.contracts.config import RunConfig
from turing.engine import Engine, stream_key
from turing.envs import AgentInference, RangeSensorId
from turing.methods.method import get_method
from turing.methods.networks import Elman, initialise
from turing.methods.rollout import replayed_rollout
from turing.runs.runner import Runner

TINY = {"models": 4, "interrogators": 4, "steps": 20, "c2st_trials": 0}
TINY_SBI = {"simulations": 40, "trials": 2, "max_epochs": 3, "samples": 200}
HAS_SBI = importlib.util.find_spec("sbi") is not None
SYSTEMS = [
    s
    for s in ("agent-inference", "sensor-self-id", "range-sensor-id")
    if s in turing.registrations()
]


def rows(path: Path) -> list[dict[str, str]]:
    """metrics.csv rows without wall-time columns."""
    with (path / "metrics.csv").open() as handle:
        return [{k: v for k, v in r.items() if "seconds" not in k} for r in csv.DictReader(handle)]


def tiny_run(out, mode, system="agent-inference", generations=2, **settings):
    options = TINY_SBI if mode == "sbi" else {}
    return turing.learn(
        system,
        mode=mode,
        generations=generations,
        seed=5,
        out=out,
        progress=False,
        **{**TINY, "method_options": options, **settings},
    )


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("mode", ["metric", "gan", "gan-interrogate"])
def test_every_baseline_runs_end_to_end(tmp_path, mode, system):
    result = tiny_run(tmp_path / "run", mode, system)
    registered = turing.make_system(system)
    assert result.mode == mode
    assert set(result.estimates) == {"best", "top10_median", "last50_median"}
    for estimate in result.estimates.values():
        for parameter in registered.parameters:
            assert parameter.low <= estimate[parameter.name] <= parameter.high
    assert len(rows(result.path)) == 2
    assert result.data["simulated"]["trials"] > 0
    assert (result.path / "populations.npz").is_file()


@pytest.mark.skipif(not HAS_SBI, reason='needs the sbi extra: pip install "turing-learning[sbi]"')
@pytest.mark.parametrize("system", SYSTEMS)
def test_sbi_runs_end_to_end(tmp_path, system):
    result = tiny_run(tmp_path / "run", "sbi", system, generations=1)
    assert (
        result.data["simulated"]["trials"]
        == TINY_SBI["simulations"] * TINY_SBI["trials"] + TINY_SBI["trials"]
    )
    assert np.isfinite(float(rows(result.path)[0]["validation_loss"]))


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("metric", {}),
        ("gan", {}),
        ("gan-interrogate", {}),
        ("gan-interrogate", {"cell": "rnn"}),
    ],
)
def test_same_seed_same_metrics_and_interrupted_run_resumes_bit_identically(
    tmp_path, monkeypatch, mode, options
):
    settings = {**TINY, "checkpoint_every": 2, "method_options": options}
    reference = tiny_run(tmp_path / "reference", mode, generations=5, **settings)
    again = tiny_run(tmp_path / "again", mode, generations=5, **settings)
    assert rows(again.path) == rows(reference.path)

    config = RunConfig(system="agent-inference", mode=mode, generations=5, seed=5, **settings)
    runner = Runner.create(config, out=tmp_path / "interrupted", progress=False)
    original = runner.method.generation
    calls = {"n": 0}

    def interrupt_at_three():
        if calls["n"] == 3:
            raise KeyboardInterrupt
        calls["n"] += 1
        return original()

    monkeypatch.setattr(runner.method, "generation", interrupt_at_three)
    with pytest.raises(turing.UserError, match="interrupted at generation 3"):
        runner.run()
    resumed = turing.resume(tmp_path / "interrupted", progress=False)
    assert rows(resumed.path) == rows(reference.path)
    assert resumed.estimates == reference.estimates


@pytest.mark.skipif(not HAS_SBI, reason='needs the sbi extra: pip install "turing-learning[sbi]"')
def test_sbi_resumes_bit_identically(tmp_path, monkeypatch):
    settings = {**TINY, "checkpoint_every": 1, "method_options": TINY_SBI}
    reference = tiny_run(tmp_path / "reference", "sbi", generations=2, **settings)
    config = RunConfig(system="agent-inference", mode="sbi", generations=2, seed=5, **settings)
    runner = Runner.create(config, out=tmp_path / "interrupted", progress=False)
    original = runner.method.generation
    calls = {"n": 0}

    def interrupt_at_one():
        if calls["n"] == 1:
            raise KeyboardInterrupt
        calls["n"] += 1
        return original()

    monkeypatch.setattr(runner.method, "generation", interrupt_at_one)
    with pytest.raises(turing.UserError, match="interrupted at generation 1"):
        runner.run()
    resumed = turing.resume(tmp_path / "interrupted", progress=False)
    assert rows(resumed.path) == rows(reference.path)


def test_budgets_match_a_coevolution_generation():
    """metric and gan simulate what a coevolution generation does; --budget sets generations."""
    system = turing.make_system("agent-inference")
    config = RunConfig(system="agent-inference", models=100, interrogators=100)
    coevolution = get_method("interrogate").trials_per_generation(config, system)
    assert coevolution == 20_000
    assert get_method("metric").trials_per_generation(config, system) == coevolution
    assert get_method("gan").trials_per_generation(config, system) == coevolution
    prepared, _ = Runner.resolve(
        RunConfig(system="agent-inference", mode="gan", budget=5 * 20_000 * 100 + 7)
    )
    assert prepared.generations == 5
    prepared, _ = Runner.resolve(RunConfig(system="agent-inference", mode="metric", budget=1))
    assert prepared.generations == 1


def test_simulated_trials_are_recorded(tmp_path):
    result = tiny_run(tmp_path / "metric", "metric", generations=3)
    # 3 generations x 2 trials x 4 models x 4 pairs
    assert result.data["simulated"] == {"trials": 96, "steps": 96 * 20}
    gan = tiny_run(tmp_path / "gan", "gan", generations=3)
    # batch = models x interrogators / ... = 16 trials per class, one update, plus the
    # genuine trials that fix the input scaling.
    assert gan.data["simulated"]["trials"] == 3 * 32 + 200


def test_metric_compares_outputs_under_identical_inputs_and_starts():
    """A noiseless, deterministic agent: the genuine model's twin trial equals the genuine
    trial exactly (same schedule), so its squared error is 0; another model's is not."""
    system = AgentInference(noise_std=0.0)
    truth = system.make_truth({"p": 1.0})
    genuine = torch.tensor(truth.simulation, dtype=torch.float32).reshape(-1, 1).expand(-1, 50)
    engine = Engine(system, 30, "cpu", "eager")
    key = stream_key(0, "test")
    same, twin = replayed_rollout(engine, genuine, genuine.clone(), key)
    assert torch.equal(same.inputs, twin.inputs)
    assert torch.equal(same.observations, twin.observations)
    other = genuine.clone()
    other[0] = 0.5
    g, m = replayed_rollout(engine, genuine, other, key)
    assert torch.equal(g.inputs, m.inputs)
    assert (m.observations - g.observations).abs().max() > 0.1
    # A system that starts at random: the model twin starts where its genuine trial did
    # (noise-free readings of the same pose are equal at step 0), and the pairs differ.
    robot = RangeSensorId(noise_std=0.0)
    params = torch.tensor([[2.0], [1.0]]).expand(-1, 50)
    g, m = replayed_rollout(Engine(robot, 10, "cpu", "eager"), params, params.clone(), key)
    assert torch.equal(g.inputs, m.inputs)
    assert torch.equal(g.observations[0], m.observations[0])
    assert g.observations[0].unique().numel() > 10
    # Chunks of a generation: pairs simulated from first_pair on are those pairs exactly.
    g_tail, m_tail = replayed_rollout(
        Engine(robot, 10, "cpu", "eager"), params[:, 20:], params[:, 20:].clone(), key, 20
    )
    assert torch.equal(g_tail.observations, g.observations[..., 20:])
    assert torch.equal(m_tail.observations, m.observations[..., 20:])


@pytest.mark.parametrize("mode", ["gan", pytest.param("gan-interrogate", marks=pytest.mark.slow)])
def test_gan_discriminator_loss_falls(tmp_path, mode):
    """With the proposal held at its broad start (``lr_proposal=0``), the discriminator
    learns to tell its trials from genuine ones: its loss falls from chance (log 2)."""
    result = turing.learn(
        "agent-inference",
        mode=mode,
        generations=8,
        seed=2,
        out=tmp_path / "gan",
        progress=False,
        models=10,
        interrogators=10,
        steps=50,
        c2st_trials=0,
        method_options={"batch": 100, "updates": 4, "lr_discriminator": 0.01, "lr_proposal": 0.0},
    )
    loss = result.history["discriminator_loss"]
    assert loss[0] > 0.65
    assert loss[-2:].mean() < loss[0] - 0.06
    assert result.history["discriminator_accuracy"][-2:].mean() > 0.62


def test_elman_is_torch_rnn_with_a_hand_written_backward():
    """The discriminator's Elman network computes ``torch.nn.RNN``'s function (its two
    biases summed) and the same gradients; stepping it computes the same states bit for
    bit, and handing those states back gives bit-identical gradients."""
    generator = torch.Generator().manual_seed(3)
    elman = initialise(Elman(3, 6, device="meta"), generator, "cpu").double()
    reference = torch.nn.RNN(3, 6).double()
    with torch.no_grad():
        reference.weight_ih_l0.copy_(elman.weight_ih)
        reference.weight_hh_l0.copy_(elman.weight_hh)
        reference.bias_ih_l0.copy_(elman.bias)
        reference.bias_hh_l0.zero_()
    inputs = torch.randn(12, 5, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(12, 5, 6, generator=generator, dtype=torch.float64)

    def gradients(module, states):
        (states * weights).sum().backward()
        found = [inputs.grad.clone()] + [p.grad.clone() for p in module.parameters()]
        inputs.grad = None
        module.zero_grad()
        return found

    states = elman(inputs)
    expected = reference(inputs)[0]
    torch.testing.assert_close(states, expected)
    ours, theirs = gradients(elman, states), gradients(reference, expected)
    for a, b in zip(ours[:3], theirs[:3], strict=True):  # inputs, weight_ih, weight_hh
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(ours[3], theirs[3])  # bias = bias_ih (+ bias_hh)
    assert torch.autograd.gradcheck(
        lambda x: elman(x), (inputs[:4, :2].detach().clone().requires_grad_(),)
    )

    with torch.no_grad():
        hidden, stepped = None, []
        for t in range(12):
            hidden = elman.step(inputs[t], hidden)
            stepped.append(hidden)
    stepped = torch.stack(stepped)
    assert torch.equal(stepped, states.detach())
    reused = elman(inputs, stepped)
    for a, b in zip(gradients(elman, reused), ours, strict=True):
        assert torch.equal(a, b)


def test_method_options_are_checked_before_anything_is_written(tmp_path):
    with pytest.raises(turing.UserError, match="gan has no option 'learning_rate'"):
        tiny_run(tmp_path / "bad", "gan", method_options={"learning_rate": 0.1})
    with pytest.raises(turing.UserError, match="batch"):
        tiny_run(tmp_path / "bad", "gan", method_options={"batch": 0})
    with pytest.raises(turing.UserError, match="cell='lstm' must be one of rnn, gru"):
        tiny_run(tmp_path / "bad", "gan-interrogate", method_options={"cell": "lstm"})
    with pytest.raises(turing.UserError, match="takes no method options"):
        tiny_run(tmp_path / "bad", "interrogate", method_options={"batch": 10})
    with pytest.raises(turing.UserError, match="not both"):
        Runner.resolve(RunConfig(system="agent-inference", mode="gan", generations=3, budget=10**9))
    assert not (tmp_path / "bad").exists()


def test_a_system_without_finite_inputs_cannot_be_interrogated_by_gradients():
    class Unbounded(AgentInference):
        action_high = float("inf")

    with pytest.raises(turing.UserError, match="finite action bounds"):
        get_method("gan-interrogate").check_supported(Unbounded(), "gan-interrogate")


def test_missing_sbi_extra_is_one_line_naming_the_install(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sbi" else real(name, *a)
    )
    with pytest.raises(turing.UserError, match=r'pip install "turing-learning\[sbi\]"') as caught:
        tiny_run(tmp_path / "sbi", "sbi")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "sbi").exists()

    monkeypatch.setitem(sys.modules, "sbi", None)
    from turing.methods.sbi import require_sbi

    with pytest.raises(turing.UserError, match=r'pip install "turing-learning\[sbi\]"'):
        require_sbi()


def test_cli_missing_extra_exits_2_without_traceback(tmp_path):
    """The CLI path, in a fresh process where importing sbi fails."""
    script = (
        "import sys, importlib.util as u; real = u.find_spec; "
        "u.find_spec = lambda n, *a: None if n == 'sbi' else real(n, *a); "
        "from turing.cli import main; "
        f"sys.exit(main(['run', 'agent-inference', '--mode', 'sbi', '--out', r'{tmp_path / 'x'}', '--quiet']))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 2
    assert 'pip install "turing-learning[sbi]"' in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_runs_a_baseline_with_method_options_and_budget(tmp_path):
    from turing.cli import main

    out = tmp_path / "cli"
    code = main(
        [
            "run",
            "agent-inference",
            "--mode",
            "gan-interrogate",
            "--budget",
            "25000",
            "--models",
            "10",
            "--interrogators",
            "10",
            "--steps",
            "20",
            "--c2st-trials",
            "20",
            "--method-options",
            "batch=50,hidden=8",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    result = json.loads((out / "result.json").read_text())
    # A generation is 2 updates of 2 x 50 trials (the 2 x 10 x 10 trials of a coevolution
    # generation) of 20 steps: 25,000 trial-steps buy 6 generations.
    assert result["generations"] == 6
    assert result["simulated"]["steps"] == 6 * 200 * 20 + 200 * 20
    assert 0.0 <= result["c2st"] <= 1.0


@pytest.mark.slow
def test_metric_is_biased_on_p_where_interrogation_is_not(tmp_path):
    """Case study 1 at a reduced budget over three seeds: the metric baseline's estimate
    of p (top-10 median) is systematically off, interrogation's is close."""
    errors = {"metric": [], "interrogate": []}
    for seed in (1, 2, 3):
        for mode in errors:
            result = turing.learn(
                "agent-inference",
                mode=mode,
                generations=150,
                seed=seed,
                out=tmp_path / f"{mode}-{seed}",
                progress=False,
                threads=1,
                c2st_trials=0,
            )
            errors[mode].append(result.abs_error["top10_median"]["p"])
    assert np.median(errors["metric"]) > 0.08
    assert np.median(errors["interrogate"]) < np.median(errors["metric"]) / 2


@pytest.mark.parametrize("mode", ["metric", "gan"])
def test_baselines_simulate_with_the_backend_the_run_resolved(tmp_path, monkeypatch, mode):
    """A baseline simulates with the backend the run chose (it once ran eagerly whatever
    the run said: 25x slower on case study 2)."""
    used = []
    run = Engine.run

    def spy(self, *args, **kwargs):
        used.append(self.backend)
        return run(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "run", spy)
    tiny_run(tmp_path / "native", mode, generations=1, backend="native")
    assert used and set(used) == {"native"}
    used.clear()
    tiny_run(tmp_path / "eager", mode, generations=1, backend="eager")
    assert used and set(used) == {"eager"}
