"""Registering a system of your own: the public API, contract checks, and the commands it
gets for free (a system defined entirely in this file)."""

from __future__ import annotations

import functools
import json

import gymnasium
import numpy as np
import pytest
import torch

import turing
from turing import Parameter, System, SystemContractError, UserError, register_system
from turing.cli import SUBCOMMANDS, main
from turing.engine import stream_key
from turing.engine.evaluator import Evaluator, interrogator_shape


class Echo(System):
    """A stimulus-response unit: it answers input u with gain * u + N(0, 0.05^2); above
    gain 1.5 its simulator breaks down (NaN), to test how failures are handled."""

    name = "test-echo"
    env_id = "turing-tests/Echo-v0"
    description = "test system: response = gain * input"
    parameters = (Parameter("gain", 0.0, 2.0, 1.2, description="response per unit input"),)
    observation_size = 1
    action_size = 1
    default_steps = 10
    default_generations = 3

    def _observe(self, value: torch.Tensor, params: torch.Tensor, noise) -> torch.Tensor:
        z = noise.normal(1)[0].to(value.dtype)
        value = torch.where(params[0] > 1.5, torch.nan, value)
        return (value + 0.05 * z).unsqueeze(0)

    def reset(self, params, noise):
        # The state is the step count (SystemEnv takes a None state for "not reset").
        return 0, self._observe(params.new_zeros(params.shape[-1]), params, noise)

    def step(self, state, params, action, noise):
        return state + 1, self._observe(params[0] * action[0], params, noise)

    def passive_action(self, t, observation, params, inputs):
        return torch.full_like(observation, 0.5)


@pytest.fixture(autouse=True)
def echo():
    register_system(Echo)
    yield Echo
    for name in ("test-echo", "test-echo-variant", "test-broken"):
        if name in turing.integrations.registry._REGISTRY:
            turing.unregister_system(name)


