"""Genuine trials recorded earlier (``turing run SYSTEM --genuine-data FILE.npz``).

The file format (NPZ, no object arrays; it is never unpickled):

* ``observations``: float32 ``[trials, steps, observation_size]``: every observation of
  each trial, observation 0 after the reset;
* ``actions``: float32 ``[trials, steps - 1, action_size]``: ``actions[k, t]`` is the input
  applied after observation ``t`` of trial ``k``, which produced observation ``t + 1``.

The order is the engine's (:mod:`turing.engine.trials`): read observation 0, apply input 0,
read observation 1, ... A recorded trial cannot be interrogated (its inputs were chosen
when it was recorded), so recorded data serve the ``passive``, ``passive-io`` and
``metric`` modes (and ``gan``, ``sbi``): every model trial replays the inputs of a recorded
trial, and in coevolution a pair's genuine trial is that recorded trial. Which recorded
trial a trial takes is a pure function of its key and input stream
(:func:`record_index`), so a run is reproducible and its pairs stay paired.

:class:`ReplaySystem` plays recorded observations on the engine's reference loop whatever
input it is given; it also serves a resumed run the genuine trials it recorded before it
was interrupted (:mod:`turing.genuine.records`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from turing.contracts.system import System
from turing.engine import PASSIVE, Engine, Fixed, Noise, Trials
from turing.errors import UserError
from turing.genuine.adapter import SourceSystem
from turing.genuine.source import GenuineSource

Tensor = torch.Tensor

RECORD_PHASE = 0xDA7A
"""Philox phase of the words that choose a trial's recorded trial."""
MAX_BYTES = 4 << 30
"""The most a recorded file may hold once inflated (checked before anything is inflated)."""
KEYS = ("observations", "actions")


class ReplaySystem(SourceSystem):
    """Recorded observations ``[T, O, n]`` played as a system: ``reset`` gives observation
    0 and each ``step`` the next, whatever the input."""

    def __init__(self, system: System, observations: Tensor):
        super().__init__(system, observations.shape[-1] or 1)
        self.observations = observations

    def reset(self, params, noise, start=None):
        return 0, self.observations[0]

    def step(self, state, params, action, noise):
        return state + 1, self.observations[state + 1]


def replay(system: System, steps: int, observations: Tensor, noise: Noise, judge, inputs,
           record: bool, observe=None) -> Trials:  # fmt: skip
    """Recorded trials (observations ``[T, O, n]``) read by ``judge`` under ``inputs``."""
    replayed = ReplaySystem(system, observations)
    engine = Engine(replayed, steps, observations.device, "eager", chunk_size=max(1, noise.n),
                    align=False)  # fmt: skip
    params = torch.zeros(1, noise.n, device=observations.device)
    return engine.run(params, noise, judge, inputs, None, record, observe)


def record_index(noise: Noise, trials: int) -> Tensor:
    """The recorded trial each trial takes, ``[n]`` int64 in ``[0, trials)``: drawn from the
    trial's key and input stream, so the genuine and the model trial of a pair (which share
    their input stream) take the same one."""
    choosing = Noise(noise.key, noise.input_stream, phase=RECORD_PHASE)
    return choosing.words(1)[0] % int(trials)


class DataSource(GenuineSource):
    """Genuine trials from a recorded file (see the module docstring).

    Args:
        system: the run's model system.
        observations: ``[trials, steps, O]`` float32.
        actions: ``[trials, steps - 1, A]`` float32.
        name: the file's name, for messages.
    """

    kind = "data"
    live = False
    replayable = True
    merges = False

    def __init__(self, system: System, observations: np.ndarray, actions: np.ndarray, name: str):
        self.system = system
        self.observations = torch.from_numpy(np.ascontiguousarray(observations))
        self.actions = torch.from_numpy(np.ascontiguousarray(actions))
        self.name = name
        self.trials = self.observations.shape[0]
        self.steps = self.observations.shape[1]
        self.used: set[int] = set()

    def inputs_of(self, noise: Noise) -> Fixed:
        """The recorded inputs of the trials' recorded trials, ``[steps - 1, A, n]`` (what a
        model trial replays)."""
        index = record_index(noise, self.trials).cpu()
        return Fixed(self.actions[index].permute(1, 2, 0).contiguous().to(noise.device))

    def run(self, noise, judge=None, inputs=PASSIVE, start=None, record=False, observe=None):
        if inputs is not PASSIVE:
            raise ValueError("recorded trials are judged under their own inputs (PASSIVE)")
        index = record_index(noise, self.trials).cpu()
        self.used.update(int(i) for i in index.unique())
        observations = self.observations[index].permute(1, 2, 0).contiguous().to(noise.device)
        return replay(self.system, self.steps, observations, noise, judge, self.inputs_of(noise),
                      record, observe)  # fmt: skip

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": self.name, "trials": self.trials}


