"""turing-learning: Turing Learning, metric-free system identification.

Models of a system coevolve with interrogators that interact with the system and with the
models and try to tell them apart (Gross, Gu, Li, Gauci, "Generalizing GANs: A Turing
Perspective", NIPS 2017).

Public API::

    import turing
    result = turing.learn("agent-inference", generations=100, seed=1)
    print(result.table())

Systems are defined by subclassing :class:`System` and calling :func:`register_system`;
importing ``turing`` registers the built-in ones (``turing list`` shows them).
"""

from turing.errors import SystemContractError, UserError
from turing.system import Parameter, System, Truth
from turing.registry import get_registration, make_system, register_system, registrations
from turing.config import RunConfig
from turing.method import GenerationReport, Method, get_method, method_names, register_method
from turing import coevolution as _coevolution  # noqa: F401  (registers the coevolution modes)
from turing.evaluator import Evaluator, Judgements
from turing.result import Result
from turing.api import learn, load, resume

from turing import envs as _envs  # noqa: F401,E402  (registers the built-in systems)

__version__ = "0.1.0"

__all__ = [
    "Evaluator",
    "GenerationReport",
    "Judgements",
    "Method",
    "Parameter",
    "Result",
    "RunConfig",
    "System",
    "SystemContractError",
    "Truth",
    "UserError",
    "get_method",
    "get_registration",
    "learn",
    "load",
    "make_system",
    "method_names",
    "register_method",
    "register_system",
    "registrations",
    "resume",
]
