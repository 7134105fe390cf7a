"""The native backend: a batch of trials in one call of the system's C kernel.

The engine's tensors are passed by pointer (contiguous CPU copies in the kernel's dtypes,
kept alive during the call); see ``driver.h``'s ``TrialArgs`` for what each one is.
"""

from __future__ import annotations

from typing import Any

import torch

from turing.engine import native
from turing.engine.trials import Fixed, Trials, default_threads, source_name
from turing.errors import SystemContractError

Tensor = torch.Tensor


def run_native(engine, params, noise, judge, inputs, start, record) -> Trials:
    system, kernel, steps = engine.system, engine._kernel, engine.steps
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
        inputs_from=native.INPUTS_FROM[source_name(inputs)],
        judge_sees_input=int(bool(judge is not None and judge.sees_input)),
        threads=int(engine.threads or default_threads()),
        key_stride=key_stride,
        params=arg(params, torch.float32),
        key=arg(as_int32(key), torch.int32),
        stream=arg(as_int32(noise.stream), torch.int32),
        start_stream=arg(as_int32(noise.start_stream), torch.int32),
        input_stream=arg(as_int32(noise.input_stream), torch.int32),
        options=engine._options,
        # Kernels take one pair of action bounds (native_kernel refuses others).
        action_low=float(system.action_bounds()[0][0]),
        action_high=float(system.action_bounds()[1][0]),
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
                f"{system.name}: its native kernel takes starts of shape ({kernel.start_size}, {n})"
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


def as_int32(words: Tensor) -> Tensor:
    """uint32 values held in int64, as the same bits in int32 (what the kernels read)."""
    words = words & 0xFFFFFFFF
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)