def run_cli(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def subclass(**attributes):
    """A copy of Echo with some attributes changed (a new class, hence a new definition)."""
    attributes.setdefault("name", "test-broken")
    attributes.setdefault("env_id", "turing-tests/Broken-v0")
    return type("Broken", (Echo,), attributes)


# ----------------------------------------------------------------------------- registering
def test_a_system_defined_in_a_test_file_registers_with_turing_and_gymnasium():
    assert turing.get_registration("test-echo").env_id == "turing-tests/Echo-v0"
    assert turing.registrations()["test-echo"].source == __name__
    env = gymnasium.make("turing-tests/Echo-v0")
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(np.array([0.5], np.float32))
    assert obs.shape == (1,) and abs(obs[0] - 0.6) < 0.3
    vector = gymnasium.make_vec(
        "turing-tests/Echo-v0", num_envs=8, vectorization_mode="vector_entry_point"
    )
    assert vector.reset(seed=0)[0].shape == (8, 1)


def test_it_appears_in_turing_list(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    assert "test-echo  (turing-tests/Echo-v0)" in out
    assert "response per unit input" in out
    code, out, _ = run_cli(capsys, "list", "--json")
    entry = next(s for s in json.loads(out)["systems"] if s["name"] == "test-echo")
    assert entry["parameters"][0] == {
        "name": "gain",
        "low": 0.0,
        "high": 2.0,
        "unit": "",
        "genuine": 1.2,
        "description": "response per unit input",
    }


def test_turing_run_end_to_end(capsys, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = run_cli(
        capsys,
        "run",
        "test-echo",
        "--models",
        "6",
        "--interrogators",
        "6",
        "--seed",
        "3",
        "--quiet",
        "--c2st-trials",
        "0",
        "--out",
        str(out),
    )
    assert code == 0, err
    result = turing.load(out)
    assert result.system == "test-echo" and result.config.generations == 3
    assert set(result.best) == {"gain"}
    assert (out / "plots" / "parameters.png").exists()
    assert "gain" in stdout


@pytest.mark.skipif(
    "compare" not in SUBCOMMANDS, reason="`turing compare` is not part of this version yet"
)
def test_turing_compare_end_to_end(capsys, tmp_path):
    code, stdout, err = run_cli(
        capsys,
        "compare",
        "test-echo",
        "--methods",
        "interrogate,passive",
        "--seeds",
        "2",
        "--generations",
        "2",
        "--models",
        "4",
        "--interrogators",
        "4",
        "--workers",
        "1",
        "--c2st-trials",
        "0",
        "--quiet",
        "--no-plots",
        "--out",
        str(tmp_path / "cmp"),
    )
    assert code == 0, err
    assert "interrogate" in stdout and "passive" in stdout


def test_reregistering_the_same_definition_is_allowed():
    register_system(Echo)  # a module imported twice, a notebook cell run again
    assert turing.get_registration("test-echo").factory is Echo


def test_a_variant_registers_under_its_own_name():
    register_system(
        functools.partial(Echo), name="test-echo-variant", env_id="turing-tests/EchoVariant-v0"
    )
    system = turing.make_system("test-echo-variant")
    assert system.name == "test-echo-variant" and system.env_id == "turing-tests/EchoVariant-v0"
    assert (
        gymnasium.make("turing-tests/EchoVariant-v0").unwrapped.system.name == "test-echo-variant"
    )


def test_unregister_removes_it_from_turing_and_gymnasium():
    turing.unregister_system("test-echo")
    assert "test-echo" not in turing.registrations()
    assert "turing-tests/Echo-v0" not in gymnasium.registry
    with pytest.raises(UserError, match=r"unknown system 'test-echo'.*--system-module"):
        turing.make_system("test-echo")


# ----------------------------------------------------------------------------- contract
def test_a_name_already_registered_is_refused():
    with pytest.raises(UserError, match=r"'test-echo'.*already registered by .*test_registry"):
        register_system(subclass(name="test-echo"))
    with pytest.raises(UserError, match="already registered"):
        register_system(subclass(name="agent-inference", env_id="turing-tests/Other-v0"))
    with pytest.raises(UserError, match="belongs to system 'test-echo'"):
        register_system(subclass(env_id="turing-tests/Echo-v0"))
    assert turing.get_registration("test-echo").factory is Echo


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            {"parameters": (Parameter("gain", 0.0, 2.0, 2.5),)},
            "genuine value 2.5 is outside its bounds",
        ),
        ({"parameters": (Parameter("gain", 1.0, 1.0, 1.0),)}, "low < high"),
        ({"parameters": (Parameter("gain", 0.0, float("inf"), 1.0),)}, "finite"),
        ({"parameters": (Parameter("a b", 0.0, 1.0, 0.5),)}, "must be an identifier"),
        (
            {"parameters": (Parameter("g", 0.0, 1.0, 0.5), Parameter("g", 0.0, 1.0, 0.5))},
            "used twice",
        ),
        ({"parameters": ()}, "non-empty tuple"),
        ({"observation_size": 0}, "observation_size must be a whole number >= 1"),
        ({"action_size": 1.5}, "action_size must be a whole number"),
        ({"action_low": 1.0, "action_high": 0.0}, "action_low < action_high"),
        ({"action_high": float("inf")}, "finite"),
        ({"action_names": ("x", "y")}, "action_names has 2 names but action_size is 1"),
        ({"default_steps": 0}, "default_steps"),
        ({"name": "My System"}, "lower case"),
        ({"env_id": "turing/TuringTest-v0"}, "reserved"),
        ({"env_id": "not an id"}, "not a Gymnasium id"),
        ({"__init__": lambda self, gain: None}, "its constructor needs gain"),
    ],
)
def test_contract_violations_are_named_at_registration(attributes, message):
    with pytest.raises(SystemContractError, match=message) as error:
        register_system(subclass(**attributes))
    assert "\n" not in str(error.value)
    assert "test-broken" not in turing.integrations.registry._REGISTRY


def test_missing_methods_and_foreign_classes_are_refused():
    class Half(System):
        name = "test-broken"
        env_id = "turing-tests/Broken-v0"
        parameters = Echo.parameters
        observation_size = action_size = 1

        def reset(self, params, noise):
            return None, params

    with pytest.raises(SystemContractError, match="does not implement passive_action, step"):
        register_system(Half)
    with pytest.raises(SystemContractError, match=r"not a subclass of turing\.System"):
        register_system(
            type("Plain", (), {"name": "test-broken", "env_id": "turing-tests/Broken-v0"})
        )
    with pytest.raises(SystemContractError, match="needs a `name` and an `env_id`"):
        register_system(subclass(name=None))


