"""turing-learning: Turing Learning, metric-free system identification.

Models of a system coevolve with interrogators that interact with the system and with the
models and try to tell them apart (Gross, Gu, Li, Gauci, "Generalizing GANs: A Turing
Perspective", NIPS 2017).

Public API::

    import turing
    result = turing.learn("agent-inference", generations=100, seed=1)
    print(result.table())

Systems are defined by subclassing :class:`System` and calling :func:`register_system`;
importing ``turing`` registers the built-in ones (``turing list`` shows them), installed
packages add theirs through the ``turing.systems`` entry-point group, and
:func:`load_system_module` imports a module of your own (``docs/adding-a-system.md``).
``gymnasium.make("turing/TuringTest-v0", system=..., models=...)`` turns any registered
system into a Turing test for interrogators trained by reinforcement learning.
"""

from turing.api import learn, load, resume
from turing.compare import Comparison, compare_methods, summarise_comparison
from turing.config import RunConfig
from turing.engine import Engine, Noise, simulate
from turing.errors import SystemContractError, UserError
from turing.evaluator import Evaluator, Judgements
from turing.method import GenerationReport, Method, get_method, method_names, register_method
from turing.plugins import load_plugins, load_system_module
from turing.registry import (
    get_registration,
    make_system,
    register_system,
    registrations,
    unregister_system,
    validate_system,
)
from turing.result import Result
from turing.summary import Summary
from turing.system import Parameter, System, Truth

# Registrations last (these modules import the public names above from `turing`), in the
# order `turing list` shows the modes.
# isort: off
from turing import coevolution as _coevolution  # noqa: F401  (interrogate, passive, passive-io)
from turing import baselines as _baselines  # noqa: F401  (metric, gan, gan-interrogate, sbi)
from turing import envs as _envs  # noqa: F401  (the built-in systems)
from turing import turing_test as _turing_test  # noqa: F401  (turing/TuringTest-v0)
# isort: on

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "Engine",
    "Evaluator",
    "GenerationReport",
    "Judgements",
    "Method",
    "Noise",
    "Parameter",
    "Result",
    "RunConfig",
    "Summary",
    "System",
    "SystemContractError",
    "Truth",
    "UserError",
    "compare_methods",
    "get_method",
    "get_registration",
    "learn",
    "load",
    "load_plugins",
    "load_system_module",
    "make_system",
    "method_names",
    "register_method",
    "register_system",
    "registrations",
    "resume",
    "simulate",
    "summarise_comparison",
    "unregister_system",
    "validate_system",
]
