"""Systems written for turing-learning 0.1: a compatibility path that runs them.

In 0.1 a system drew its random numbers from a ``torch.Generator`` passed to ``reset``,
``step``, ``passive_inputs`` and ``sample_starts`` (``torch.rand(..., generator=generator)``);
since 0.2 it draws from the :class:`turing.Noise` it receives, one counter-based stream per
trial. A subclass of :class:`turing.System` whose methods still take a ``generator`` (the
name 0.1 used, or a ``torch.Generator`` annotation) is adapted when it is defined: each of
those methods receives a ``torch.Generator`` made from the Noise of its call, so the class
runs unchanged in every mode, backend and entry point (runs, comparisons, replays,
Gymnasium, ``turing.simulate``). What differs until it is ported (said once, when the class
is defined, as a :class:`LegacySystemWarning`):

* its dynamics (``reset``'s and ``step``'s draws) come from one generator per step of each
  batch, seeded from the batch's first trial: a trial's numbers depend on which trials share
  its batch, so results depend on the chunk size, on ``compare --batch`` and on how trials
  are batched (they are still determined by the seed, and a resumed run continues
  bit-identically), and a Gymnasium env does not reproduce a trial of a batch;
* its start conditions (``sample_starts``) and passive inputs (``passive_inputs``) are drawn
  per trial, each from a generator seeded by that trial's start or input stream, so that the
  ``metric`` baseline's model trials start where their genuine twins did and the two trials
  of a pair receive the same passive inputs, as in 0.2 (one call per trial: slower);
* on CUDA its seeds are read on the host, so its steps are not captured in CUDA graphs.

A class that mixes the two conventions (``reset`` takes ``noise``, ``passive_inputs`` still a
``generator``) is not adapted; building it (:func:`turing.make_system`, every command) is
refused in one line naming what is left to port (:func:`check_ported`). A method whose
signature says ``noise`` but whose body still hands it to torch as a generator fails on its
first call with the same advice (:class:`migration_hint`).
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from turing.engine.random import Noise
from turing.errors import SystemContractError

MIGRATION_GUIDE = "docs/adding-a-system.md, 'Migrating a system from turing-learning 0.1'"

RANDOM_ARGUMENT = {"reset": 1, "step": 3, "passive_inputs": 2, "sample_starts": 1}
"""Each simulator method that receives randomness, and the position of that argument
(after ``self``): 0.1's ``generator``, 0.2's ``noise``."""

ADAPTED = "turing_legacy_methods"
"""The class attribute naming the methods an adapted class took a generator in."""

_ORIGINAL = "turing_legacy_original"


class LegacySystemWarning(FutureWarning):
    """A system written for turing-learning 0.1 runs through the compatibility path
    (silence it with ``warnings.filterwarnings("ignore", category=LegacySystemWarning)``)."""


def legacy_methods(cls: type, base: type) -> tuple[list[str], list[str]]:
    """``(legacy, ported)``: the simulator methods of ``cls`` (its own or inherited from
    anything but ``base``, :class:`turing.System`) whose random argument is a torch
    generator (0.1), and those whose is a Noise (0.2)."""
    legacy, ported = [], []
    for name, position in RANDOM_ARGUMENT.items():
        function = _original(inspect.getattr_static(cls, name, None))
        if not callable(function) or function is getattr(base, name, None):
            continue  # System's own default (passive_inputs, sample_starts) draws nothing
        if _takes_generator(function, position):
            legacy.append(name)
        else:
            ported.append(name)
    return legacy, ported


def adapt(cls: type, base: type) -> tuple[str, ...]:
    """Adapts ``cls`` (a subclass of ``base``, :class:`turing.System`, being defined) if it
    is written for 0.1, and warns; a class that mixes the conventions is left alone.

    Returns:
        the methods that take a generator (empty: nothing was adapted).
    """
    legacy, ported = legacy_methods(cls, base)
    if not legacy or ported:
        return ()
    starts = "sample_starts" in legacy
    for name in legacy:
        original = _original(inspect.getattr_static(cls, name))
        wrapper = _reset(original, starts) if name == "reset" else _ADAPTERS[name](original)
        setattr(cls, name, wrapper)
    simulation_params = inspect.getattr_static(cls, "simulation_params", None)
    if callable(simulation_params) and _positional_count(simulation_params) == 2:
        cls.simulation_params = _without_truth(_original(simulation_params))
    setattr(cls, ADAPTED, tuple(legacy))
    name = vars(cls).get("name") or getattr(cls, "name", None) or cls.__qualname__
    warnings.warn(
        f"{name} is written for turing-learning 0.1 ({', '.join(legacy)} take a torch "
        "generator) and runs through a compatibility path: its results depend on how trials "
        "are batched (--chunk-size, compare --batch) and a Gymnasium env does not reproduce a "
        f"batched trial; draw from the noise argument instead ({MIGRATION_GUIDE})",
        LegacySystemWarning,
        stacklevel=_caller_level(),
    )
    return tuple(legacy)


def check_ported(cls: type, base: type) -> None:
    """Refuses a class half ported from 0.1.

    Raises:
        SystemContractError: naming the methods that still take a generator.
    """
    legacy, ported = legacy_methods(cls, base)
    if not (legacy and ported):
        return
    one = len(legacy) == 1
    raise SystemContractError(
        f"{getattr(cls, 'name', cls.__qualname__)}: half ported from turing-learning 0.1: "
        f"{', '.join(legacy)} still take{'s' if one else ''} a torch generator while "
        f"{', '.join(ported)} take{'s' if len(ported) == 1 else ''} noise; port "
        f"{'it' if one else 'them'} to draw from noise too ({MIGRATION_GUIDE})"
    )


# ---------------------------------------------------------------------------- generators
def batch_generator(noise: Noise) -> torch.Generator:
    """A generator for one call's draws of a whole batch: seeded from the first trial's
    stream at the call's step and phase (what makes results depend on the batch)."""
    first = Noise(noise.key[:, :1], noise.stream[:1], t=noise.t, phase=noise.phase)
    return _seeded(first.words(2)[:, 0], noise.device)


