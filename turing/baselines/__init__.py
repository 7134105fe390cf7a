"""Baselines that Turing Learning is compared with, registered as run modes.

- ``metric``: the paper's ES on the models alone, minimising the mean squared error to the
  genuine system's outputs under identical inputs (:mod:`turing.baselines.metric`);
- ``gan`` and ``gan-interrogate``: adversarial variational optimization with a recurrent
  discriminator trained by gradients, passive or choosing the system's input
  (:mod:`turing.baselines.gan`);
- ``sbi``: neural posterior estimation with the ``sbi`` package (optional extra
  ``turing-learning[sbi]``, imported only when the mode runs; :mod:`turing.baselines.sbi`).

Each uses only the System contract, so it runs on every registered system.
"""

from turing.baselines.gan import AdversarialVariational
from turing.baselines.metric import MetricES
from turing.baselines.sbi import NeuralPosterior

__all__ = ["AdversarialVariational", "MetricES", "NeuralPosterior"]