def recorded_steps(path: str | Path) -> int | None:
    """The trial length of a recorded file, read from its header alone (``None`` when the
    file cannot tell: :func:`load_recorded` then says what is wrong with it). Only a regular
    file is opened: a FIFO would block the run until someone wrote to it."""
    if not Path(path).is_file():
        return None
    try:
        with zipfile.ZipFile(path) as archive, archive.open("observations.npy") as handle:
            version = np.lib.format.read_magic(handle)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, _ = read(handle)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    return int(shape[1]) if len(shape) == 3 and shape[1] >= 1 else None


def not_a_file(path: Path) -> UserError:
    """The error for a ``--genuine-data`` path that names no regular file."""
    if path.is_dir():
        problem = " is a folder"
    elif path.exists():
        problem = " is not a regular file (a FIFO, device or socket)"
    else:
        problem = ": no such file"
    return UserError(f"--genuine-data {path}{problem}; give the path of an NPZ of recorded trials")


def load_recorded(
    path: str | Path, system: System, steps: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``(observations, actions)`` of a recorded file, checked against ``system``.

    Raises:
        UserError: for a file that is missing, not an NPZ, holds object arrays (never
            unpickled), lacks a key, has arrays of the wrong dtype, rank or sizes, non-finite
            values, no trials, would inflate beyond :data:`MAX_BYTES`, or whose trial length
            differs from ``steps``.
    """
    path = Path(path)
    where = f"--genuine-data {path}"
    if not path.is_file():
        raise not_a_file(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(
            f"{where} is not an NPZ file ({exc}); save recorded trials with numpy.savez"
        ) from None
    inflated = sum(info.file_size for info in members.values())
    if inflated > MAX_BYTES:
        raise UserError(
            f"{where} would inflate to {inflated / 2**30:.1f} GiB (more than "
            f"{MAX_BYTES / 2**30:.0f} GiB); refused before reading it"
        )
    missing = [k for k in KEYS if f"{k}.npy" not in members]
    if missing:
        raise UserError(
            f"{where} lacks {', '.join(missing)} (it holds {', '.join(sorted(m.removesuffix('.npy') for m in members)) or 'nothing'}); "
            "give observations [trials, steps, obs] and actions [trials, steps - 1, act] (float32)"
        )
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as data:
            for key in KEYS:
                arrays[key] = data[key]
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise UserError(
                f"{where} holds object arrays, which are never loaded; save plain float32 arrays"
            ) from None
        raise UserError(f"{where} could not be read ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"{where} could not be read ({exc}); the file is damaged") from None
    observations, actions = arrays["observations"], arrays["actions"]
    for key, value, size, what in (
        ("observations", observations, system.observation_size, "observation"),
        ("actions", actions, system.action_size, "action"),
    ):
        if value.dtype != np.float32:
            raise UserError(
                f"{where}: {key} is {value.dtype}, not float32; convert it with .astype(numpy.float32)"
            )
        if value.ndim != 3 or value.shape[2] != size:
            shape = "[trials, steps, obs]" if key == "observations" else "[trials, steps - 1, act]"
            raise UserError(
                f"{where}: {key} has shape {value.shape}; expected {shape} with {size} "
                f"{what} values per step for {system.name}"
            )
        if not np.all(np.isfinite(value)):
            raise UserError(f"{where}: {key} holds non-finite values; record finite trials only")
    trials, length = observations.shape[:2]
    if trials < 1 or length < 1:
        raise UserError(f"{where} holds no trials")
    if actions.shape[:2] != (trials, length - 1):
        raise UserError(
            f"{where}: actions have shape {actions.shape[:2]} (trials, steps - 1) but "
            f"observations {(trials, length)}: a trial of T observations has T - 1 inputs"
        )
    if steps is not None and length != steps:
        raise UserError(
            f"{where}: its trials have {length} observations, the run {steps}; give --steps "
            f"{length} (or leave --steps out)"
        )
    return observations, actions
