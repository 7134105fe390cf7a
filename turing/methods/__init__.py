"""The methods a run can use to infer a system's parameters, registered as run modes.

- :mod:`turing.methods.method`: the :class:`Method` base class and the registry of modes;
- :mod:`turing.methods.evolution`: the paper's (mu + lambda) self-adaptive evolution
  strategy, built with DEAP, used by both populations; :mod:`.cma` (CMA-ES, an option for
  the models) and :mod:`.strategies` (which of the two a run's models use);
  :mod:`.diagnostics` (the model population's step sizes and spread per generation);
- :mod:`turing.methods.coevolution`: Turing Learning proper (``interrogate``) and the
  GAN-like ``passive`` and ``passive-io`` modes;
- baselines: ``metric`` (:mod:`.metric`, the ES minimising a squared error), ``gan`` and
  ``gan-interrogate`` (:mod:`.gan`, adversarial variational optimisation with the
  discriminator of :mod:`.networks`), ``sbi`` (:mod:`.sbi`, neural posterior estimation;
  optional extra), with their shared pieces: :mod:`.rollout` (recorded trials),
  :mod:`.options` (``--method-options``), :mod:`.state` (torch modules in checkpoints).

Importing this package registers every mode, in the order ``turing list`` shows them.
"""

# isort: off  (registration order is the order `turing list` shows the modes)
from turing.methods.coevolution import Coevolution
from turing.methods.gan import AdversarialVariational
from turing.methods.metric import MetricES
from turing.methods.sbi import NeuralPosterior

# isort: on

__all__ = ["AdversarialVariational", "Coevolution", "MetricES", "NeuralPosterior"]