def per_trial(draw: Callable[[torch.Generator], Any], noise: Noise) -> Any:
    """``draw(generator)`` once for each distinct stream of ``noise``, with a generator
    seeded by that stream, the results joined along the last axis in the trials' order
    (trials sharing a stream share the draw)."""
    seeds = noise.words(2, slot=0).T.cpu()
    unique, inverse = torch.unique(seeds, dim=0, return_inverse=True)
    drawn = [draw(_seeded(row, noise.device)) for row in unique]
    return _gather(drawn, inverse)


def _seeded(words: torch.Tensor, device: torch.device) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed((int(words[0]) << 32 | int(words[1])) & (2**63 - 1))
    return generator


def _gather(drawn: list[Any], inverse: torch.Tensor) -> Any:
    first = drawn[0]
    if first is None:
        return None
    if isinstance(first, torch.Tensor):
        return torch.cat(drawn, dim=-1).index_select(-1, inverse.to(first.device))
    if isinstance(first, tuple | list):
        return type(first)(_gather([d[k] for d in drawn], inverse) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: _gather([d[k] for d in drawn], inverse) for k in first}
    raise SystemContractError(
        f"sample_starts or passive_inputs returned a {type(first).__name__}; return tensors "
        "(trial axis last), or tuples, lists or dicts of them"
    )


