"""Run folders of earlier trial engines: continued where this engine computes exactly what
they did, refused in one line where it does not (turing.engine.versions)."""

from __future__ import annotations

import pytest

import turing
from turing.contracts.config import RunConfig
from turing.engine import CONTINUED, ENGINE_VERSION
from turing.runs.setup import check_engine


def config(system: str, backend: str, mode: str = "interrogate") -> RunConfig:
    return RunConfig(system=system, backend=backend, mode=mode, generations=2)


@pytest.mark.parametrize("system", ["agent-inference", "sensor-self-id", "swarm-aggregation"])
def test_native_runs_of_engine_3_continue(system):
    # Engine 4's generated kernels are bit-identical to engine 3's hand-written ones
    # (tests/test_fused.py checks them against engine 3's output).
    check_engine(3, config(system, "native"), turing.make_system(system))


@pytest.mark.parametrize("backend", ["eager", "compiled"])
def test_torch_runs_continue_where_the_torch_simulator_did_not_change(backend):
    for system in ("agent-inference", "range-sensor-id"):
        check_engine(3, config(system, backend), turing.make_system(system))


@pytest.mark.parametrize("system", ["sensor-self-id", "swarm-aggregation"])
@pytest.mark.parametrize("backend", ["eager", "compiled"])
def test_torch_runs_of_the_rerounded_simulators_are_refused_in_one_line(system, backend):
    with pytest.raises(turing.UserError) as caught:
        check_engine(3, config(system, backend), turing.make_system(system))
    message = str(caught.value)
    assert "\n" not in message and "engine 3" in message and "start the run again" in message
    assert system in message and backend in message


def test_native_runs_of_the_calibrated_epuck_of_engine_3_are_refused_in_one_line():
    # Engine 3's calibrated kernel.c differed from the calibrated torch simulator that engine
    # 4 generates its kernel from (11 of 128 trials by up to 1.6e-5 in a check against main).
    from turing.envs.epuck.system import SensorSelfId

    with pytest.raises(turing.UserError) as caught:
        check_engine(3, config("sensor-self-id", "native"), SensorSelfId(calibrate=True))
    message = str(caught.value)
    assert "\n" not in message and "calibrated" in message and "start the run again" in message
    check_engine(4, config("sensor-self-id", "native"), SensorSelfId(calibrate=True))


def test_a_subclass_of_a_rerounded_system_is_refused_too():
    from turing.envs.epuck.system import SensorSelfId

    class Mine(SensorSelfId):
        name = "my-epuck"

    with pytest.raises(turing.UserError, match="engine 3"):
        check_engine(3, config("sensor-self-id", "eager"), Mine())


def test_engine_2_folders_keep_their_own_rule_and_the_new_one():
    # Scaling (engine 3) is the identity for case study 2 in interrogate mode, but its eager
    # simulator changed in engine 4.
    with pytest.raises(turing.UserError, match="engine 2"):
        check_engine(2, config("sensor-self-id", "eager"), turing.make_system("sensor-self-id"))
    check_engine(2, config("sensor-self-id", "native"), turing.make_system("sensor-self-id"))


def test_the_folders_a_version_reads():
    assert ENGINE_VERSION == 4 and CONTINUED == (2, 3)
    with pytest.raises(turing.UserError, match="trial engine 1"):
        RunConfig.from_run_folder({"engine": 1, "system": "agent-inference"})
    for engine in (2, 3, 4):
        data = config("agent-inference", "native").to_json()
        data["engine"] = engine
        assert RunConfig.from_run_folder(data).engine == engine
