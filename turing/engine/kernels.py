"""Which fused kernel a system gets, and the backend ``auto`` means.

A system's native kernel is generated from its torch methods (:mod:`turing.engine.fused`),
on CPU threads or on CUDA, unless the system ships a hand-written C kernel for its own
class (:meth:`System.native_kernel`, CPU only). :func:`resolve_backend` picks the fastest
path that builds, as ``turing bench`` measures them.
"""

from __future__ import annotations

import torch

from turing.contracts.legacy import ADAPTED
from turing.engine import fused, native
from turing.engine.loop import MigrationHint
from turing.engine.notices import warn_once

LEGACY = (
    "written for turing-learning 0.1 (its methods take a torch generator, which a fused "
    "kernel cannot draw from); port it to draw from noise to get one"
)

SIMULATOR_METHODS = ("reset", "step", "passive_action", "passive_inputs", "sample_starts")
"""What a native kernel computes in place of the system's Python methods."""


GENERATED_FLAGS = ("-O3", "-fschedule-insns", "-fsched-pressure")
"""A generated system is one long straight function: scheduling it for register pressure
before allocating registers ran case study 2 9% faster than plain -O3 (and -O3 4% faster than
-O2) on an AVX-512 Xeon; the hand-written kernels gain nothing from it."""


def native_kernel(
    system, steps: int, device: torch.device | str = "cpu", hand_written: bool = True
):
    """The system's fused kernel on ``device`` (a loaded kernel with ``run``), or one line
    saying why there is none.

    The kernel is generated from the system's torch methods (:mod:`turing.engine.fused`),
    unless the system ships a hand-written C kernel for its own class
    (:meth:`System.native_kernel`, CPU only; a subclass or an instance that overrides
    ``reset``, ``step`` or the passive input gets a generated one of its own methods).
    ``hand_written=False`` generates one even then (benchmarks and tests compare the two).
    """
    device = torch.device(device)
    if device.type not in ("cpu", "cuda"):
        return f"fused kernels run on the CPU or CUDA, not {device.type}"
    spec = _hand_written(system, steps) if device.type == "cpu" and hand_written else None
    generated = None
    if spec is None:
        if not _is_system(system):
            return f"{getattr(system, 'name', system)} is not a turing.System"
        if _legacy(system):
            return LEGACY
        try:
            generated = fused.generated(system, steps)
        except TypeError as exc:
            with MigrationHint(system, _failing_method(exc)):
                raise
        if isinstance(generated, str):
            return generated
        if device.type == "cuda":
            from turing.engine.fused import cuda

            return cuda.load(generated, device)
        spec = native.NativeKernel(
            None, text=generated.text, name=f"fused-{system.name}", optimize=GENERATED_FLAGS
        )
    kernel = native.load(spec)
    if isinstance(kernel, str):
        return kernel
    declared = (system.observation_size, system.action_size)
    if (kernel.observation_size, kernel.action_size) != declared:
        return (
            f"{spec.name if spec.source is None else spec.source.name} simulates "
            f"{kernel.observation_size} observations and {kernel.action_size} actions, "
            f"{system.name} declares {declared}"
        )
    kernel.generated = generated
    return kernel


def _failing_method(exc: BaseException) -> str:
    """The system method a traced call failed in (the innermost frame of one), for messages."""
    names, tb = [], exc.__traceback__
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    methods = ("reset", "step", "passive_inputs", "passive_action", "sample_starts")
    return next((n for n in reversed(names) if n in methods), "a simulator method")


def _legacy(system) -> bool:
    """Whether ``system`` runs through the 0.1 compatibility path."""
    return any(getattr(c, ADAPTED, None) for c in type(system).__mro__)


def _is_system(system) -> bool:
    # By name: turing.contracts.system imports this package (its Noise).
    return any(
        c.__name__ == "System" and c.__module__ == "turing.contracts.system"
        for c in type(system).__mro__
    )


def _hand_written(system, steps: int) -> native.NativeKernel | None:
    """The system's own C kernel, if it has one for the class whose simulator it runs."""
    spec = system.native_kernel(steps)
    if spec is None:
        return None
    owner = next(c for c in type(system).__mro__ if "native_kernel" in vars(c))
    for name in SIMULATOR_METHODS:
        if name in vars(system) or getattr(type(system), name) is not getattr(owner, name):
            return None  # the kernel would simulate the parent: generate one instead
    return spec


def resolve_backend(system, steps: int, device: torch.device | str, requested: str = "auto") -> str:
    """The backend ``auto`` means: ``native`` where the system's fused kernel builds (on
    the CPU or CUDA), else ``compiled`` on CUDA and ``eager`` on the CPU. An explicit request is returned as is
    (:class:`Engine` reports what it cannot do)."""
    if requested != "auto":
        return requested
    device = torch.device(device)
    if device.type in ("cpu", "cuda"):
        kernel = native_kernel(system, steps, device)
        if not isinstance(kernel, str):
            return "native"
        if kernel is not LEGACY:  # its LegacySystemWarning already says what differs
            warn_once(f"{system.name}: no fused kernel ({kernel}); simulating with torch")
    if device.type == "cuda":
        return "compiled"
    return "eager"