# ---------------------------------------------------------------------------- adapters
# Each adapter takes 0.2's arguments and calls 0.1's method; called with a generator (by
# 0.1 code of the class itself, or a subclass's super() call) it passes it through. Under
# torch.compile they run eagerly (a graph break): torch generators do not trace.
def _reset(original, starts: bool):
    @torch.compiler.disable
    def reset(self, params, noise, start=None, **options):
        if not isinstance(noise, Noise):
            extra = () if start is None else (start,)
            return original(self, params, noise, *extra, **options)
        if start is None and starts:
            start = self.sample_starts(params.shape[-1], noise.starts(), params.device)
        generator = batch_generator(noise)
        if start is None:
            return original(self, params, generator, **options)
        return original(self, params, generator, start=start, **options)

    return _mark(reset, original)


def _step(original):
    @torch.compiler.disable
    def step(self, state, params, action, noise):
        generator = batch_generator(noise) if isinstance(noise, Noise) else noise
        return original(self, state, params, action, generator)

    return _mark(step, original)


def _passive_inputs(original):
    @torch.compiler.disable
    def passive_inputs(self, n, steps, noise, device):
        if not isinstance(noise, Noise):
            return original(self, n, steps, noise, device)
        return per_trial(lambda g: original(self, 1, steps, g, device), noise)

    return _mark(passive_inputs, original)


def _sample_starts(original):
    @torch.compiler.disable
    def sample_starts(self, n, noise, device):
        if not isinstance(noise, Noise):
            return original(self, n, noise, device)
        return per_trial(lambda g: original(self, 1, g, device), noise)

    return _mark(sample_starts, original)


_ADAPTERS = {"step": _step, "passive_inputs": _passive_inputs, "sample_starts": _sample_starts}


def _without_truth(original):
    # 0.1's simulation_params(params); 0.2 also passes the run's genuine system.
    def simulation_params(self, params, truth=None):
        return original(self, params)

    return _mark(simulation_params, original)


def _mark(wrapper, original):
    functools.update_wrapper(wrapper, original)
    del wrapper.__wrapped__  # inspect.signature shows the 0.2 signature, not 0.1's
    setattr(wrapper, _ORIGINAL, original)
    return wrapper


def _original(function: Any) -> Any:
    return getattr(function, _ORIGINAL, function)


def _takes_generator(function: Any, position: int) -> bool:
    if isinstance(function, staticmethod | classmethod):
        return False
    try:
        parameters = list(inspect.signature(function).parameters.values())[1:]  # self
    except (TypeError, ValueError):
        return False
    if len(parameters) <= position:
        return False
    parameter = parameters[position]
    annotation = parameter.annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return parameter.name == "generator" or "Generator" in str(text)


def _positional_count(function: Any) -> int:
    try:
        parameters = inspect.signature(_original(function)).parameters.values()
    except (TypeError, ValueError):
        return 0
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return 0
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds for p in parameters)


TURING_FOLDER = Path(__file__).resolve().parents[1]


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside turing and the class machinery (the
    user's ``class`` statement), so that the warning names the user's file and line."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith(str(TURING_FOLDER)) or name.endswith(("abc.py", "<frozen abc>"))):
            return level
        frame, level = frame.f_back, level + 1
    return 2


# ---------------------------------------------------------------------------- hints
class migration_hint:
    """Turns the TypeError of a 0.2 signature whose body still hands its noise to torch as
    a generator into a one-line contract error naming the system and the method."""

    def __init__(self, system: Any, what: str):
        self.system, self.what = system, what

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is TypeError and "Noise" in str(value) and "generator" in str(value):
            raise SystemContractError(hint_text(self.system.name, self.what)) from None
        return False


def hint_text(name: str, what: str) -> str:
    """The message of :class:`migration_hint` (the engine's loop says the same)."""
    return (
        f"{name}: {what} passes its noise argument to torch as a generator; since "
        "turing-learning 0.2 a system draws from the Noise it receives (noise.uniform(k) and "
        "noise.normal(k) give [k, n] draws), or keeps 0.1's signature (a `generator` "
        f"argument) to run through the compatibility path ({MIGRATION_GUIDE})"
    )
