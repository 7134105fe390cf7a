"""CUDA graphs of the compiled trial loop: no Python runs per step on a GPU.

A chunk of trials is reset eagerly (a reset may sample, e.g. rejection sampling of start
poses, which needs the host), then its control steps replay from one CUDA graph of the
compiled step (:func:`turing.engine.loop.compiled_step`), captured on the first chunk of
each shape. The graph reads static buffers; each chunk's tensors are copied into them.
Random numbers come from the trials' counter-based streams inside the graph, so a replayed
graph draws what the uncaptured loop draws.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from turing.engine.loop import compiled_step, passive_draws, reset, run_loop, step_tensors
from turing.engine.notices import warn_once
from turing.engine.random import Noise
from turing.engine.trials import (
    PASSIVE,
    Fixed,
    InputSource,
    Judge,
    Trials,
    networks,
    source_name,
)

Tensor = torch.Tensor


def run_graphed(engine, params, noise, judge, inputs, start, record) -> Trials:
    """The trial loop of a chunk on CUDA: reset eagerly (it may sample, e.g. rejection
    sampling of start poses), then every control step replayed from one CUDA graph of
    the compiled steps, captured on the first chunk of each shape."""
    if record:  # recording keeps every step: the plain compiled loop
        return run_loop(
            engine,
            params,
            noise,
            judge,
            inputs,
            start,
            record,
            compiled_step(engine, judge, inputs),
        )
    state, obs = reset(engine, params, noise, start)
    n = params.shape[-1]
    passive = passive_draws(engine, n, noise) if inputs is PASSIVE else None
    batch = _GraphInputs(params, noise, judge, inputs, state, obs, passive)
    key = (batch.signature(), source_name(inputs))
    graph = engine._graphs.get(key)
    if graph is None:
        graph = engine._graphs[key] = _CudaGraph(engine, batch, judge, inputs)
    return graph.replay(batch)


def steps_loop(engine, batch: _GraphInputs, judge, inputs, step) -> Trials:
    """The control steps of a reset batch (what a CUDA graph holds): the compiled step
    for ``t < steps - 1``, then the judge reads the last observation."""
    nets = None if judge is None else networks(batch.judge, batch.params.dtype)
    hidden = None if nets is None else nets.initial_state()
    n = batch.params.shape[-1]
    previous = (
        engine.system.initial_action(n, engine.device).to(batch.obs.dtype)
        if judge is not None and judge.sees_input
        else None
    )
    health = torch.zeros(n, dtype=batch.obs.dtype, device=engine.device)
    state, obs = batch.state, batch.obs
    times = step_tensors(engine)
    for t in range(engine.steps - 1):
        fixed = batch.fixed[t] if batch.fixed is not None else None
        state, obs, hidden, previous, health = step(
            state, batch.params, obs, hidden, previous, health, times[t + 1],
            batch.noise, nets, batch.passive, fixed,
        )  # fmt: skip
    health = health + obs.sum(0)
    judgement = None
    if nets is not None:
        x = obs if previous is None else torch.cat([obs, previous])
        _, out = nets.forward(hidden, x)
        judgement = out[0]
    return Trials(judgement, ~torch.isfinite(health))


@dataclass
class _GraphInputs:
    """What a captured loop reads: a reset batch's tensors. The graph keeps one set as its
    static buffers and copies each new batch into them."""

    params: Tensor
    noise: Noise
    judge: Judge | None
    inputs: InputSource
    state: Any
    obs: Tensor
    passive: Tensor | None

    def __post_init__(self):
        self.fixed = self.inputs.actions if isinstance(self.inputs, Fixed) else None
        self.noise = Noise(
            self.noise.key.expand(2, self.noise.n).contiguous(),
            self.noise.stream,
            self.noise.start_stream,
            self.noise.input_stream,
        )

    def tensors(self) -> list[Tensor]:
        leaves, _ = torch.utils._pytree.tree_flatten(self.state)
        parts = [self.params, self.noise.key, self.noise.stream, self.noise.input_stream, self.obs]
        if self.judge is not None:
            parts += [self.judge.weights, self.judge.index]
        for extra in (self.fixed, self.passive):
            if extra is not None:
                parts.append(extra)
        return parts + [leaf for leaf in leaves if isinstance(leaf, Tensor)]

    def signature(self) -> tuple:
        return tuple((tuple(t.shape), t.dtype) for t in self.tensors())

    def clone(self) -> _GraphInputs:
        copy = torch.utils._pytree.tree_map(
            lambda x: x.clone() if isinstance(x, Tensor) else x, self.state
        )
        judge = self.judge
        if judge is not None:
            judge = replace(judge, weights=judge.weights.clone(), index=judge.index.clone())
        inputs = Fixed(self.fixed.clone()) if self.fixed is not None else self.inputs
        noise = Noise(self.noise.key.clone(), self.noise.stream.clone(),
                      self.noise.start_stream.clone(), self.noise.input_stream.clone())  # fmt: skip
        return _GraphInputs(
            self.params.clone(), noise, judge, inputs, copy, self.obs.clone(),
            None if self.passive is None else self.passive.clone(),
        )  # fmt: skip

    def copy_from(self, other: _GraphInputs) -> None:
        for mine, theirs in zip(self.tensors(), other.tensors(), strict=True):
            mine.copy_(theirs)


class _CudaGraph:
    """One captured loop of control steps and its static input buffers."""

    def __init__(self, engine, batch: _GraphInputs, judge, inputs):
        self.engine = engine
        self.judge, self.inputs = judge, inputs
        self.step = compiled_step(engine, judge, inputs)
        self.static = batch.clone()
        self.graph = None
        try:
            # Warm up on a side stream (compilation, allocator pools), then capture.
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    steps_loop(engine, self.static, judge, inputs, self.step)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self.outputs = steps_loop(engine, self.static, judge, inputs, self.step)
            self.graph = graph
        except Exception as exc:  # capture is an optimisation: fall back to launching
            warn_once(
                f"CUDA graph capture failed ({type(exc).__name__}: {exc}); running the "
                "compiled steps uncaptured"
            )

    def replay(self, batch: _GraphInputs) -> Trials:
        if self.graph is None:
            return steps_loop(self.engine, batch, self.judge, self.inputs, self.step)
        self.static.copy_from(batch)
        self.graph.replay()
        judgement = self.outputs.judgement
        return Trials(None if judgement is None else judgement.clone(), self.outputs.failed.clone())
