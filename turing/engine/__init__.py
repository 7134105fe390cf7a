"""The trial engine: counter-based random streams and the one trial loop.

:mod:`turing.engine.random` gives every trial its own Philox stream (``Noise``);
:mod:`turing.engine.engine` runs batches of trials (``Engine``, ``simulate``) with a native
kernel, a compiled torch step or the eager reference; :mod:`turing.engine.fused` generates
a system's native kernel from its torch methods, :mod:`turing.engine.native` builds and
runs it on CPU threads and :mod:`turing.engine.fused.cuda` on CUDA;
:mod:`turing.engine.versions` says which earlier run folders continue.
"""

from turing.engine.engine import Engine, simulate
from turing.engine.kernels import native_kernel, resolve_backend
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
from turing.engine.versions import CONTINUED, ENGINE_VERSION

__all__ = [
    "BACKENDS",
    "CONTINUED",
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