def test_attributes_set_in_init_are_checked_when_the_system_is_built():
    class Late(Echo):
        name = "test-broken"
        env_id = "turing-tests/Broken-v0"
        parameters = property(lambda self: (Parameter("gain", 0.0, 1.0, 3.0),))

    register_system(Late)
    with pytest.raises(SystemContractError, match="test-broken: parameter gain: genuine value 3"):
        turing.make_system("test-broken")


def test_bad_options_name_the_valid_ones():
    with pytest.raises(UserError, match=r"bad system options.*its options are noise_std, hold"):
        turing.make_system("agent-inference", noise=0.1)


def test_genuine_values_outside_their_bounds_are_refused():
    with pytest.raises(UserError, match=r"test-echo: parameter gain=3\.0 is outside its bounds"):
        turing.learn("test-echo", true_params={"gain": 3.0}, out="x", progress=False)


@pytest.mark.parametrize(
    ("method", "replacement", "message"),
    [
        (
            "step",
            lambda self, s, p, a, g: (None, p[0] * a[0]),
            r"step returned shape \(\d+,\), expected \(1, \d+\)",
        ),
        (
            "reset",
            lambda self, p, g: p.new_zeros(1, p.shape[-1]),
            "reset returned Tensor, expected a \\(state, observation\\) pair",
        ),
        (
            "step",
            lambda self, s, p, a, g: (None, torch.zeros(1, p.shape[-1], dtype=torch.long)),
            "step returned a torch.int64 tensor",
        ),
        (
            "passive_action",
            lambda self, t, o, p, i: o[0],
            r"passive_action returned shape \(\d+,\)",
        ),
    ],
)
def test_wrong_outputs_are_named_on_the_first_step(method, replacement, message):
    broken = turing.make_system("test-echo")
    setattr(broken, method, replacement.__get__(broken))
    mode = "passive" if method == "passive_action" else "interrogate"
    evaluator = Evaluator(broken, mode, torch.tensor([1.2]), steps=5)
    weights = torch.zeros(1, interrogator_shape(broken, mode).n_weights)
    with pytest.raises(SystemContractError, match=f"test-echo: {message}"):
        evaluator.evaluate(torch.tensor([[1.0, 0.5]]), weights, stream_key(0, "simulation", 0))


# ----------------------------------------------------------------------------- NaN outputs
def test_a_model_producing_nan_is_judged_counterfeit_and_counted():
    system = turing.make_system("test-echo")
    evaluator = Evaluator(system, "interrogate", torch.tensor([1.2]), steps=5)
    shape = interrogator_shape(system, "interrogate")
    # Interrogators whose output is always "genuine" (a large output bias): only a failure
    # can make them judge a model counterfeit.
    weights = torch.zeros(3, shape.n_weights)
    weights[:, -(shape.hidden + 1) * shape.outputs] = 10.0
    models = torch.tensor([[1.0, 1.9, 0.3]])  # the second one breaks down
    judgements = evaluator.evaluate(models, weights, stream_key(0, "simulation", 0))
    assert judgements.model_failed.tolist() == [False, True, False]
    assert judgements.model[:, 1].tolist() == [False, False, False]
    assert judgements.model[:, [0, 2]].all()
    assert judgements.model_fitness.tolist() == [1.0, 0.0, 1.0]
    assert judgements.genuine.all()


def test_a_run_with_failing_models_completes_and_reports_them(tmp_path):
    result = turing.learn(
        "test-echo",
        generations=2,
        models=10,
        interrogators=4,
        seed=0,
        init="uniform",
        c2st_trials=0,
        out=tmp_path / "run",
        progress=False,
    )
    failed = result.history["failed_models"]
    assert failed.sum() > 0  # uniform genes in [0, 2]: about a quarter lie above 1.5
    assert np.isfinite(result.history["model_fitness_mean"]).all()


def test_the_genuine_system_producing_nan_is_an_error(tmp_path):
    with pytest.raises(
        SystemContractError, match="test-echo: the genuine system produced a non-finite"
    ):
        turing.learn(
            "test-echo",
            true_params={"gain": 1.8},
            generations=1,
            models=4,
            interrogators=4,
            c2st_trials=0,
            out=tmp_path / "run",
            progress=False,
        )
