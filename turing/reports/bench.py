"""Benchmarks: generations of the all-vs-all evaluator on each backend, and a per-trial loop.

A generation at the paper's sizes is ``2 P M`` trials (20,000) of ``steps`` observations.
Each backend of the trial engine is timed on the same generation (``native``: the fused
kernel generated from the system's torch methods, whole trials on CPU threads or CUDA;
``compiled``: torch.compile, CUDA graphs on a GPU; ``eager``: plain torch, the reference).
The torch backends on a CPU are timed on one chunk of a generation (the system's
``default_chunk_size`` trials, what a run simulates at once: a smaller batch would sit in
the CPU's caches and run faster per trial than runs do) and scaled, which is exact for
throughput since trials are independent. With ``runs > 1``,
that many runs (seeds) share one batch, as ``turing compare --device cuda`` runs them. The
per-trial reference is what one would write without batching: one interrogator stepping the
system's Gymnasium env one trial at a time. Figures are printed, never asserted.

``busy`` starts that many CPU-bound processes for the duration, to show how the default
threads behave on a shared machine.
"""

from __future__ import annotations

import multiprocessing
import time
from contextlib import contextmanager
from typing import Any

import gymnasium
import numpy as np
import torch

from turing.agents import InterrogatorPopulation
from turing.contracts.seeding import numpy_generator
from turing.engine import BACKENDS, default_threads, native_kernel, resolve_backend, stream_key
from turing.engine.evaluator import Evaluator, Request, interrogator_shape
from turing.integrations.registry import get_registration, make_system


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
    backends: tuple[str, ...] | None = None,
    runs: int = 1,
    threads: int | None = None,
    reference_trials: int | None = None,
    busy: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Times ``generations`` generations (interrogation mode) on each backend and a
    per-trial Gymnasium loop for about ``gym_seconds``.

    Args:
        backends: backends to time (default: every one that runs on ``device``); the first
            of them that ``auto`` would choose gives ``seconds_per_generation``.
        runs: runs batched together per generation (their trials are one batch).
        threads: CPU threads of the native kernel and of torch (default: every core for the
            native kernel, one for torch, as runs use them).
        reference_trials: trials of a generation the eager backend (and, on a CPU, the
            compiled one) is timed on (default: one chunk, as runs simulate them).
        busy: CPU-bound processes to run meanwhile.

    Returns:
        figures: ``seconds_per_generation`` (median, the chosen backend, per run),
        ``steps_per_second`` (trial-steps of all batched runs per second), per backend
        ``seconds_per_generation_<b>``, ``steps_per_second_<b>``, ``first_generation_seconds_<b>``
        (building and compiling included), ``runs_batched``, the gym loop's figures,
        ``speedup``, and more.
    """
    system = make_system(system_name, **(system_options or {}))
    shape = interrogator_shape(system, "interrogate")
    steps = system.default_steps
    device = str(torch.device(device))
    torch.set_num_threads(int(threads or 1))
    chosen = resolve_backend(system, steps, device, "auto")
    if backends is None:
        fused = not isinstance(native_kernel(system, steps, device), str)
        backends = tuple(b for b in BACKENDS if b != "native" or fused)
    default = chosen if chosen in backends else backends[0]
    requests = _requests(system, shape, models, interrogators, runs, seed, device)
    trials = 2 * models * interrogators * runs
    timed: dict[str, dict[str, float]] = {}
    chunk = int(chunk_size or system.default_chunk_size)
    with _busy_processes(busy):
        for backend in backends:
            part = trials
            if backend == "eager" or (backend == "compiled" and device == "cpu"):
                part = min(trials, max(2, reference_trials or chunk))
            timed[backend] = _time_backend(
                system, backend, requests, steps, device, chunk_size, threads,
                generations if backend == default else min(generations, 3), part,
            )  # fmt: skip
        gym_steps, gym_trials, gym_time = _gym_loop(
            system_name, system_options or {}, shape, requests[0].weights[0], steps, gym_seconds
        )
    seconds = timed[default]["seconds"]
    batched_sps = trials * steps / seconds
    gym_sps = gym_steps / gym_time
    figures: dict[str, Any] = {
        "system": system.name,
        "device": device,
        "device_name": _device_name(device),
        "threads": int(threads or (default_threads() if default == "native" else 1)),
        "busy_processes": busy,
        "models": models,
        "interrogators": interrogators,
        "steps": steps,
        "runs_batched": runs,
        "trials_per_generation": 2 * models * interrogators,
        "backend": default,
        "compiled": default in ("compiled", "native"),
        "generations_timed": generations,
        "seconds_per_generation": seconds / runs,
        "seconds_per_generation_min": timed[default]["min"] / runs,
        "seconds_per_batch": seconds,
        "trials_per_second": trials / seconds,
        "steps_per_second": batched_sps,
        "gym_loop_trials": gym_trials,
        "gym_loop_seconds": gym_time,
        "gym_loop_trials_per_second": gym_trials / gym_time,
        "gym_loop_steps_per_second": gym_sps,
        "speedup": batched_sps / gym_sps,
        "seconds_per_1000_generations": 1000 * seconds / runs,
        "env_id": get_registration(system.name).env_id,
    }
    for backend, timing in timed.items():
        figures[f"seconds_per_generation_{backend}"] = timing["seconds"] / runs
        figures[f"steps_per_second_{backend}"] = trials * steps / timing["seconds"]
        figures[f"first_generation_seconds_{backend}"] = timing["first"]
        figures[f"timed_trials_{backend}"] = timing["trials"]
    return figures


def _requests(system, shape, models, interrogators, runs, seed, device) -> list[Request]:
    """``runs`` generations of random models and interrogators (as a run's early
    generations look: weights N(0, 1), models uniform within bounds)."""
    rng = numpy_generator(seed, "bench")
    requests = []
    for run in range(runs):
        genes = rng.uniform(system.lows, system.highs, size=(models, len(system.lows)))
        model_params = system.simulation_params(
            torch.as_tensor(genes.T.copy(), dtype=torch.float32, device=device),
            system.make_truth(),
        )
        weights = torch.as_tensor(
            rng.normal(0, 1, size=(interrogators, shape.n_weights)), dtype=torch.float32
        )
        requests.append(Request(model_params, weights, stream_key(seed + run, "simulation", 0)))
    return requests


def _time_backend(system, backend, requests, steps, device, chunk, threads, count, part):
    """Median and fastest seconds of a whole batch of ``requests`` on ``backend``, after a
    warm-up (building, compiling); a backend timed on ``part`` of the trials is scaled."""
    truth = system.make_truth()
    evaluator = Evaluator(
        system, "interrogate", torch.tensor(truth.simulation), steps, device, chunk,
        backend, threads,
    )  # fmt: skip
    total = sum(2 * r.weights.shape[0] * r.models.shape[1] for r in requests)
    if part < total:
        # Part of the first run's generation: the first interrogators, all models.
        first = requests[0]
        keep = max(1, part // (2 * first.models.shape[1]))
        requests = [Request(first.models, first.weights[:keep], first.key)]
        part = 2 * keep * first.models.shape[1]
    scale = total / part

    def synchronize():
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()

    start = time.perf_counter()
    evaluator.evaluate_many(requests)
    synchronize()
    first = time.perf_counter() - start
    times = []
    for _ in range(max(1, count)):
        start = time.perf_counter()
        evaluator.evaluate_many(requests)
        synchronize()
        times.append(time.perf_counter() - start)
    return {
        "seconds": float(np.median(times)) * scale,
        "min": float(np.min(times)) * scale,
        "first": first,
        "trials": part,
    }


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


def _device_name(device: str) -> str:
    kind = torch.device(device)
    if kind.type == "cuda":
        return torch.cuda.get_device_name(kind)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _spin() -> None:  # a busy process: pure CPU, no memory traffic
    x = 0
    while True:
        x += 1


@contextmanager
def _busy_processes(count: int):
    processes = []
    try:
        context = multiprocessing.get_context("spawn")
        for _ in range(count):
            process = context.Process(target=_spin, daemon=True)
            process.start()
            processes.append(process)
        if processes:
            time.sleep(0.5)  # let them take the cores
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()
