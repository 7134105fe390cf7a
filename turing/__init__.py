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

# First: the rest imports torch, which takes seconds (see turing.startup).
from turing import startup as _startup  # noqa: F401
from turing.comparisons.comparison import Comparison, compare_methods, summarise_comparison
from turing.contracts.config import RunConfig
from turing.contracts.legacy import LegacySystemWarning
from turing.contracts.presentation import Presentation
from turing.contracts.system import Parameter, System, Truth
from turing.engine import Engine, Noise, simulate
from turing.engine.evaluator import Evaluator, Judgements
from turing.errors import SystemContractError, UserError
from turing.integrations.contract_checks import validate_system
from turing.integrations.plugins import load_plugins, load_system_module
from turing.integrations.registry import (
    get_registration,
    make_system,
    register_system,
    registrations,
    unregister_system,
)
from turing.methods.method import (
    GenerationReport,
    Method,
    get_method,
    method_names,
    register_method,
)
from turing.reports.summary import Summary
from turing.runs.api import learn, load, resume
from turing.runs.result import Result
from turing.version import VERSION

# Registrations: the methods (in the order `turing list` shows the modes), the built-in
# systems, and turing/TuringTest-v0. None of these modules imports this package's root.
# isort: off
from turing import methods as _methods  # noqa: F401  (every run mode)
from turing import envs as _envs  # noqa: F401  (the built-in systems)
from turing.integrations import turing_test_env as _turing_test_env  # noqa: F401
# isort: on

__version__ = VERSION


__all__ = [
    "Comparison",
    "Engine",
    "Evaluator",
    "GenerationReport",
    "Judgements",
    "LegacySystemWarning",
    "Method",
    "Noise",
    "Parameter",
    "Presentation",
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

# Installed plugins register their systems now, Gymnasium ids included, so that
# `import turing; gymnasium.make("turing/TheirSystem-v0")` works before any system is looked
# up. Last: a plugin imports its names from this package. A plugin that fails is one
# warning line and skipped.
load_plugins()
