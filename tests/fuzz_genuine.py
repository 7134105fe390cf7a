"""Bad genuine sources (``--genuine``, ``--genuine-kwargs``, ``--genuine-data``,
``--genuine-trials``...): each is refused in one line, exit status 2, before the run folder
exists, as the other cases of ``tests/fuzz.py``.

Recorded files are written into the case's folder (a copy of the empty fixture) before the
command; the snapshot of the workspace then also catches a file that was unpickled: the
object array below, if ever loaded, creates ``UNPICKLED`` beside it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

SYSTEM = "agent-inference"
SIZES = ("--models", "4", "--interrogators", "4", "--steps", "20", "--c2st-trials", "0")
TRIALS, STEPS = 3, 20
"""The recorded files' trials and steps (the run's --steps)."""


class _Trap:
    """Unpickling it creates a file (``open(path, "w")``): a loaded object array shows."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _observations(dtype=np.float32, shape=(TRIALS, STEPS, 1)) -> np.ndarray:
    return np.zeros(shape, dtype)


def _actions(dtype=np.float32, shape=(TRIALS, STEPS - 1, 1)) -> np.ndarray:
    return np.full(shape, 0.5, dtype)


def _recorded(make: Callable[[Path], dict[str, np.ndarray]], name: str = "data.npz"):
    def write(folder: Path) -> None:
        np.savez(folder / name, **make(folder))

    return write


def _text_file(folder: Path) -> None:
    (folder / "data.npz").write_text("observations,actions\n0,0.5\n")


def _folder(folder: Path) -> None:
    (folder / "data.npz").mkdir()


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "data.npz")


def genuine_cases(Case) -> list:
    """The cases, as ``Case`` objects of ``tests/fuzz.py`` (fault class "genuine sources")."""
    fault = "genuine sources"
    run = ("run", SYSTEM, *SIZES, "--generations", "2", "--quiet", "--out", "{new}")
    passive = (*run, "--mode", "passive", "--genuine-data", "{dir}/data.npz")
    found = []
    # Live envs.
    for name, flags in (
        ("an unknown env id (did you mean)", ("--genuine", "Pendulum-v2")),
        ("an env id in a module that does not exist", ("--genuine", "no_such_module_xyz:Env-v0")),
        ("an empty env id", ("--genuine", "")),
        (
            "kwargs the env refuses",
            ("--genuine", "turing/AgentInference-v0", "--genuine-kwargs", "bogus=1"),
        ),
        ("--genuine-kwargs without --genuine", ("--genuine-kwargs", "g=6.3")),
        (
            "--genuine-kwargs not KEY=VALUE",
            ("--genuine", "turing/AgentInference-v0", "--genuine-kwargs", "g"),
        ),
        ("observation space of another shape", ("--genuine", "CartPole-v1")),
        ("action space of another shape", ("--genuine", "turing/RangeSensorId-v0")),
        ("observation space of another size", ("--genuine", "Pendulum-v1")),
        (
            "--genuine and --genuine-data together",
            ("--genuine", "turing/AgentInference-v0", "--genuine-data", "{dir}/data.npz"),
        ),
        (
            "an env with --mode gan-interrogate",
            ("--genuine", "turing/AgentInference-v0", "--mode", "gan-interrogate"),
        ),
        ("--genuine-trials 0", ("--genuine-trials", "0")),
        ("--genuine-trials -1", ("--genuine-trials", "-1")),
        ("--genuine-trials more than the pairs", ("--genuine-trials", "17")),
        (
            "--genuine-workers -1",
            ("--genuine", "turing/AgentInference-v0", "--genuine-workers", "-1"),
        ),
        (
            "--genuine-timeout 0",
            ("--genuine", "turing/AgentInference-v0", "--genuine-timeout", "0"),
        ),
        (
            "--genuine-timeout nan",
            ("--genuine", "turing/AgentInference-v0", "--genuine-timeout", "nan"),
        ),
    ):
        found.append(
            Case(
                f"genuine: {name}",
                fault,
                (*run, *flags),
                "empty",
                _recorded(lambda f: {"observations": _observations(), "actions": _actions()}),
            )
        )

    # Recorded files.
    def both(**changes):
        return _recorded(lambda f: {"observations": _observations(), "actions": _actions(),
                                    **changes})  # fmt: skip

    good = both()
    for name, damage, flags in (
        ("--genuine-data a missing file", None, ()),
        ("--genuine-data a CSV", _text_file, ()),
        ("--genuine-data a folder", _folder, ()),
        ("--genuine-data a FIFO", _fifo, ()),
        ("--genuine-data without actions", _recorded(lambda f: {"observations": _observations()}), ()),
        ("--genuine-data with other key names",
         _recorded(lambda f: {"obs": _observations(), "act": _actions()}), ()),
        ("--genuine-data observations as float64", both(observations=_observations(np.float64)), ()),
        ("--genuine-data actions as int64", both(actions=_actions(np.int64)), ()),
        ("--genuine-data observations as strings", both(observations=np.full((TRIALS, STEPS, 1), "x")), ()),
        ("--genuine-data observations of 2 numbers", both(observations=_observations(shape=(TRIALS, STEPS, 2))), ()),
        ("--genuine-data observations without a trial axis", both(observations=_observations(shape=(STEPS, 1))), ()),
        ("--genuine-data as many actions as observations", both(actions=_actions(shape=(TRIALS, STEPS, 1))), ()),
        ("--genuine-data trials of another length", both(observations=_observations(shape=(TRIALS, 12, 1)),
                                                         actions=_actions(shape=(TRIALS, 11, 1))), ()),
        ("--genuine-data fewer action trials than observation trials", both(actions=_actions(shape=(2, STEPS - 1, 1))), ()),
        ("--genuine-data no trials", both(observations=_observations(shape=(0, STEPS, 1)),
                                          actions=_actions(shape=(0, STEPS - 1, 1))), ()),
        ("--genuine-data NaN observations", both(observations=np.full((TRIALS, STEPS, 1), np.nan, np.float32)), ()),
        ("--genuine-data infinite actions", both(actions=np.full((TRIALS, STEPS - 1, 1), np.inf, np.float32)), ()),
        ("--genuine-data an object array (never unpickled)",
         _recorded(lambda f: {"observations": np.array([_Trap(f / "UNPICKLED")], dtype=object),
                              "actions": _actions()}), ()),
        ("--genuine-data with --mode interrogate", good, ("--mode", "interrogate")),
        ("--genuine-data with --mode gan-interrogate", good, ("--mode", "gan-interrogate")),
        ("--genuine-data with --genuine-trials 0", good, ("--genuine-trials", "0")),
    ):  # fmt: skip
        # A FIFO opened for reading blocks without a writer: such a case runs as a process.
        found.append(Case(f"genuine: {name}", fault, (*passive, *flags), "empty", damage,
                          isolated="FIFO" in name))  # fmt: skip
    # Without --steps the run reads the recorded trials' length from the file's header first.
    unsized = tuple(a for a in passive if a not in ("--steps", "20"))
    found.append(Case("genuine: --genuine-data a FIFO, no --steps", fault, unsized, "empty", _fifo,
                      isolated=True))  # fmt: skip
    return found
