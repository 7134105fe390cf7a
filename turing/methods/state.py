"""Checkpointing torch modules and optimizers as plain arrays (NPZ) and JSON.

Run folders never hold pickles, so ``torch.save`` is out: a module's ``state_dict`` is
stored as one array per tensor under a prefix, and an optimizer's per-parameter state
(Adam's moments and step counts) likewise, with its hyper-parameters in the JSON metadata.
Arrays round-trip bit for bit, so a resumed run continues exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn


def module_arrays(module: nn.Module, prefix: str) -> dict[str, np.ndarray]:
    """``{prefix/name: array}`` for every tensor of ``module.state_dict()``."""
    return {
        f"{prefix}/{k}": v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()
    }


def load_module_arrays(module: nn.Module, arrays: dict[str, np.ndarray], prefix: str) -> None:
    """Restores :func:`module_arrays` into ``module`` (same device and dtype as before)."""
    state = {}
    for name, current in module.state_dict().items():
        state[name] = torch.as_tensor(arrays[f"{prefix}/{name}"]).to(current.device, current.dtype)
    module.load_state_dict(state)


def optimizer_state(
    optimizer: torch.optim.Optimizer, prefix: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The optimizer's state as ``(arrays, json_meta)``."""
    saved = optimizer.state_dict()
    arrays = {}
    for index, values in saved["state"].items():
        for key, value in values.items():
            arrays[f"{prefix}/{index}/{key}"] = torch.as_tensor(value).detach().cpu().numpy().copy()
    return arrays, {"param_groups": saved["param_groups"], "indices": sorted(saved["state"])}


def load_optimizer_state(
    optimizer: torch.optim.Optimizer,
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
    prefix: str,
) -> None:
    """Restores :func:`optimizer_state`."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for index in meta["indices"]:
        head = f"{prefix}/{index}/"
        state[int(index)] = {
            k[len(head) :]: torch.from_numpy(v.copy())
            for k, v in arrays.items()
            if k.startswith(head)
        }
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
