"""The trial engine: the one loop in which inputs drive a system and judges read it.

Everything this platform computes is trials. A *trial* is ``steps`` observations of one
system (the genuine one or a model: a column of ``params``): :meth:`System.reset` gives
observation 0; for ``t = 0 .. steps - 1`` the *judge* (an interrogator network, if any)
reads observation ``t`` (and, if it sees inputs, the input that produced it); unless ``t``
is the last step, an *input source* chooses the input and :meth:`System.step` produces
observation ``t + 1``. The judgement is the judge's output 0 after the last observation
(``>= 0.5``: genuine). A trial any of whose observations is not finite is flagged
``failed``. The evaluator (all-vs-all coevolution), the baselines' rollouts, the GAN, the
C2ST, replays and the TuringTest env all run trials through :func:`simulate` or
:class:`Engine`; none has a step loop of its own.

Input sources:

* ``"judge"``: the judge's outputs ``1..`` mapped to the action bounds (interrogation);
* :data:`PASSIVE`: the system's own :meth:`~turing.System.passive_action` (its natural
  input, from :meth:`~turing.System.passive_inputs` drawn on each trial's input stream);
* :class:`Fixed`: inputs given in advance (a schedule, or inputs replayed from other
  trials);
* :class:`Policy`: any callable ``choose(t, observation, outputs) -> action``, called
  between steps (a gradient-trained policy; the stepwise backend only).

Randomness comes from a :class:`~turing.engine.random.Noise` (counter-based per-trial
streams), so a trial's result does not depend on its batch, the chunking, threads or the
backend's arithmetic order beyond float rounding.

Backends (all compute the same function; results differ by float rounding only):

* ``native``: the system's C kernel (:mod:`turing.engine.native`), reset, steps, network
  and input choice fused into one pass over groups of trials, on CPU threads;
* ``compiled``: the step (judge, input choice and system step) as one ``torch.compile``
  graph per control step; on CUDA the whole trial loop of a chunk is captured in a CUDA
  graph and replayed, so no Python runs per step;
* ``eager``: the reference, plain torch step by step (any system, any input source).
"""

from __future__ import annotations

import os
import threading
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from turing.agents import ElmanShape, ElmanTrials, InterrogatorPopulation
from turing.engine import native
from turing.engine.random import Noise
from turing.errors import SystemContractError

Tensor = torch.Tensor

BACKENDS = ("native", "compiled", "eager")
JUDGE = "judge"


class _Passive:
    def __repr__(self) -> str:
        return "PASSIVE"


PASSIVE = _Passive()
"""Input source: the system's passive controller."""


@dataclass
class Fixed:
    """Input source: given inputs ``[steps - 1, action_size, n]`` (``actions[t]`` follows
    observation ``t``)."""

    actions: Tensor


@dataclass
class Policy:
    """Input source: ``choose(t, observation [O, n], outputs [outs, n] | None) -> action
    [A, n]``, called between steps (stepwise backend)."""

    choose: Callable[[int, Tensor, Tensor | None], Tensor]


InputSource = str | _Passive | Fixed | Policy


@dataclass
class Judge:
    """Interrogators that read trials: one Elman network per interrogator, weights stored
    once per interrogator.

    Attributes:
        shape: the network shape (output 0 is the judgement).
        weights: ``[P, n_weights]``.
        index: ``[n]`` int64, the interrogator of each trial.
        sees_input: the network also reads the input that produced each observation
            (``passive-io``), after the observation.
    """

    shape: ElmanShape
    weights: Tensor
    index: Tensor
    sees_input: bool = False

    def select(self, trials: Tensor | slice) -> Judge:
        return replace(self, index=self.index[trials])


