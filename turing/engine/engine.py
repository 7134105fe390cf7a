"""The :class:`Engine`: batches of trials of one system on one backend.

``Engine.run`` is the one entry point every part of the platform uses (the evaluator, the
baselines, the C2ST, replays); it checks the batch, splits it into chunks for the torch
backends, and hands it to the backend: :mod:`turing.engine.native.backend` (the fused
kernel generated from the system's torch methods, :mod:`turing.engine.kernels`), :mod:`turing.engine.loop` (eager, or compiled per step) or
:mod:`turing.engine.graphs` (compiled steps replayed from CUDA graphs). What the backend
builds (the loaded kernel, compiled steps, captured graphs) is kept on the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from turing.engine import graphs, loop
from turing.engine.kernels import native_kernel, resolve_backend
from turing.engine.native.backend import run_native
from turing.engine.random import Noise
from turing.engine.scaling import scaled_judge
from turing.engine.trials import (
    BACKENDS,
    JUDGE,
    PASSIVE,
    InputSource,
    Judge,
    Policy,
    Trials,
    concatenate,
    select_inputs,
    select_start,
)

Tensor = torch.Tensor


@dataclass
class Engine:
    """Runs batches of trials of one system with one backend; keeps what is built once
    (the loaded kernel, compiled steps, captured CUDA graphs).

    Args:
        system: the system.
        steps: observations per trial.
        device: torch device.
        backend: ``native``, ``compiled``, ``eager`` or ``auto`` (see
            :func:`resolve_backend`).
        chunk_size: most trials simulated at once by the torch backends (bounds memory;
            never changes results), rounded up to whole blocks of :data:`ALIGNMENT` trials. ``None``: the system's default on a CPU, a whole batch
            (up to 2^20 trials) on CUDA.
        threads: CPU threads of the native kernel (default: :func:`default_threads`).
        cuda_graphs: capture trial loops in CUDA graphs on CUDA (compiled backend).
        align: pad torch batches to whole blocks of :data:`ALIGNMENT` trials (off for
            systems that stand for something outside, whose trials cannot be duplicated).
    """

    system: Any
    steps: int
    device: torch.device | str = "cpu"
    backend: str = "auto"
    chunk_size: int | None = None
    threads: int | None = None
    cuda_graphs: bool = True
    align: bool = True
    _compiled: dict = field(default_factory=dict, repr=False)
    _graphs: dict = field(default_factory=dict, repr=False)
    _checked: bool = field(default=False, repr=False)

    def __post_init__(self):
        self.device = torch.device(self.device)
        self.steps = int(self.steps)
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        self.backend = resolve_backend(self.system, self.steps, self.device, self.backend)
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; choose from {', '.join(BACKENDS)}")
        self._kernel = None
        if self.backend == "native":
            kernel = native_kernel(self.system, self.steps, self.device)
            if isinstance(kernel, str):
                raise RuntimeError(f"{self.system.name}: no native kernel: {kernel}")
            self._kernel = kernel
            spec = None if kernel.generated is not None else self.system.native_kernel(self.steps)
            self._options = torch.tensor(
                (spec.options if spec is not None else ()) or (0.0,), dtype=torch.float32
            )
        if self.chunk_size is None:
            self.chunk_size = (
                1 << 20 if self.device.type == "cuda" else int(self.system.default_chunk_size)
            )

    # ------------------------------------------------------------------ entry point
    def run(
        self,
        params: Tensor,
        noise: Noise,
        judge: Judge | None = None,
        inputs: InputSource = JUDGE,
        start: Any = None,
        record: bool = False,
        observe: Callable[[int, Tensor, Tensor | None, Tensor | None], None] | None = None,
    ) -> Trials:
        """Simulates ``n = params.shape[-1]`` trials.

        Args:
            params: simulation parameters ``[S, n]``.
            noise: the trials' random streams (``noise.n == n``).
            judge: the interrogators reading the trials, or ``None``.
            inputs: the input source (``"judge"`` needs a judge with action outputs).
            start: explicit start conditions (a :meth:`System.sample_starts` draw), or
                ``None``: each trial draws its own from its start stream.
            record: keep every observation, judge output and input.
            observe: ``observe(t, observation, outputs, action)`` after the judge read
                observation ``t`` and the next input was chosen (``None`` after the last
                observation): replays draw each step with it (stepwise backend).

        Returns:
            the :class:`Trials`.
        """
        n = params.shape[-1]
        if noise.n != n or (judge is not None and judge.index.shape[-1] != n):
            raise ValueError("params, noise and judge must describe the same trials")
        if inputs == JUDGE:
            if judge is None or judge.shape.outputs != 1 + self.system.action_size:
                raise ValueError(
                    "inputs='judge' needs a judge with 1 + action_size outputs (interrogation)"
                )
        params = params.to(self.device)
        if judge is not None:
            judge = scaled_judge(self.system, judge)
        backend = self.backend
        if (isinstance(inputs, Policy) or observe is not None) and backend != "eager":
            backend = "eager"  # Python called between steps: only the stepwise loop
        if observe is not None:
            return loop.run_loop(self, params, noise, judge, inputs, start, record, observe=observe)
        if backend == "native" and inputs is PASSIVE and not self._kernel.passive:
            backend = "eager"  # passive_action could not be fused
        if backend == "native":
            return run_native(self, params, noise, judge, inputs, start, record)
        chunk = max(1, int(self.chunk_size))
        if self.align:
            chunk = -(-chunk // ALIGNMENT) * ALIGNMENT  # whole blocks
        if n <= chunk:
            return self._torch(backend, params, noise, judge, inputs, start, record)
        parts = []
        for begin in range(0, n, chunk):
            index = torch.arange(begin, min(n, begin + chunk), device=self.device)
            parts.append(
                self._torch(
                    backend,
                    params[:, index],
                    noise.select(index),
                    None if judge is None else judge.select(index),
                    select_inputs(inputs, index),
                    select_start(start, index),
                    record,
                )
            )
        return concatenate(parts)

    # ------------------------------------------------------------------ backends
    def _torch(self, backend, params, noise, judge, inputs, start, record) -> Trials:
        n = params.shape[-1]
        if self.align and n % ALIGNMENT and not isinstance(inputs, Policy):
            # torch's vectorised kernels compute the tail of a tensor that does not fill
            # whole SIMD blocks with other code (on AVX-512: 1 ulp apart), so a trial's result
            # would depend on its place in the batch. Padded with copies of trial 0 to whole
            # blocks, every trial is computed alike, wherever it is.
            index = torch.arange(n + (-n) % ALIGNMENT, device=self.device)
            index[n:] = 0
            padded = self._torch_aligned(
                backend,
                params[:, index],
                noise.select(index),
                None if judge is None else judge.select(index),
                select_inputs(inputs, index),
                select_start(start, index),
                record,
            )
            return _take(padded, n)
        return self._torch_aligned(backend, params, noise, judge, inputs, start, record)

    def _torch_aligned(self, backend, params, noise, judge, inputs, start, record) -> Trials:
        if (
            backend == "compiled"
            and self.device.type == "cuda"
            and self.cuda_graphs
            and not isinstance(inputs, Policy)
        ):
            return graphs.run_graphed(self, params, noise, judge, inputs, start, record)
        step = loop.compiled_step(self, judge, inputs) if backend == "compiled" else None
        return loop.run_loop(self, params, noise, judge, inputs, start, record, step)


ALIGNMENT = 64
"""Trials of a torch batch come in whole multiples of this (see :meth:`Engine._torch`)."""


def _take(trials: Trials, n: int) -> Trials:
    def first(value):
        return None if value is None else value[..., :n]

    return Trials(first(trials.judgement), trials.failed[:n], first(trials.observations),
                  first(trials.outputs), first(trials.actions))  # fmt: skip


def simulate(
    system,
    params: Tensor,
    noise: Noise,
    steps: int,
    *,
    judge: Judge | None = None,
    inputs: InputSource = JUDGE,
    start: Any = None,
    record: bool = False,
    backend: str = "eager",
    device: torch.device | str | None = None,
    chunk_size: int | None = None,
    threads: int | None = None,
) -> Trials:
    """Simulates trials with a one-off :class:`Engine` (see :meth:`Engine.run`)."""
    engine = _engine(system, steps, device or params.device, backend, chunk_size, threads)
    return engine.run(params, noise, judge, inputs, start, record)


_ENGINES: dict[tuple, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(system, steps, device, backend, chunk_size, threads) -> Engine:
    # One engine per (system instance, settings): what it built (kernels, compiled steps)
    # is kept for the next call.
    key = (id(system), int(steps), str(torch.device(device)), backend, chunk_size, threads)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None or engine.system is not system:
            engine = Engine(system, steps, device, backend, chunk_size, threads)
            _ENGINES[key] = engine
        return engine
