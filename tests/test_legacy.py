"""Systems written for turing-learning 0.1 (tests/systems/legacy_range_sensor.py, from that
release's tutorial) run through the compatibility path in every mode, backend and entry
point, with one warning line; half-ported ones are refused in one line; the version is
told the same everywhere."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
import warnings
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from kill_resume import CLI

import turing
from turing.agents import ElmanShape
from turing.contracts.legacy import ADAPTED, LegacySystemWarning
from turing.engine import PASSIVE, Judge, Noise, stream_key
from turing.methods.method import method_names

ROOT = Path(__file__).resolve().parents[1]
LEGACY = ROOT / "tests" / "systems" / "legacy_range_sensor.py"
TINY = dict(models=6, interrogators=6, steps=20, c2st_trials=0, threads=1, progress=False)
TINY_FLAGS = ["--models", "6", "--interrogators", "6", "--steps", "20", "--c2st-trials", "0"]


@pytest.fixture(scope="module", autouse=True)
def legacy_module():
    # Loading a module lists it for child processes; other tests' children need not import it.
    inherited = os.environ.get("TURING_SYSTEM_MODULES")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LegacySystemWarning)
        yield turing.load_system_module(LEGACY)
    if inherited is None:
        os.environ.pop("TURING_SYSTEM_MODULES", None)
    else:
        os.environ["TURING_SYSTEM_MODULES"] = inherited


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # As a user starts it: not a child of this process (which loaded the legacy module).
    environment = {k: v for k, v in os.environ.items() if k != "TURING_SYSTEM_MODULES"}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300, env=environment
    )


def _rows(folder: Path) -> list[list[str]]:
    lines = (folder / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if "seconds" not in name]
    return [[line.split(",")[i] for i in keep] for line in lines]


# ----------------------------------------------------------------------------- the adapter
def test_a_class_with_01_signatures_is_adapted_and_warned_about_once():
    with pytest.warns(LegacySystemWarning, match="depend on how trials are batched") as caught:

        class Old(turing.System):
            name = "old-inline"
            env_id = "turing/OldInline-v0"
            parameters = (turing.Parameter("a", 0.0, 1.0, 0.5),)
            observation_size = 1
            action_size = 1

            def reset(self, params, generator):
                return None, params + torch.rand(1, params.shape[-1], generator=generator)

            def step(self, state, params, action, generator):
                return None, params + torch.rand(1, params.shape[-1], generator=generator)

            def passive_action(self, t, observation, params, inputs):
                return observation.clamp(0, 1)

    assert len(caught) == 1 and Path(caught[0].filename).name == "test_legacy.py"
    assert "reset, step" in str(caught[0].message) and "0.1" in str(caught[0].message)
    assert getattr(Old, ADAPTED) == ("reset", "step")
    # Its 0.1 code still works as 0.1 code did (a generator passed through) ...
    _, first = Old().reset(torch.zeros(1, 3), torch.Generator().manual_seed(0))
    assert first.shape == (1, 3)
    # ... and the engine runs it, deterministically.
    params, noise = torch.full((1, 128), 0.5), Noise.for_trials(stream_key(1, "t"), 128)
    a = turing.simulate(Old(), params, noise, steps=5, inputs=PASSIVE, record=True)
    b = turing.simulate(Old(), params, noise, steps=5, inputs=PASSIVE, record=True)
    assert torch.equal(a.observations, b.observations) and not a.failed.any()


def test_starts_and_passive_inputs_are_drawn_per_trial():
    # So that metric's model trials start where their genuine twins did, and the two trials
    # of a pair get the same passive inputs, whatever batch they are in.
    system = turing.make_system("legacy-jittery-range-sensor")
    noise = Noise.for_trials(stream_key(3, "starts"), 10)
    part = noise.select(torch.arange(5, 10))
    for draw in (
        lambda n: system.sample_starts(n.n, n.starts(), "cpu"),
        lambda n: system.passive_inputs(n.n, 20, n.inputs(), "cpu"),
    ):
        whole, tail = draw(noise), draw(part)
        assert torch.equal(whole[..., 5:], tail)
        assert not torch.equal(whole[..., 0], whole[..., 1])
    twins = Noise(noise.key, torch.arange(10), start_stream=torch.arange(10) // 2)
    starts = system.sample_starts(10, twins.starts(), "cpu")
    assert torch.equal(starts[:, 0::2], starts[:, 1::2])


def test_the_compiled_backend_simulates_what_the_eager_one_does():
    # The adapted methods run eagerly inside the compiled step (a graph break).
    system = turing.make_system("legacy-range-sensor")
    n = 64
    params = torch.tensor([[2.0], [1.0]]).expand(2, n).contiguous()
    noise = Noise.for_trials(stream_key(5, "backends"), n)
    weights = torch.randn(
        3, ElmanShape(1, 3, 5).n_weights, generator=torch.Generator().manual_seed(1)
    )
    judge = Judge(ElmanShape(1, 3, 5), weights * 2, torch.arange(n) % 3)
    eager, compiled = (
        turing.simulate(system, params, noise, steps=8, judge=judge, backend=backend)
        for backend in ("eager", "compiled")
    )
    assert torch.allclose(eager.judgement, compiled.judgement, atol=1e-5)
    assert not compiled.failed.any()


# ----------------------------------------------------------------------------- runs
@pytest.mark.parametrize("mode", [m for m in method_names() if m != "sbi"])  # sbi: minutes
def test_every_mode_runs_it(mode, tmp_path):
    result = turing.learn(
        "legacy-jittery-range-sensor", mode=mode, generations=2, out=tmp_path / mode, **TINY
    )
    assert set(result.estimates["best"]) == {"k", "b"}
    assert all(np.isfinite(v) for v in result.estimates["best"].values())


@pytest.mark.parametrize("mode", ["interrogate", "passive"])
def test_a_run_is_determined_by_its_seed_and_resumes_bit_identically(mode, tmp_path):
    from turing.contracts.config import RunConfig
    from turing.runs.runner import Runner

    options = dict(system="legacy-jittery-range-sensor", mode=mode, generations=4, seed=2)
    sizes = {k: v for k, v in TINY.items() if k != "progress"}
    turing.learn(out=tmp_path / "whole", progress=False, **options, **sizes)
    turing.learn(out=tmp_path / "again", progress=False, **options, **sizes)
    runner = Runner.create(
        RunConfig(**options, checkpoint_every=2, **sizes), out=tmp_path / "cut", progress=False
    )
    try:
        while runner.generation < 2:
            runner.advance(runner.method.generation(), 0.0)
        runner._save_checkpoint()
    finally:
        runner.release()
    turing.resume(tmp_path / "cut", progress=False)
    assert _rows(tmp_path / "whole") == _rows(tmp_path / "again") == _rows(tmp_path / "cut")


# ----------------------------------------------------------------------------- Gymnasium
def test_gymnasium_views_run_it():
    env = gymnasium.make("turing/LegacyRangeSensor-v0", params={"k": 3.0})
    check_env(env.unwrapped, skip_render_check=True)
    first, _ = env.reset(seed=4)
    second, _ = env.reset(seed=4)
    assert np.array_equal(first, second)
    env.step(np.array([0.5, 0.5], np.float32))
    vector = gymnasium.make_vec(
        "turing/LegacyRangeSensor-v0", num_envs=8, vectorization_mode="vector_entry_point"
    )
    observations, _ = vector.reset(seed=1)
    assert observations.shape == (8, 1)
    test = gymnasium.make("turing/TuringTest-v0", system="legacy-range-sensor", models=[{"k": 1}])
    test.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, info = test.step(test.action_space.sample())
    assert "judged_genuine" in info


# ----------------------------------------------------------------------------- commands
def test_the_commands_run_it_with_one_warning_line(tmp_path):
    module = ["--system-module", str(LEGACY)]
    run = ["run", "legacy-range-sensor", *module, "--generations", "2", *TINY_FLAGS]
    done = _cli(*run, "--threads", "1", "--quiet", "--out", "r", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # One line per class of 0.1 the module defines (the file has two), nothing else.
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2, done.stderr
    for line, name in zip(
        lines, ("legacy-range-sensor", "legacy-jittery-range-sensor"), strict=True
    ):
        assert line.startswith("turing run: warning: legacy_range_sensor.py:") and name in line
        assert "turing-learning 0.1" in line and "Migrating" in line
    for command in (
        ["replay", "r", *module, "--figure", "replay.png"],
        [
            "compare",
            "legacy-range-sensor",
            *module,
            "--methods",
            "interrogate,passive",
            "--seeds",
            "1",
            "--generations",
            "2",
            *TINY_FLAGS,
            "--workers",
            "1",
            "--quiet",
            "--no-plots",
            "--out",
            "cmp",
        ],
    ):
        done = _cli(*command, cwd=tmp_path)
        assert done.returncode == 0, (command[0], done.stderr)
        assert "Traceback" not in done.stderr
    assert (tmp_path / "replay.png").is_file() and (tmp_path / "cmp" / "summary.csv").is_file()


HALF_PORTED = {
    # reset and step ported, passive_inputs still 0.1's
    "half_signature": "def passive_inputs(self, n, steps, generator, device):\n"
    "        return 4.0 + 4.0 * torch.rand(1, n, generator=generator, device=device)\n",
    # all signatures 0.2's, one body still 0.1's
    "half_body": "def passive_inputs(self, n, steps, noise, device):\n"
    "        return 4.0 + 4.0 * torch.rand(1, n, generator=noise, device=device)\n",
}


@pytest.mark.parametrize("kind", list(HALF_PORTED))
def test_a_half_ported_system_is_one_line_and_exit_2(kind, tmp_path):
    name = kind.replace("_", "-")
    (tmp_path / f"{kind}.py").write_text(
        "import torch\n\nfrom turing import register_system\nfrom turing.envs.range_sensor "
        "import RangeSensorId\n\n\nclass Half(RangeSensorId):\n"
        f"    name = '{name}'\n    env_id = 'turing/{kind.title().replace('_', '')}-v0'\n\n"
        f"    {HALF_PORTED[kind]}\n\nregister_system(Half)\n"
    )
    done = _cli(
        "run", name, "--system-module", f"{kind}.py", "--mode", "passive", "--generations", "2",
        *TINY_FLAGS, "--quiet", "--out", "r", cwd=tmp_path,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "passive_inputs" in lines[0] and "Migrating" in lines[0]
    assert not (tmp_path / "r").exists()


def test_a_half_ported_system_through_gymnasium_is_a_contract_error():
    from turing.envs.range_sensor import RangeSensorId

    class HalfReset(RangeSensorId):
        name = "half-reset"
        env_id = "turing/HalfReset-v0"

        def reset(self, params, noise, start=None):
            return None, torch.rand(1, params.shape[-1], generator=noise)

    turing.register_system(HalfReset)
    try:
        env = gymnasium.make("turing/HalfReset-v0")
        with pytest.raises(turing.SystemContractError, match="reset passes its noise"):
            env.reset(seed=0)
    finally:
        turing.unregister_system("half-reset")


# ----------------------------------------------------------------------------- versions
def test_every_place_tells_the_same_version(tmp_path):
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert turing.__version__ == declared
    done = _cli("--version", cwd=tmp_path)
    assert done.stdout.strip() == f"turing-learning {declared}"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{declared}]" in changelog and "## [0.1.0]" in changelog
    # Messages that name the release of the Noise API name this one (or an earlier one).
    from turing.contracts.legacy import hint_text

    named = re.findall(r"turing-learning (\d+\.\d+)", hint_text("s", "reset"))
    assert named and all(tuple(map(int, v.split("."))) <= (0, 2) for v in named)
    assert tuple(map(int, declared.split(".")[:2])) >= (0, 2)
