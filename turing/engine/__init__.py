"""The trial engine: counter-based random streams and the one trial loop.

:mod:`turing.engine.random` gives every trial its own Philox stream (``Noise``);
:mod:`turing.engine.trials` runs batches of trials (``Engine``, ``simulate``) with a native
kernel, a compiled torch step or the eager reference; :mod:`turing.engine.native` builds
and loads the systems' C kernels.
"""

from turing.engine.engine import Engine, native_kernel, resolve_backend, simulate
from turing.engine.random import Noise, box_muller, philox, stream_key
from turing.engine.trials import (
    BACKENDS,
    JUDGE,
    PASSIVE,
    Fixed,
    Judge,
    Policy,
    Trials,
    default_threads,
)

ENGINE_VERSION = 3
"""Recorded in every run folder: runs of engines that compute other results do not mix
(engine 1, turing-learning 0.1.0, drew from sequential torch generators; engine 2 fed
interrogators unscaled observations). An engine-2 folder is continued where engine 3
computes exactly what engine 2 did (:func:`turing.runs.setup.check_engine`)."""

__all__ = [
    "BACKENDS",
    "ENGINE_VERSION",
    "JUDGE",
    "PASSIVE",
    "Engine",
    "Fixed",
    "Judge",
    "Noise",
    "Policy",
    "Trials",
    "box_muller",
    "default_threads",
    "native_kernel",
    "philox",
    "resolve_backend",
    "simulate",
    "stream_key",
]
