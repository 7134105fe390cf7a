"""The native backend: a batch of trials in one call of the system's fused kernel.

The engine's tensors are passed by pointer (contiguous copies in the kernel's dtypes, on the
kernel's device, kept alive during the call); see ``args.h``'s ``TrialArgs`` for what each
one is. On the CPU the call runs ``driver.h``'s threads; on CUDA one launch runs every trial
(:mod:`turing.engine.fused.cuda`). What a generated kernel does not draw itself is drawn
here, by the system's own torch methods: random start conditions and passive inputs.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from turing.engine import native
from turing.engine.trials import PASSIVE, Fixed, Trials, default_threads, source_name
from turing.errors import SystemContractError

Tensor = torch.Tensor


def run_native(engine, params, noise, judge, inputs, start, record) -> Trials:
    system, kernel, steps = engine.system, engine._kernel, engine.steps
    device = engine.device
    n = params.shape[-1]
    if params.shape[0] != kernel.simulation_size:
        raise SystemContractError(
            f"{system.name}: its native kernel takes {kernel.simulation_size} simulation "
            f"parameters, got {params.shape[0]}"
        )
    keep = []  # tensors whose memory the kernel reads or writes

    def arg(tensor, dtype):
        tensor = torch.as_tensor(tensor).to(device=device, dtype=dtype).contiguous()
        keep.append(tensor)
        return tensor

    key = noise.key
    low, high = system.action_bounds()
    fields: dict[str, Any] = dict(
        n=n,
        steps=steps,
        inputs_from=native.INPUTS_FROM[source_name(inputs)],
        judge_sees_input=int(bool(judge is not None and judge.sees_input)),
        threads=int(engine.threads or default_threads()),
        key_stride=0 if key.shape[-1] == 1 else 1,
        params=arg(params, torch.float32),
        key=arg(as_int32(key), torch.int32),
        stream=arg(as_int32(noise.stream), torch.int32),
        start_stream=arg(as_int32(noise.start_stream), torch.int32),
        input_stream=arg(as_int32(noise.input_stream), torch.int32),
        options=arg(engine._options, torch.float32),
        action_low=arg(low, torch.float32),
        action_span=arg(high - low, torch.float32),
        action_initial=arg(system.initial_action(1, "cpu")[:, 0], torch.float32),
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
    generated = kernel.generated
    if generated is not None:
        # What the torch form draws outside the trial loop, drawn by it: start conditions
        # (which may loop until one is free) and the passive input's exogenous draws.
        with _one_cpu_thread(device):
            if generated.sizes["START_SIZE"] and start is None:
                start = system.sample_starts(n, noise.starts(), device)
            if start is not None:
                start = rows(start, n)
            if inputs is PASSIVE and generated.sizes["PIN_SIZE"]:
                drawn = system.passive_inputs(n, steps, noise.inputs(), device)
                fields["pin"] = arg(rows(drawn, n), torch.float32)
    if start is not None:
        if not isinstance(start, Tensor) or start.shape != (kernel.start_size, n):
            raise SystemContractError(
                f"{system.name}: its native kernel takes starts of shape ({kernel.start_size}, {n})"
            )
        fields["start"] = arg(start, torch.float32)
    judgement = torch.zeros(n, dtype=torch.float32, device=device)
    failed = torch.zeros(n, dtype=torch.uint8, device=device)
    fields.update(judgement=judgement, failed=failed)
    recorded = {}
    if record:
        recorded["observations"] = torch.empty(steps, system.observation_size, n, device=device)
        recorded["actions"] = torch.empty(max(0, steps - 1), system.action_size, n, device=device)
        fields.update(rec_obs=recorded["observations"], rec_act=recorded["actions"])
        if judge is not None:
            recorded["outputs"] = torch.empty(steps, judge.shape.outputs, n, device=device)
            fields["rec_out"] = recorded["outputs"]
    kernel.run(device=device, **fields)
    return Trials(judgement if judge is not None else None, failed.bool(), **recorded)


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device):
    """torch on one thread for the small draws made beside a kernel: a rejection sampler's
    few dozen short operations took 7x the CPU time on two threads of a busy machine (the
    threads wait for each other at every operation), 5-70% of a generation's kernel time."""
    if device.type != "cpu" or torch.get_num_threads() == 1:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def rows(tree: Any, n: int) -> Tensor:
    """The leaves of a pytree of ``[..., n]`` tensors as the rows of one ``[rows, n]`` float32
    tensor, in the order the generated kernel reads them."""
    leaves = torch.utils._pytree.tree_leaves(tree)
    return torch.cat([leaf.reshape(-1, n).to(torch.float32) for leaf in leaves])


def as_int32(words: Tensor) -> Tensor:
    """uint32 values held in int64, as the same bits in int32 (what the kernels read)."""
    words = words & 0xFFFFFFFF
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)
