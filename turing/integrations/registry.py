"""The registry of systems: CLI names, Gymnasium ids, factories, and contract checks.

:func:`register_system` is the one call that makes a system known both to turing (its CLI
name, used by ``turing run``, ``compare``, ``replay`` and ``plot``) and to Gymnasium (its
``turing/Name-v0`` id, with a single-trial ``entry_point`` and a batched
``vector_entry_point``). The built-in systems in :mod:`turing.envs` register through it
like any plugin; systems of other packages are found through the ``turing.systems``
entry-point group (:mod:`turing.integrations.plugins`), loaded by ``import turing`` and in any
case before the registry is first read (the plugin module registers its loader with
:func:`add_loader`).

What can be checked without running a simulation is checked here, so that a broken system
fails when it is registered or built, with a message naming it: parameters (names, bounds,
genuine values), spaces, defaults, abstract methods, a name or Gymnasium id already taken.
What needs a simulation (the shapes ``reset``/``step`` return, non-finite observations) is
checked by the evaluator and the Gymnasium envs on the first step.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import gymnasium

from turing.contracts.legacy import check_ported
from turing.contracts.system import System
from turing.errors import SystemContractError, UserError
from turing.integrations.contract_checks import contract_problems

SINGLE_ENTRY_POINT = "turing.integrations.gym_envs:SystemEnv"
VECTOR_ENTRY_POINT = "turing.integrations.gym_envs:SystemVectorEnv"

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
"""System names: lower case, digits, ``-``, ``_``, ``.``. They name run folders and appear
on command lines, so no spaces or slashes."""

RESERVED_ENV_IDS = frozenset({"turing/TuringTest-v0"})

_SOURCE: ContextVar[str | None] = ContextVar("turing_registration_source", default=None)


@dataclass(frozen=True)
class Registration:
    """A registered system.

    Attributes:
        name: CLI name.
        factory: the System subclass (or any callable returning a System) built with the
            system's options as keyword arguments.
        env_id: Gymnasium id.
        source: the module that defines it (what a worker process imports to know it).
        plugin: the installed package's entry point that loaded it, if any.
    """

    name: str
    factory: Callable[..., System]
    env_id: str
    source: str
    plugin: str = ""

    @property
    def origin(self) -> str:
        """Where it came from, for messages: the module, and the plugin if any."""
        return f"{self.source} ({self.plugin})" if self.plugin else self.source


_REGISTRY: dict[str, Registration] = {}


@contextmanager
def registration_source(label: str) -> Iterator[None]:
    """Labels the systems registered inside the block with ``label`` (e.g. the plugin that
    registers them), shown by ``turing list --json`` and in duplicate-name errors."""
    token = _SOURCE.set(label)
    try:
        yield
    finally:
        _SOURCE.reset(token)


def register_system(
    factory: Callable[..., System] | None = None,
    *,
    name: str | None = None,
    env_id: str | None = None,
    entry_point: str | Callable[..., gymnasium.Env] | None = None,
    vector_entry_point: str | Callable[..., Any] | None = None,
    replace: bool = False,
):
    """Registers a system with turing and with Gymnasium. Usable as a class decorator.

    Registering the same definition again (a module imported twice, a notebook cell run
    again) replaces the old registration silently; a *different* definition under a taken
    name is an error unless ``replace`` is true.

    Args:
        factory: a :class:`System` subclass, or a callable returning a System (for
            variants: ``functools.partial(MySystem, noise_std=0.1)`` with its own
            ``name`` and ``env_id``). It must be callable without arguments: ``turing
            list`` and ``gymnasium.make`` build it so.
        name: CLI name; defaults to ``factory.name``.
        env_id: Gymnasium id; defaults to ``factory.env_id``.
        entry_point: Gymnasium single-trial entry point; defaults to the generic
            :class:`turing.integrations.gym_envs.SystemEnv` built on the batched simulator.
        vector_entry_point: Gymnasium vector entry point; defaults to the generic batched
            :class:`turing.integrations.gym_envs.SystemVectorEnv`.
        replace: allow replacing another system registered under the same name or id.

    Returns:
        ``factory`` (so that it works as a decorator).

    Raises:
        UserError: if the name or the Gymnasium id is taken by another system.
        SystemContractError: if the factory is not a System subclass or callable, lacks a
            name or an env id, leaves an abstract method unimplemented, needs arguments,
            or declares bad parameters or spaces.
    """
    if factory is None:
        return lambda f: register_system(
            f,
            name=name,
            env_id=env_id,
            entry_point=entry_point,
            vector_entry_point=vector_entry_point,
            replace=replace,
        )
    label = getattr(factory, "__qualname__", None) or repr(factory)
    if not callable(factory):
        raise SystemContractError(
            f"cannot register {label}: give a System subclass or a callable returning a System"
        )
    if inspect.isclass(factory) and not issubclass(factory, System):
        raise SystemContractError(
            f"cannot register {label}: it is not a subclass of turing.System; derive it from "
            "turing.System"
        )
    name = name or getattr(factory, "name", None)
    env_id = env_id or getattr(factory, "env_id", None)
    if not name or not env_id:
        raise SystemContractError(
            f"cannot register {label}: it needs a `name` and an `env_id` (set them as class "
            "attributes or pass name=, env_id=)"
        )
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise SystemContractError(
            f"cannot register {label}: name {name!r} must be lower case letters, digits, "
            "'-', '_' or '.' (it names run folders), e.g. 'my-system'"
        )
    if env_id in RESERVED_ENV_IDS:
        raise SystemContractError(
            f"{name}: env_id {env_id!r} is reserved by turing; choose another"
        )
    try:
        gymnasium.envs.registration.parse_env_id(env_id)
    except (gymnasium.error.Error, TypeError):
        raise SystemContractError(
            f"{name}: env_id {env_id!r} is not a Gymnasium id; use 'namespace/Name-v0'"
        ) from None
    if inspect.isclass(factory):
        _check_class(factory, name)
    _check_callable_without_arguments(factory, name)

    existing = _REGISTRY.get(name)
    if existing is not None and not replace and not _same_definition(existing.factory, factory):
        raise UserError(
            f"cannot register {label} as {name!r}: that name is already registered by "
            f"{existing.origin}; choose another name (or pass replace=True)"
        )
    for other in _REGISTRY.values():
        if other.env_id == env_id and other.name != name and not replace:
            raise UserError(
                f"cannot register {name!r} as {env_id!r}: that Gymnasium id belongs to system "
                f"{other.name!r} ({other.origin}); choose another env_id"
            )
    ours = {r.env_id for r in _REGISTRY.values()}
    if env_id in gymnasium.registry and env_id not in ours and not replace:
        raise UserError(
            f"cannot register {name!r} as {env_id!r}: Gymnasium already has an environment "
            "with that id; choose another env_id"
        )

    module = getattr(factory, "__module__", None) or "?"
    if existing is not None and existing.env_id != env_id:
        gymnasium.registry.pop(existing.env_id, None)
    _REGISTRY[name] = Registration(
        name=name, factory=factory, env_id=env_id, source=module, plugin=_SOURCE.get() or ""
    )
    # Deleting first avoids Gymnasium's "overriding environment" warning on re-registration.
    gymnasium.registry.pop(env_id, None)
    gymnasium.register(
        id=env_id,
        entry_point=entry_point or SINGLE_ENTRY_POINT,
        vector_entry_point=vector_entry_point or VECTOR_ENTRY_POINT,
        kwargs={"system": name},
    )
    return factory


def unregister_system(name: str) -> None:
    """Removes a system from turing and from Gymnasium (for tests and notebooks).

    Raises:
        UserError: if ``name`` is not registered.
    """
    registration = get_registration(name)
    del _REGISTRY[name]
    gymnasium.registry.pop(registration.env_id, None)


_LOADERS: list[Callable[[], Any]] = []


def add_loader(loader: Callable[[], Any]) -> None:
    """Registers ``loader``, called before the registry is read (once it has run it returns
    at once): :mod:`turing.integrations.plugins` loads the installed plugins through it, so
    the registry needs to know nothing about plugins."""
    if loader not in _LOADERS:
        _LOADERS.append(loader)


def _load() -> None:
    for loader in list(_LOADERS):
        loader()


def registered_names() -> set[str]:
    """The names registered so far, without loading plugins (for the plugin loader)."""
    return set(_REGISTRY)


def registered(name: str) -> Registration | None:
    """The registration of ``name`` so far, without loading plugins (for the loader)."""
    return _REGISTRY.get(name)


def set_plugin_label(name: str, plugin: str) -> None:
    """Attributes the registered system ``name`` to ``plugin`` (for the plugin loader: a
    system first registered while another plugin imported its module belongs to its own)."""
    import dataclasses

    if name in _REGISTRY:
        _REGISTRY[name] = dataclasses.replace(_REGISTRY[name], plugin=plugin)


def registrations() -> dict[str, Registration]:
    """All registered systems by name, plugins included (they are loaded on first use)."""
    _load()
    return dict(_REGISTRY)


def get_registration(name: str) -> Registration:
    """The registration of ``name``; plugins are loaded if it is not (yet) known.

    Raises:
        UserError: if no system of that name is registered.
    """
    if name not in _REGISTRY:
        _load()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UserError(
            f"unknown system {name!r}; known systems: {known}. A system defined in your own "
            "module needs --system-module MODULE (or turing.load_system_module); one from a "
            "package needs that package installed (see `turing list`)"
        )
    return _REGISTRY[name]


def make_system(name: str | System, **options: Any) -> System:
    """Builds the system registered as ``name`` with its options (or returns ``name`` if it
    is already a System instance), and checks it against the contract.

    Args:
        name: registered name (see ``turing list``), or a System instance.
        **options: keyword arguments of the system's factory.

    Returns:
        the system.

    Raises:
        UserError: for an unknown name or options the factory does not take.
        SystemContractError: if the built system breaks the contract.
    """
    if isinstance(name, System):
        check_ported(type(name), System)
        return name
    registration = get_registration(name)
    try:
        signature = inspect.signature(registration.factory)
    except (TypeError, ValueError):  # some callables have no signature; let the call decide
        signature = None
    if signature is not None:
        try:
            signature.bind(**options)
        except TypeError as exc:
            named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
            valid = [p.name for p in signature.parameters.values() if p.kind in named]
            raise UserError(
                f"{name}: bad system options {options} ({exc}); its options are "
                f"{', '.join(valid) or 'none'}"
            ) from None
    try:
        system = registration.factory(**options)
    except UserError:
        raise
    except Exception as exc:
        problem = " ".join(f"{type(exc).__name__}: {exc}".split())
        if options:
            raise UserError(
                f"{name}: its constructor rejected the options {options} ({problem}); give "
                "values it accepts (see the system's documentation)"
            ) from None
        raise SystemContractError(f"{name}: building it failed ({problem})") from None
    if not isinstance(system, System):
        raise SystemContractError(
            f"{name}: its factory returned {type(system).__name__}, not a turing.System"
        )
    if system.name != registration.name or system.env_id != registration.env_id:
        # A variant registered under its own name (e.g. a functools.partial): the instance
        # carries the registered name, which run folders and replays record.
        system.name = registration.name
        system.env_id = registration.env_id
    problems = contract_problems(system)
    if problems:
        raise SystemContractError(f"{name}: " + "; ".join(problems))
    check_ported(type(system), System)  # half ported from 0.1: one line naming what is left
    return system


def _check_class(factory: type[System], name: str) -> None:
    abstract = sorted(getattr(factory, "__abstractmethods__", ()))
    if abstract:
        raise SystemContractError(
            f"{name}: {factory.__qualname__} does not implement {', '.join(abstract)} "
            "(every System implements reset, step and passive_action)"
        )
    problems = contract_problems(factory)
    if problems:
        raise SystemContractError(f"{name}: " + "; ".join(problems))


def _check_callable_without_arguments(factory: Callable[..., Any], name: str) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    required = [
        p.name
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind
        in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )
    ]
    if required:
        raise SystemContractError(
            f"{name}: its constructor needs {', '.join(required)}; give every option a default "
            "(`turing list` and gymnasium.make build systems without arguments)"
        )


def _same_definition(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same definition, possibly re-executed (a module
    reloaded, a notebook cell run again): same module and qualified name."""
    if a is b:
        return True
    key_a = (getattr(a, "__module__", None), getattr(a, "__qualname__", None))
    key_b = (getattr(b, "__module__", None), getattr(b, "__qualname__", None))
    return None not in key_a and key_a == key_b
