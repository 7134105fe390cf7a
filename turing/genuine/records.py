"""Genuine trials kept in the run folder (``genuine/``), for sources that cannot be replayed.

An environment (someone else's simulator, a robot) cannot be asked for the same trial
twice, and may be slow or costly. So every genuine trial it produced is written to the run
folder as soon as its batch is done, one NPZ per batch: ``genuine/g000012-r00.npz`` is
batch 0 of generation 12 (``finish-r00.npz``: the trials run after the last generation,
for the C2ST and the episodes). Each holds, trial axis first:

* ``observations`` ``[trials, steps, obs]``, ``actions`` ``[trials, steps - 1, act]``
  (``actions[k, t]`` followed observation ``t``), ``outputs`` ``[trials, steps, outputs]``
  (the judge's outputs after each observation, where a judge read the trials);
* ``stream`` ``[trials]`` and ``key`` ``[2, 1 or trials]``: the trials' random streams;
* ``reset_seed`` ``[trials]``: the seed each environment was reset with.

A run resumed from a checkpoint recomputes the generations after it; their genuine trials
are served from these files (the judge reads the recorded observations again), so no
trial is run twice and, whatever the environment, the resumed run ends as the uninterrupted
one would have. ``turing replay`` shows them beside the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from turing.engine import Noise, Trials
from turing.errors import UserError
from turing.genuine.data_source import replay
from turing.genuine.source import reset_seeds
from turing.runs.files import atomic_write_npz, load_npz

FOLDER = "genuine"


class GenuineRecords:
    """The ``genuine/`` folder of a run.

    Args:
        run_path: the run folder.
    """

    def __init__(self, run_path: str | Path):
        self.folder = Path(run_path) / FOLDER

    def path(self, label: str) -> Path:
        return self.folder / f"{label}.npz"

    def save(self, label: str, noise: Noise, trials: Trials) -> Path:
        """Writes the recorded ``trials`` (their streams ``noise``) as ``label``."""
        if self.folder.is_symlink() or (self.folder.exists() and not self.folder.is_dir()):
            raise UserError(f"{self.folder} is not a folder of this run; the run folder is damaged")
        self.folder.mkdir(exist_ok=True)
        arrays = {
            "observations": trials.observations.permute(2, 0, 1).cpu().numpy(),
            "actions": trials.actions.permute(2, 0, 1).cpu().numpy(),
            "stream": noise.stream.cpu().numpy(),
            "key": noise.key.cpu().numpy(),
            "reset_seed": reset_seeds(noise),
        }
        if trials.outputs is not None:
            arrays["outputs"] = trials.outputs.permute(2, 0, 1).cpu().numpy()
        path = self.path(label)
        atomic_write_npz(path, arrays)
        return path

    def load(self, label: str) -> dict[str, np.ndarray] | None:
        path = self.path(label)
        if not path.exists():
            return None
        return load_npz(
            path, "the run's recorded genuine trials are damaged; delete the file to run them again"
        )

    def serve(self, label, system, steps, noise, judge, inputs, record) -> Trials | None:
        """The trials recorded as ``label`` read again by ``judge`` under ``inputs``, if
        they are the trials asked for (same streams); ``None`` when none were recorded."""
        arrays = self.load(label)
        if arrays is None:
            return None
        stream = np.asarray(arrays.get("stream"))
        key = np.asarray(arrays.get("key"))
        if (
            stream.shape != tuple(noise.stream.shape)
            or not np.array_equal(stream, noise.stream.cpu().numpy())
            or not np.array_equal(key, noise.key.cpu().numpy())
        ):
            raise UserError(
                f"{self.path(label)} records other trials than this run asks for; the run "
                "folder was changed: restore it, or start the run again"
            )
        observations = torch.from_numpy(np.ascontiguousarray(arrays["observations"]))
        observations = observations.permute(1, 2, 0).contiguous().to(noise.device)
        if observations.shape[0] != steps:
            raise UserError(
                f"{self.path(label)} holds trials of another length; the run folder is damaged"
            )
        trials = replay(system, steps, observations, noise, judge, inputs, record=True)
        return trials if record else Trials(trials.judgement, trials.failed)

    def labels(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.npz"))
