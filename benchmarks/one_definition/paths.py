"""Seconds per generation of one system through each path the engine has, timed in one run.

A generation at the paper's sizes: 20,000 trials (100 interrogators x (100 models + 100
genuine)) of 100 steps, interrogation. Paths:

* ``hand-written``: the system's hand-written C kernel, the yardstick: for case study 2,
  engine 3's ``kernel.c`` (``epuck_kernel_engine3.c`` here, deleted from ``envs/epuck``);
  for the tutorial's system, ``tutorial_kernel.c`` here;
* ``generated``: the fused kernel generated from the system's torch methods
  (:mod:`turing.engine.fused`), the path a user's system gets;
* ``compiled`` / ``eager``: the torch backends (timed on part of a generation, scaled);
* ``chunked-K``: spike (a), ``torch.compile`` of K whole steps per call
  (``spike_chunked_compile.py``); ``numba``: spike (b), per-trial kernels compiled by numba
  (``spike_numba.py``; the tutorial's system and case study 2 only; needs numba).

Repeats are interleaved (A, B, A, B, ...) and the medians compared, so that load from other
processes weighs on every path alike; ``--busy K`` runs K CPU-bound processes meanwhile. The
machine's load (``uptime``) and CPU are printed with the figures, and the CPU seconds the
process spent (all its threads) beside the wall-clock seconds: on a machine shared with
other jobs, a path with more threads than another gets a larger share of the cores, which
the CPU seconds do not reward.

    python benchmarks/one_definition/paths.py sensor-self-id --threads 1,2 --busy 0,2
    python benchmarks/one_definition/paths.py tutorial --threads 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tutorial  # noqa: E402

import turing  # noqa: E402
import turing.engine.kernels as engine_module  # noqa: E402
from turing.agents import ElmanShape  # noqa: E402
from turing.engine import Engine, Judge, Noise, stream_key  # noqa: E402
from turing.reports.bench import _busy_processes, _device_name  # noqa: E402


def batch(system, n: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    low, high = torch.tensor(system.lows), torch.tensor(system.highs)
    genes = low[:, None] + (high - low)[:, None] * torch.rand(
        len(low), n, generator=generator, dtype=torch.float64
    )
    params = system.simulation_params(genes.float(), system.make_truth())
    shape = ElmanShape(system.observation_size, 1 + system.action_size, 5)
    weights = torch.randn(100, shape.n_weights, generator=generator)
    judge = Judge(shape, weights, torch.randint(0, 100, (n,), generator=generator))
    return params, Noise.for_trials(stream_key(seed, "simulation", 0), n), judge


def engines(system, threads: int, paths: list[str]) -> dict[str, tuple[Engine, float]]:
    """Each path's engine and its build seconds (tracing, compiling)."""
    built = {}
    for path in paths:
        start = time.perf_counter()
        if path == "hand-written":
            if system.native_kernel(100) is None:
                continue
            engine = Engine(system, 100, backend="native", threads=threads)
            if engine._kernel.generated is not None:
                continue
        elif path == "generated":
            saved = engine_module._hand_written
            engine_module._hand_written = lambda system, steps: None
            try:
                engine = Engine(system, 100, backend="native", threads=threads)
            finally:
                engine_module._hand_written = saved
        elif path.startswith("chunked-"):
            from spike_chunked_compile import ChunkedCompiled

            engine = ChunkedCompiled(system, 100, int(path.split("-")[1]))
        elif path == "numba":
            from spike_numba import NumbaPath  # needs numba (not a dependency)

            engine = NumbaPath("tutorial" if system.name == "my-range-sensor" else "epuck", threads)
        else:
            engine = Engine(system, 100, backend=path, threads=threads)
        built[path] = (engine, time.perf_counter() - start)
    return built


def measure(name: str, threads: int, busy: int, repeats: int, paths: list[str], trials: int):
    if name == "tutorial":
        system = tutorial.system()
    elif name == "sensor-self-id":
        from engine3_epuck import HandWrittenEpuck  # engine 3's kernel.c, the yardstick

        system = HandWrittenEpuck()
    else:
        system = turing.make_system(name)
    torch.set_num_threads(threads)
    params, noise, judge = batch(system, trials)
    built = engines(system, threads, paths)
    times: dict[str, list[float]] = {p: [] for p in built}
    cpu: dict[str, list[float]] = {p: [] for p in built}
    parts = {}
    for path, (engine, _) in built.items():
        part = trials if path in ("hand-written", "generated", "numba") else min(trials, 2000)
        if path == "eager" or path.startswith("chunked-"):
            part = min(trials, int(system.default_chunk_size))  # a whole chunk, as runs do
        index = torch.arange(part)
        parts[path] = (params[:, index], noise.select(index), judge.select(index), trials / part)
        first = time.perf_counter()
        engine.run(*parts[path][:3])  # warm-up: first compile of the torch backends
        built[path] = (engine, built[path][1] + time.perf_counter() - first)
    with _busy_processes(busy):
        for _ in range(repeats):
            for path, (engine, _) in built.items():
                p, z, j, scale = parts[path]
                start, start_cpu = time.perf_counter(), time.process_time()
                engine.run(p, z, j)
                times[path].append((time.perf_counter() - start) * scale)
                cpu[path].append((time.process_time() - start_cpu) * scale)
    rows = {}
    for path, values in times.items():
        rows[path] = {
            "seconds_per_generation": statistics.median(values),
            "min": min(values),
            "cpu_seconds_per_generation": statistics.median(cpu[path]),
            "build_seconds": built[path][1],
        }
    return {
        "system": system.name,
        "threads": threads,
        "busy": busy,
        "load": os.getloadavg()[0],
        "cpu": _device_name("cpu"),
        "paths": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", help="a registered system, or 'tutorial'")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--busy", default="0")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=20000)
    parser.add_argument("--paths", default="hand-written,generated,compiled,eager")
    parser.add_argument("--json", type=Path, help="append each result as a JSON line here")
    args = parser.parse_args()
    paths = args.paths.split(",")
    print(f"{platform.node()}: {_device_name('cpu')}, torch {torch.__version__}")
    for busy in (int(b) for b in args.busy.split(",")):
        for threads in (int(t) for t in args.threads.split(",")):
            result = measure(args.system, threads, busy, args.repeats, paths, args.trials)
            rows = result["paths"]
            yardstick = rows.get("hand-written", {}).get("seconds_per_generation")
            yardstick_cpu = rows.get("hand-written", {}).get("cpu_seconds_per_generation")
            print(
                f"{result['system']}: {threads} thread(s), {busy} busy process(es), "
                f"load {result['load']:.1f}",
                flush=True,
            )
            for path, row in rows.items():
                ratio = ""
                if yardstick:
                    ratio = (
                        f"; speed {yardstick / row['seconds_per_generation']:.0%} of "
                        f"hand-written ({yardstick_cpu / row['cpu_seconds_per_generation']:.0%} "
                        "in CPU time)"
                    )
                print(
                    f"  {path:>12}: {row['seconds_per_generation']:.3f} s per generation "
                    f"(min {row['min']:.3f}), CPU {row['cpu_seconds_per_generation']:.3f} s; "
                    f"built in {row['build_seconds']:.1f} s{ratio}",
                    flush=True,
                )
            if args.json:
                with args.json.open("a") as f:
                    f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
