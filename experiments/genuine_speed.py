"""How fast do genuine trials come from a Gymnasium environment, and what does the
Gymnasium path cost against the batched simulator?

1. Genuine trials per second from an env in worker processes (1 and 2 workers), each
   trial driven step by step by an interrogator network in this process, as in a run:
   ``Pendulum-v1`` (beside the ``pendulum`` model system) and ``turing/EpuckBullet-v0``
   (beside ``sensor-self-id``). The workers' start-up is not counted (a warm-up batch runs
   first).
2. Case study 1 with its own simulator as the genuine system, both ways: seconds per
   generation of ``interrogate`` (100 x 100, K genuine trials per generation) when the
   genuine trials are simulated in the same batch as the model trials (the default) and when
   they come from ``turing/AgentInference-v0`` in worker processes. Measured in turns, A B A
   B ..., so that a busy machine slows both alike; the ratios are the result.

    python experiments/genuine_speed.py                  # prints the tables, writes JSON
    python experiments/genuine_speed.py --envs Pendulum-v1 --trials 200
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import turing
from turing.agents import ElmanShape
from turing.engine import JUDGE, Engine, Judge, Noise, stream_key
from turing.genuine.batches import TrialBatch, TrialRunner
from turing.genuine.env_source import open_env_source
from turing.reports import experiment as E

PAIRS = {"Pendulum-v1": "pendulum", "turing/EpuckBullet-v0": "sensor-self-id",
         "turing/AgentInference-v0": "agent-inference"}  # fmt: skip


@dataclass
class Args:
    """Genuine trials per second from Gymnasium envs, and the Gymnasium path's overhead."""

    envs: tuple[str, ...] = ("Pendulum-v1", "turing/EpuckBullet-v0")
    """envs to time (each beside its model system)"""
    workers: tuple[int, ...] = (1, 2)
    """worker processes to try"""
    trials: int = 100
    """genuine trials per timed batch"""
    repeats: int = 3
    """timed batches per setting (the median is reported)"""
    budgets: tuple[int, ...] = (100, 1000)
    """genuine trials per generation for the overhead measurement"""
    generations: int = 3
    """timed generations per overhead measurement (after one untimed)"""
    out: str = "reports/genuine-speed"
    """where the JSON of the figures goes"""


def env_speed(env_id: str, workers: int, trials: int, repeats: int) -> dict:
    """Genuine trials per second of ``env_id`` with ``workers`` processes."""
    system = turing.make_system(PAIRS[env_id])
    steps = system.default_steps
    truth = system.make_truth()
    source = open_env_source(system, truth, steps, env_id, workers=workers)
    shape = ElmanShape(system.observation_size, 1 + system.action_size, 5)
    weights = torch.randn(1, shape.n_weights, generator=torch.Generator().manual_seed(0))
    judge = Judge(shape, weights, torch.zeros(trials, dtype=torch.long))
    runner = TrialRunner(Engine(system, steps, "cpu", "auto"), source)
    seconds = []
    try:
        for repeat in range(repeats + 1):
            noise = Noise.for_trials(stream_key(repeat, "speed"), trials)
            start = time.perf_counter()
            runner.run(TrialBatch(trials, None, noise, judge, JUDGE))
            if repeat:  # the first batch starts the workers
                seconds.append(time.perf_counter() - start)
    finally:
        source.close()
    median = float(np.median(seconds))
    return {"env": env_id, "workers": workers, "trials": trials, "steps": steps,
            "seconds": median, "trials_per_second": trials / median,
            "steps_per_second": trials * (steps - 1) / median}  # fmt: skip


def overhead(budget: int, workers: int, generations: int) -> dict:
    """Seconds per coevolution generation of case study 1, genuine trials simulated (A)
    against from ``turing/AgentInference-v0`` (B), measured in turns."""
    settings = dict(models=100, interrogators=100, seed=1, genuine_trials=budget, threads=1)
    config = turing.RunConfig(system="agent-inference", **settings)
    from turing.runs.runner import Runner

    config, system = Runner.resolve(config)
    truth = system.make_truth()
    method = turing.get_method("interrogate")
    batched = method(system, truth, config)
    env_source = open_env_source(system, truth, config.steps, "turing/AgentInference-v0",
                                 workers=workers)  # fmt: skip
    gym = method(system, truth, config, env_source)
    try:
        batched.generation(), gym.generation()  # warm-up: workers start, kernels load
        times = {"batched": [], "gymnasium": []}
        for _ in range(generations):
            for name, run in (("batched", batched), ("gymnasium", gym)):
                start = time.perf_counter()
                run.generation()
                times[name].append(time.perf_counter() - start)
    finally:
        env_source.close()
    a, b = float(np.median(times["batched"])), float(np.median(times["gymnasium"]))
    return {"genuine_per_generation": budget, "workers": workers, "batched_seconds": a,
            "gymnasium_seconds": b, "ratio": b / a}  # fmt: skip


def run(args: Args | None = None, **changes) -> dict:
    args = dataclasses.replace(args or Args(), **changes)
    load = os.getloadavg()[0]
    figures = {"load_average": load, "cpus": os.cpu_count(), "envs": [], "overhead": []}
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs\n")
    print("| env | workers | trials/s | env steps/s |\n|---|---|---|---|")
    for env_id in args.envs:
        for workers in args.workers:
            row = env_speed(env_id, workers, args.trials, args.repeats)
            figures["envs"].append(row)
            print(f"| {env_id} | {workers} | {row['trials_per_second']:.1f} | "
                  f"{row['steps_per_second']:,.0f} |")  # fmt: skip
    print("\n| genuine trials / generation | workers | batched s/gen | Gymnasium s/gen | ratio |")
    print("|---|---|---|---|---|")
    for budget in args.budgets:
        for workers in args.workers:
            row = overhead(budget, workers, args.generations)
            figures["overhead"].append(row)
            print(f"| {budget} | {workers} | {row['batched_seconds']:.3f} | "
                  f"{row['gymnasium_seconds']:.3f} | {row['ratio']:.1f} |")  # fmt: skip
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "speed.json").write_text(json.dumps(figures, indent=1) + "\n")
    return figures


if __name__ == "__main__":
    E.main(run, Args, "experiments/genuine_speed.py")