@dataclass
class Trials:
    """What a batch of trials produced (trial axis last).

    Attributes:
        judgement: ``[n]`` the judge's output 0 after the last observation (``None``
            without a judge).
        failed: ``[n]`` bool, some observation was not finite.
        observations: ``[T, O, n]`` (recorded trials only).
        outputs: ``[T, outputs, n]``, the judge's outputs after each observation.
        actions: ``[T - 1, A, n]``, the inputs between observations.
    """

    judgement: Tensor | None
    failed: Tensor
    observations: Tensor | None = None
    outputs: Tensor | None = None
    actions: Tensor | None = None

    @property
    def judged_genuine(self) -> Tensor:
        """``[n]`` bool: judged genuine (a failed trial never is)."""
        return (self.judgement >= 0.5) & ~self.failed


def default_threads() -> int:
    """CPU threads of native kernels: the cores this process may use. Threads take work
    from a shared counter, so on a busy machine a slow thread delays only its own share."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# ----------------------------------------------------------------------------- backends
def native_kernel(system, steps: int) -> native.CompiledKernel | str:
    """The system's compiled native kernel, or why there is none."""
    spec = system.native_kernel(steps)
    if spec is None:
        return f"{system.name} has no native kernel"
    kernel = native.load(spec)
    if isinstance(kernel, str):
        return kernel
    declared = (system.observation_size, system.action_size)
    if (kernel.observation_size, kernel.action_size) != declared:
        return (
            f"{spec.source.name} simulates {kernel.observation_size} observations and "
            f"{kernel.action_size} actions, {system.name} declares {declared}"
        )
    return kernel


def resolve_backend(system, steps: int, device: torch.device | str, requested: str = "auto") -> str:
    """The backend ``auto`` means: ``native`` on a CPU where the system has a kernel that
    builds, ``compiled`` on CUDA, else ``eager``. An explicit request is returned as is
    (:class:`Engine` reports what it cannot do)."""
    if requested != "auto":
        return requested
    device = torch.device(device)
    if device.type == "cpu" and system.native_kernel(steps) is not None:
        kernel = native_kernel(system, steps)
        if not isinstance(kernel, str):
            return "native"
        _warn_once(f"{system.name}: native kernel unavailable ({kernel}); simulating with torch")
    if device.type == "cuda":
        return "compiled"
    return "eager"


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


