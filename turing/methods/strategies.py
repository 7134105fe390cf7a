"""The models' evolution strategy of a run: the paper's self-adaptive ES
(:mod:`turing.methods.evolution`) or CMA-ES (:mod:`turing.methods.cma`), as
``--model-strategy`` chooses. Coevolution and the metric baseline build theirs here."""

from __future__ import annotations

import numpy as np

from turing.contracts.seeding import numpy_generator
from turing.methods.cma import CMAStrategy
from turing.methods.evolution import ESSettings, EvolutionStrategy


def model_strategy(system, config):
    """The ES of a run's models: one gene per parameter within its bounds, step sizes
    starting at ``config.model_sigma_init`` times each parameter's range, drawing from the
    run's ``models`` stream (shared by coevolution and the metric baseline); periodic
    parameters wrap around when ``config.periodic_genes`` is ``wrapped``. With
    ``config.model_strategy`` ``cma``, the CMA-ES of :mod:`turing.methods.cma` instead
    (it always wraps periodic parameters)."""
    widths = system.highs - system.lows
    if config.model_strategy == "cma":
        return CMAStrategy(
            system.lows,
            system.highs,
            ESSettings(size=config.models, sigma_init=config.model_sigma_init, init=config.init),
            numpy_generator(config.seed, "models"),
            periodic=np.array([p.periodic for p in system.parameters]),
        )
    return EvolutionStrategy(
        len(system.parameters),
        system.lows,
        system.highs,
        ESSettings(
            size=config.models,
            sigma_init=tuple(config.model_sigma_init * widths),
            init=config.init,
        ),
        numpy_generator(config.seed, "models"),
        periodic=np.array([p.periodic for p in system.parameters])
        if config.periodic_genes == "wrapped"
        else None,
    )
