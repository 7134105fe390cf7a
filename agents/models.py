"""Model genomes: bounded parameter vectors of a system's simulator.

A model population is a ``[models, D]`` array of parameter values within the bounds of the
system's parameters; :meth:`ModelPopulation.simulation` turns it into the simulator's
``[S, models]`` rows.
"""

from __future__ import annotations

import numpy as np
import torch

from turing.contracts.system import System


class ModelPopulation:
    """The models of one generation.

    Args:
        system: the system whose parameters the genomes hold.
        genes: ``[models, D]`` parameter values.
    """

    def __init__(self, system: System, genes: np.ndarray):
        genes = np.asarray(genes, dtype=np.float64)
        if genes.ndim != 2 or genes.shape[1] != len(system.parameters):
            raise ValueError(
                f"{system.name}: model genes must be [models, {len(system.parameters)}], "
                f"got {genes.shape}"
            )
        if np.any(genes < system.lows) or np.any(genes > system.highs):
            raise ValueError(f"{system.name}: model genes outside the parameter bounds")
        self.system = system
        self.genes = genes

    def __len__(self) -> int:
        return self.genes.shape[0]

    def simulation(
        self, device: torch.device | str, dtype=torch.float32, truth=None
    ) -> torch.Tensor:
        """Simulation parameters ``[S, models]`` (``truth``: the run's genuine system, see
        :meth:`turing.System.simulation_params`)."""
        params = torch.as_tensor(self.genes.T, dtype=dtype, device=device)
        return self.system.simulation_params(params, truth)

    def as_dicts(self) -> list[dict[str, float]]:
        names = self.system.parameter_names
        return [dict(zip(names, map(float, row), strict=True)) for row in self.genes]