# ----------------------------------------------------------------------------- the engine
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
            never changes results). ``None``: the system's default on a CPU, a whole batch
            (up to 2^20 trials) on CUDA.
        threads: CPU threads of the native kernel (default: :func:`default_threads`).
        cuda_graphs: capture trial loops in CUDA graphs on CUDA (compiled backend).
    """

    system: Any
    steps: int
    device: torch.device | str = "cpu"
    backend: str = "auto"
    chunk_size: int | None = None
    threads: int | None = None
    cuda_graphs: bool = True
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
            if self.device.type != "cpu":
                raise ValueError(f"the native backend runs on the CPU, not {self.device}")
            kernel = native_kernel(self.system, self.steps)
            if isinstance(kernel, str):
                raise RuntimeError(f"{self.system.name}: no native kernel: {kernel}")
            self._kernel = kernel
            self._options = torch.tensor(
                self.system.native_kernel(self.steps).options or (0.0,), dtype=torch.float32
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
        backend = self.backend
        if (isinstance(inputs, Policy) or observe is not None) and backend != "eager":
            backend = "eager"  # Python called between steps: only the stepwise loop
        if observe is not None:
            return self._loop(params, noise, judge, inputs, start, record, observe=observe)
        if backend == "native":
            return self._native(params, noise, judge, inputs, start, record)
        chunk = max(1, int(self.chunk_size))
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
                    _select_inputs(inputs, index),
                    _select_start(start, index),
                    record,
                )
            )
        return _concatenate(parts)

    # ------------------------------------------------------------------ native
    def _native(self, params, noise, judge, inputs, start, record) -> Trials:
        system, kernel, steps = self.system, self._kernel, self.steps
        n = params.shape[-1]
        if params.shape[0] != kernel.simulation_size:
            raise SystemContractError(
                f"{system.name}: its native kernel takes {kernel.simulation_size} simulation "
                f"parameters, got {params.shape[0]}"
            )
        keep = []  # tensors whose memory the kernel reads or writes

        def arg(tensor, dtype):
            tensor = tensor.to(device="cpu", dtype=dtype).contiguous()
            keep.append(tensor)
            return tensor

        key = noise.key
        key_stride = 0 if key.shape[-1] == 1 else 1
        fields: dict[str, Any] = dict(
            n=n,
            steps=steps,
            inputs_from=native.INPUTS_FROM[_source_name(inputs)],
            judge_sees_input=int(bool(judge is not None and judge.sees_input)),
            threads=int(self.threads or default_threads()),
            key_stride=key_stride,
            params=arg(params, torch.float32),
            key=arg(_as_int32(key), torch.int32),
            stream=arg(_as_int32(noise.stream), torch.int32),
            start_stream=arg(_as_int32(noise.start_stream), torch.int32),
            input_stream=arg(_as_int32(noise.input_stream), torch.int32),
            options=self._options,
            action_low=float(system.action_low),
            action_high=float(system.action_high),
        )
        if judge is not None:
            fields.update(
                hidden=judge.shape.hidden,
                net_inputs=judge.shape.inputs,
                net_outputs=judge.shape.outputs,
                n_weights=judge.shape.n_weights,
                weights=arg(judge.weights, torch.float32),
                interrogator=arg(judge.index, torch.int32),
            )
        if isinstance(inputs, Fixed):
            fields["fixed"] = arg(inputs.actions, torch.float32)
        if start is not None:
            if not isinstance(start, Tensor) or start.shape != (kernel.start_size, n):
                raise SystemContractError(
                    f"{system.name}: its native kernel takes starts of shape "
                    f"({kernel.start_size}, {n})"
                )
            fields["start"] = arg(start, torch.float32)
        judgement = torch.zeros(n, dtype=torch.float32)
        failed = torch.zeros(n, dtype=torch.uint8)
        fields.update(judgement=judgement, failed=failed)
        recorded = {}
        if record:
            recorded["observations"] = torch.empty(steps, system.observation_size, n)
            recorded["actions"] = torch.empty(max(0, steps - 1), system.action_size, n)
            fields.update(rec_obs=recorded["observations"], rec_act=recorded["actions"])
            if judge is not None:
                recorded["outputs"] = torch.empty(steps, judge.shape.outputs, n)
                fields["rec_out"] = recorded["outputs"]
        kernel.run(**fields)
        return Trials(judgement if judge is not None else None, failed.bool(), **recorded)

    # ------------------------------------------------------------------ torch
    def _torch(self, backend, params, noise, judge, inputs, start, record) -> Trials:
        if (
            backend == "compiled"
            and self.device.type == "cuda"
            and self.cuda_graphs
            and not isinstance(inputs, Policy)
        ):
            return self._graphed(params, noise, judge, inputs, start, record)
        step = self._compiled_step(judge, inputs) if backend == "compiled" else None
        return self._loop(params, noise, judge, inputs, start, record, step)

    def _loop(
        self, params, noise, judge, inputs, start, record, compiled=None, observe=None
    ) -> Trials:
        """The reference trial loop (eager), or the same loop calling one compiled
        function per control step."""
        system, steps = self.system, self.steps
        n = params.shape[-1]
        state, obs = self._reset(params, noise, start)
        passive_inputs = (
            system.passive_inputs(n, steps, noise.inputs(), self.device)
            if inputs is PASSIVE
            else None
        )
        nets = None if judge is None else _networks(judge, params.dtype)
        hidden = None if nets is None else nets.initial_state()
        previous = (
            system.initial_action(n, self.device).to(obs.dtype)
            if judge is not None and judge.sees_input
            else None
        )
        health = torch.zeros(n, dtype=obs.dtype, device=self.device)
        out = None
        rows: dict[str, list[Tensor]] = {"observations": [], "outputs": [], "actions": []}
        times = self._times() if compiled is not None else None
        for t in range(steps):
            last = t == steps - 1
            if compiled is not None and not last and not record:
                fixed = inputs.actions[t] if isinstance(inputs, Fixed) else None
                state, obs, hidden, previous, health = compiled(
                    state, params, obs, hidden, previous, health, times[t + 1],
                    noise, nets, passive_inputs, fixed,
                )  # fmt: skip
                continue
            health = health + obs.sum(0)
            if nets is not None:
                x = obs if previous is None else torch.cat([obs, previous])
                hidden, out = nets.step(hidden, x)
            if record:
                rows["observations"].append(obs.clone())
                if out is not None:
                    rows["outputs"].append(out.clone())
            if last:
                if observe is not None:
                    observe(t, obs, out, None)
                break
            action = self._choose(t, obs, out, params, inputs, passive_inputs)
            if observe is not None:
                observe(t, obs, out, action)
            if record:
                rows["actions"].append(action.clone())
            state, obs = self._step(state, params, action, noise.at(t + 1))
            if previous is not None:
                previous = action.to(obs.dtype)
        failed = ~torch.isfinite(health)
        judgement = None if out is None else out[0].clone()
        recorded = {}
        if record:
            recorded = {k: torch.stack(v) for k, v in rows.items() if v}
            if "actions" not in recorded:
                recorded["actions"] = params.new_zeros(0, system.action_size, n)
        return Trials(judgement, failed, **recorded)

    def _reset(self, params, noise, start):
        system = self.system
        at0 = noise.at(0)
        with _migration_hint(system, "reset"):
            if start is None:
                result = system.reset(params, at0)
            else:
                result = system.reset(params, at0, start=start)
        state, obs = _pair(result, system, "reset")
        self._check(obs, "reset", params.shape[-1], system.observation_size)
        return state, obs

    def _step(self, state, params, action, noise):
        system = self.system
        if self._checked:
            state, obs = system.step(state, params, action, noise)
            return state, obs
        with _migration_hint(system, "step"):
            state, obs = _pair(system.step(state, params, action, noise), system, "step")
        if not self._checked:
            self._check(obs, "step", params.shape[-1], system.observation_size)
            self._checked = True
        return state, obs

    def _choose(self, t, obs, out, params, inputs, passive_inputs) -> Tensor:
        system = self.system
        if inputs == JUDGE:
            span = float(system.action_high) - float(system.action_low)
            return out[1:] * span + float(system.action_low)
        if inputs is PASSIVE:
            action = system.passive_action(t, obs, params, passive_inputs)
        elif isinstance(inputs, Fixed):
            action = inputs.actions[t]
        elif isinstance(inputs, Policy):
            action = inputs.choose(t, obs, out)
        else:
            raise ValueError(f"unknown input source {inputs!r}")
        self._check(action, "the input", params.shape[-1], system.action_size)
        return action

    def _check(self, value, what: str, n: int, size: int) -> None:
        system = self.system
        if not isinstance(value, Tensor) or tuple(value.shape) != (size, n):
            got = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise SystemContractError(
                f"{system.name}: {what} returned shape {got}, expected ({size}, {n}) "
                "(features first, trial axis last)"
            )
        if not value.is_floating_point():
            raise SystemContractError(
                f"{system.name}: {what} returned a {value.dtype} tensor, expected floating "
                "point (create it like params, e.g. params.new_zeros)"
            )
        if value.device.type != self.device.type:
            raise SystemContractError(
                f"{system.name}: {what} returned a tensor on {value.device}, expected "
                f"{self.device} (create tensors on params.device)"
            )

    # ------------------------------------------------------------------ compiled
    def _compiled_step(self, judge, inputs):
        """One control step, judge + input + system, as one compiled function."""
        key = (None if judge is None else (judge.shape, judge.sees_input), _source_name(inputs))
        if key not in self._compiled:
            system = self.system
            low = float(system.action_low)
            span = float(system.action_high) - low
            source = _source_name(inputs)

            def fused(state, params, obs, hidden, previous, health, t, noise, nets, passive, fixed):
                health = health + obs.sum(0)
                out = None
                if nets is not None:
                    x = obs if previous is None else torch.cat([obs, previous])
                    hidden, out = nets.forward(hidden, x)
                if source == JUDGE:
                    action = out[1:] * span + low
                elif source == "passive":
                    action = system.passive_action(t - 1, obs, params, passive)
                else:
                    action = fixed
                state, obs = system.step(state, params, action, noise.at(t))
                if previous is not None:
                    previous = action.to(obs.dtype)
                return state, obs, hidden, previous, health

            # Each configuration gets a code object of its own: torch.compile caches compiled
            # graphs per code object, and configurations sharing one would evict each other.
            code = fused.__code__.replace(co_name=f"fused_step_{len(_FUSED_NAMES)}")
            _FUSED_NAMES.append(code.co_name)
            function = types.FunctionType(code, fused.__globals__, code.co_name,
                                          fused.__defaults__, fused.__closure__)  # fmt: skip
            # dynamic: one compilation serves every batch size (runs batched, chunk tails).
            self._compiled[key] = torch.compile(function, dynamic=True)
        return self._compiled[key]

    def _graphed(self, params, noise, judge, inputs, start, record) -> Trials:
        """The trial loop of a chunk on CUDA: reset eagerly (it may sample, e.g. rejection
        sampling of start poses), then every control step replayed from one CUDA graph of
        the compiled steps, captured on the first chunk of each shape."""
        if record:  # recording keeps every step: the plain compiled loop
            return self._loop(
                params, noise, judge, inputs, start, record, self._compiled_step(judge, inputs)
            )
        state, obs = self._reset(params, noise, start)
        n = params.shape[-1]
        passive = (
            self.system.passive_inputs(n, self.steps, noise.inputs(), self.device)
            if inputs is PASSIVE
            else None
        )
        batch = _GraphInputs(params, noise, judge, inputs, state, obs, passive)
        key = (batch.signature(), _source_name(inputs))
        graph = self._graphs.get(key)
        if graph is None:
            graph = self._graphs[key] = _CudaGraph(self, batch, judge, inputs)
        return graph.replay(batch)

    def _steps_loop(self, batch: _GraphInputs, judge, inputs, step) -> Trials:
        """The control steps of a reset batch (what a CUDA graph holds): the compiled step
        for ``t < steps - 1``, then the judge reads the last observation."""
        nets = None if judge is None else _networks(batch.judge, batch.params.dtype)
        hidden = None if nets is None else nets.initial_state()
        n = batch.params.shape[-1]
        previous = (
            self.system.initial_action(n, self.device).to(batch.obs.dtype)
            if judge is not None and judge.sees_input
            else None
        )
        health = torch.zeros(n, dtype=batch.obs.dtype, device=self.device)
        state, obs = batch.state, batch.obs
        times = self._times()
        for t in range(self.steps - 1):
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

    def _times(self) -> list[Tensor]:
        """Step indices as device tensors, made once (a CUDA graph cannot copy from the host
        while it captures)."""
        if getattr(self, "_step_times", None) is None:
            self._step_times = _step_tensors(self.steps, self.device)
        return self._step_times


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

    def __init__(self, engine: Engine, batch: _GraphInputs, judge, inputs):
        self.engine = engine
        self.judge, self.inputs = judge, inputs
        self.step = engine._compiled_step(judge, inputs)
        self.static = batch.clone()
        self.graph = None
        try:
            # Warm up on a side stream (compilation, allocator pools), then capture.
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    engine._steps_loop(self.static, judge, inputs, self.step)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self.outputs = engine._steps_loop(self.static, judge, inputs, self.step)
            self.graph = graph
        except Exception as exc:  # capture is an optimisation: fall back to launching
            _warn_once(
                f"CUDA graph capture failed ({type(exc).__name__}: {exc}); running the "
                "compiled steps uncaptured"
            )

    def replay(self, batch: _GraphInputs) -> Trials:
        if self.graph is None:
            return self.engine._steps_loop(batch, self.judge, self.inputs, self.step)
        self.static.copy_from(batch)
        self.graph.replay()
        judgement = self.outputs.judgement
        return Trials(None if judgement is None else judgement.clone(), self.outputs.failed.clone())


# ----------------------------------------------------------------------------- helpers
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


_FUSED_NAMES: list[str] = []
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


def _networks(judge: Judge, dtype) -> ElmanTrials:
    weights = judge.weights.to(device=judge.index.device, dtype=dtype)
    return InterrogatorPopulation(judge.shape, weights).trials(judge.index)


def _source_name(inputs: InputSource) -> str:
    if inputs == JUDGE:
        return JUDGE
    if inputs is PASSIVE:
        return "passive"
    if isinstance(inputs, Fixed):
        return "fixed"
    if isinstance(inputs, Policy):
        return "policy"
    raise ValueError(f"unknown input source {inputs!r}")


def _select_inputs(inputs: InputSource, index: Tensor) -> InputSource:
    return Fixed(inputs.actions[..., index]) if isinstance(inputs, Fixed) else inputs


def _select_start(start: Any, index: Tensor) -> Any:
    if start is None:
        return None
    if isinstance(start, Tensor):
        return start[..., index]
    if isinstance(start, tuple | list):
        return type(start)(_select_start(s, index) for s in start)
    if isinstance(start, dict):
        return {k: _select_start(v, index) for k, v in start.items()}
    raise SystemContractError(
        f"sample_starts returned a {type(start).__name__}; return tensors (trial axis last), "
        "or tuples, lists or dicts of them"
    )


def _concatenate(parts: list[Trials]) -> Trials:
    def cat(name):
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else torch.cat(values, dim=-1)

    return Trials(
        *(cat(name) for name in ("judgement", "failed", "observations", "outputs", "actions"))
    )


def _as_int32(words: Tensor) -> Tensor:
    """uint32 values held in int64, as the same bits in int32 (what the kernels read)."""
    words = words & 0xFFFFFFFF
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)


def _step_tensors(steps: int, device) -> list[Tensor]:
    return [torch.tensor(t, dtype=torch.int64, device=device) for t in range(steps)]


class _migration_hint:
    """Turns the TypeError of a system written for engine 1 (``torch.rand(...,
    generator=generator)``) into a one-line contract error that says what changed."""

    def __init__(self, system, what: str):
        self.system, self.what = system, what

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is TypeError and "Noise" in str(value) and "generator" in str(value):
            raise SystemContractError(
                f"{self.system.name}: {self.what} passes its noise argument to torch as a "
                "generator; since turing-learning 0.2 systems draw from the Noise they "
                "receive: noise.uniform(k) and noise.normal(k) give [k, n] draws "
                "(docs/adding-a-system.md)"
            ) from None
        return False


def _pair(result, system, what: str):
    if not (isinstance(result, tuple) and len(result) == 2):
        raise SystemContractError(
            f"{system.name}: {what} returned {type(result).__name__}, expected a "
            "(state, observation) pair"
        )
    return result


def trial_steps(trials: int, steps: int) -> int:
    """Robot-steps (trial-steps) of ``trials`` trials: the unit of the speed figures."""
    return int(trials) * int(steps)


__all__ = [
    "BACKENDS",
    "JUDGE",
    "PASSIVE",
    "Engine",
    "Fixed",
    "Judge",
    "Policy",
    "Trials",
    "default_threads",
    "resolve_backend",
    "simulate",
    "trial_steps",
]
