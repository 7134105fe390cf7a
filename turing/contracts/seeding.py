"""Random streams derived from one root seed.

Every source of randomness in a run is an explicit generator obtained here by name
("models", "interrogators", "simulation", ...) from the run's root seed, so that a run is
fully determined by its seed and configuration, and so that streams do not shift when
another part of the code draws more or fewer numbers. Generator states are serialisable
(JSON for numpy, uint8 arrays for torch) for checkpoints.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import torch


def _seed_sequence(root_seed: int, name: str) -> np.random.SeedSequence:
    # crc32 is stable across processes and Python versions (unlike hash()).
    return np.random.SeedSequence(entropy=int(root_seed), spawn_key=(zlib.crc32(name.encode()),))


def numpy_generator(root_seed: int, name: str) -> np.random.Generator:
    """A numpy generator for the stream ``name`` of the run seeded with ``root_seed``."""
    return np.random.Generator(np.random.PCG64(_seed_sequence(root_seed, name)))


def torch_seed(root_seed: int, name: str) -> int:
    """A 63-bit integer seed for the torch stream ``name``."""
    return int(
        _seed_sequence(root_seed, name).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)
    )


def torch_generator(
    root_seed: int, name: str, device: str | torch.device = "cpu"
) -> torch.Generator:
    """A torch generator on ``device`` for the stream ``name``."""
    generator = torch.Generator(device=torch.device(device))
    generator.manual_seed(torch_seed(root_seed, name))
    return generator


def numpy_state(generator: np.random.Generator) -> dict[str, Any]:
    """The JSON-serialisable state of a numpy generator."""
    return generator.bit_generator.state


def set_numpy_state(generator: np.random.Generator, state: dict[str, Any]) -> None:
    generator.bit_generator.state = state


def torch_state(generator: torch.Generator) -> np.ndarray:
    """The state of a torch generator as a uint8 array (storable in NPZ)."""
    return generator.get_state().cpu().numpy().copy()


def set_torch_state(generator: torch.Generator, state: np.ndarray) -> None:
    generator.set_state(torch.from_numpy(np.asarray(state, dtype=np.uint8).copy()))
