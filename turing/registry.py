"""The registry of systems: CLI names, Gymnasium ids and factories.

:func:`register_system` is the one call that makes a system known both to turing (its CLI
name, used by ``turing run``, ``compare``, ``replay`` and ``plot``) and to Gymnasium (its
``turing/Name-v0`` id, with a single-trial ``entry_point`` and a batched
``vector_entry_point``). The built-in systems in :mod:`turing.envs` register through it
like any plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium

from turing.errors import UserError
from turing.system import System

SINGLE_ENTRY_POINT = "turing.environment:SystemEnv"
VECTOR_ENTRY_POINT = "turing.environment:SystemVectorEnv"


@dataclass(frozen=True)
class Registration:
    """A registered system.

    Attributes:
        name: CLI name.
        factory: the System subclass (or any callable returning a System) built with the
            system's options as keyword arguments.
        env_id: Gymnasium id.
        source: where it came from (``turing.envs`` or a plugin's module).
    """

    name: str
    factory: Callable[..., System]
    env_id: str
    source: str


_REGISTRY: dict[str, Registration] = {}


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

    Args:
        factory: a :class:`System` subclass (or a callable returning one).
        name: CLI name; defaults to ``factory.name``.
        env_id: Gymnasium id; defaults to ``factory.env_id``.
        entry_point: Gymnasium single-trial entry point; defaults to the generic
            :class:`turing.environment.SystemEnv` built on the batched simulator.
        vector_entry_point: Gymnasium vector entry point; defaults to the generic batched
            :class:`turing.environment.SystemVectorEnv`.
        replace: allow replacing an existing registration of the same name.

    Raises:
        UserError: if the name is already registered (and ``replace`` is false) or the
            factory lacks a name or an env id.
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
    name = name or getattr(factory, "name", None)
    env_id = env_id or getattr(factory, "env_id", None)
    if not name or not env_id:
        raise UserError(
            f"cannot register {factory!r}: it needs a `name` and an `env_id` "
            "(set them as class attributes or pass name=, env_id=)"
        )
    if name in _REGISTRY and not replace and _REGISTRY[name].factory is not factory:
        raise UserError(
            f"a system named {name!r} is already registered (from {_REGISTRY[name].source}); "
            "choose another name or pass replace=True"
        )
    source = getattr(factory, "__module__", "?")
    _REGISTRY[name] = Registration(name=name, factory=factory, env_id=env_id, source=source)
    if env_id in gymnasium.registry:
        del gymnasium.registry[env_id]
    gymnasium.register(
        id=env_id,
        entry_point=entry_point or SINGLE_ENTRY_POINT,
        vector_entry_point=vector_entry_point or VECTOR_ENTRY_POINT,
        kwargs={"system": name},
    )
    return factory


def registrations() -> dict[str, Registration]:
    """All registered systems by name."""
    return dict(_REGISTRY)


def get_registration(name: str) -> Registration:
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UserError(f"unknown system {name!r}; known systems: {known} (see `turing list`)")
    return _REGISTRY[name]


def make_system(name: str | System, **options: Any) -> System:
    """Builds the system registered as ``name`` with its options (or returns ``name`` if it
    is already a System instance)."""
    if isinstance(name, System):
        return name
    registration = get_registration(name)
    try:
        return registration.factory(**options)
    except TypeError as exc:
        raise UserError(f"{name}: bad system options {options}: {exc}") from None
