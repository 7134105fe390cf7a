"""Benchmarks: whole generations of the batched evaluator against a per-trial Gymnasium loop.

A generation at the paper's sizes is ``2 P M`` trials (20,000) of ``steps`` interrogator
updates each. The reference is what one would write without batching: one interrogator
stepping one Gymnasium env (the system's registered env) one trial at a time. Both are
timed in the same process; figures are printed, never asserted.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium
import numpy as np
import torch

from turing.agents import InterrogatorPopulation
from turing.evaluator import Evaluator, interrogator_shape
from turing.registry import get_registration, make_system
from turing.seeding import numpy_generator, torch_generator


def benchmark(
    system_name: str,
    *,
    generations: int = 5,
    models: int = 100,
    interrogators: int = 100,
    device: str = "cpu",
    gym_seconds: float = 3.0,
    seed: int = 0,
    chunk_size: int | None = None,
    system_options: dict[str, Any] | None = None,
    progress: bool = False,
    compile: bool | None = None,
) -> dict[str, Any]:
    """Times ``generations`` generations in interrogation mode and a per-trial Gymnasium
    loop for about ``gym_seconds``.

    Args:
        compile: time only the compiled (True) or the eager (False) simulator step; ``None``
            times both where the system supports compilation and reports the compiled one
            as ``steps_per_second``.

    Returns:
        figures: ``seconds_per_generation`` (median), ``steps_per_second`` (trial-steps of
        the batched evaluator), ``gym_loop_steps_per_second``, ``speedup``, per
        configuration ``steps_per_second_compiled`` / ``steps_per_second_eager`` and
        ``first_generation_seconds_*`` (including compilation), and more.
    """
    system = make_system(system_name, **(system_options or {}))
    shape = interrogator_shape(system, "interrogate")
    rng = numpy_generator(seed, "bench")
    lows, highs = system.lows, system.highs
    genes = rng.uniform(lows, highs, size=(models, len(lows)))
    model_params = system.simulation_params(
        torch.as_tensor(genes.T.copy(), dtype=torch.float32, device=device)
    )
    weights = torch.as_tensor(
        rng.normal(0, 1, size=(interrogators, shape.n_weights)), dtype=torch.float32
    )
    truth = system.make_truth()
    genuine = torch.tensor(truth.simulation)
    generator = torch_generator(seed, "simulation", device)
    # Compiled and eager are both timed where the system can compile (the figure asked for
    # decides `steps_per_second`; by default the compiled one, as runs of this size compile).
    default = (
        system.supports_compile if compile is None else bool(compile) and system.supports_compile
    )
    flags = [default] if compile is not None or not system.supports_compile else [True, False]
    timed: dict[bool, dict[str, Any]] = {}
    for flag in flags:
        evaluator = Evaluator(
            system, "interrogate", genuine, system.default_steps, device, chunk_size, compile=flag
        )
        # The other configuration is only the comparison: fewer generations for it.
        count = generations if flag == default else min(generations, 2)
        timed[flag] = _time_generations(evaluator, model_params, weights, generator, count, device)
    seconds = timed[default]["seconds"]
    trials = 2 * models * interrogators
    steps = system.default_steps

    gym_steps, gym_trials, gym_time = _gym_loop(
        system_name, system_options or {}, shape, weights[0], steps, gym_seconds
    )
    batched_sps = trials * steps / seconds
    gym_sps = gym_steps / gym_time
    figures = {
        "system": system.name,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "models": models,
        "interrogators": interrogators,
        "steps": steps,
        "trials_per_generation": trials,
        "compiled": default,
        "generations_timed": generations,
        "seconds_per_generation": seconds,
        "seconds_per_generation_min": timed[default]["min"],
        "trials_per_second": trials / seconds,
        "steps_per_second": batched_sps,
        "gym_loop_trials": gym_trials,
        "gym_loop_seconds": gym_time,
        "gym_loop_trials_per_second": gym_trials / gym_time,
        "gym_loop_steps_per_second": gym_sps,
        "speedup": batched_sps / gym_sps,
        "seconds_per_1000_generations": 1000 * seconds,
        "env_id": get_registration(system.name).env_id,
    }
    for flag, timing in timed.items():
        kind = "compiled" if flag else "eager"
        figures[f"seconds_per_generation_{kind}"] = timing["seconds"]
        figures[f"steps_per_second_{kind}"] = trials * steps / timing["seconds"]
        # The first generation includes building (and, compiled, compiling) the step.
        figures[f"first_generation_seconds_{kind}"] = timing["first"]
    return figures


def _time_generations(
    evaluator: Evaluator,
    model_params: torch.Tensor,
    weights: torch.Tensor,
    generator: torch.Generator,
    generations: int,
    device: str,
) -> dict[str, float]:
    """Median and fastest seconds of ``generations`` generations after a warm-up one."""

    def synchronize():
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()

    start = time.perf_counter()
    evaluator.evaluate(model_params, weights, generator)  # warm-up (allocations, compilation)
    synchronize()
    first = time.perf_counter() - start
    times = []
    for _ in range(generations):
        start = time.perf_counter()
        evaluator.evaluate(model_params, weights, generator)
        synchronize()
        times.append(time.perf_counter() - start)
    return {"seconds": float(np.median(times)), "min": float(np.min(times)), "first": first}


def _gym_loop(
    system_name, options, shape, weights, steps, budget_seconds
) -> tuple[int, int, float]:
    """One interrogator stepping one Gymnasium env, trial after trial, for about
    ``budget_seconds`` (at least 3 trials)."""
    env = gymnasium.make(get_registration(system_name).env_id, **options)
    system = (
        env.unwrapped.system
        if hasattr(env.unwrapped, "system")
        else make_system(system_name, **options)
    )
    low, span = float(system.action_low), float(system.action_high) - float(system.action_low)
    net = InterrogatorPopulation(shape, weights.reshape(1, -1)).trials(
        torch.zeros(1, dtype=torch.long)
    )
    total_steps, trials = 0, 0
    start = time.perf_counter()
    while trials < 3 or time.perf_counter() - start < budget_seconds:
        obs, _ = env.reset(seed=trials)
        hidden = net.initial_state()
        for t in range(steps):
            hidden, out = net.step(hidden, torch.as_tensor(obs).reshape(-1, 1))
            total_steps += 1
            if t == steps - 1:
                break
            action = (low + span * out[1:, 0]).numpy()
            obs, *_ = env.step(action)
        trials += 1
    elapsed = time.perf_counter() - start
    env.close()
    return total_steps, trials, elapsed
