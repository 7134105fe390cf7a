"""Spike (a): ``torch.compile`` of a whole chunk of K control steps, interrogator fused.

One compiled call advances every trial of a batch by K steps (system step, Elman network,
the network's choice of the next input), instead of one call per step as the engine's
``compiled`` backend makes. Prints the compile time (first call) and the seconds per
generation (20,000 trials x 100 steps, interrogation) for each K.

    python benchmarks/one_definition/spike_chunked_compile.py range-sensor-id --chunks 1,5,10
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import turing
from turing.agents import ElmanShape, InterrogatorPopulation
from turing.engine import Noise, stream_key
from turing.engine.trials import action_scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system")
    parser.add_argument("--chunks", default="1,5,10", help="steps per compiled call (K)")
    parser.add_argument("--trials", type=int, default=20000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=5000, help="trials per call")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    system = turing.make_system(args.system)
    n = args.chunk_size
    g = torch.Generator().manual_seed(0)
    lo, hi = torch.tensor(system.lows), torch.tensor(system.highs)
    genes = lo[:, None] + (hi - lo)[:, None] * torch.rand(
        len(lo), n, generator=g, dtype=torch.float64
    )
    params = system.simulation_params(genes.float(), system.make_truth())
    shape = ElmanShape(system.observation_size, 1 + system.action_size, 5)
    weights = torch.randn(100, shape.n_weights, generator=g)
    nets = InterrogatorPopulation(shape, weights).trials(torch.randint(0, 100, (n,), generator=g))
    noise = Noise.for_trials(stream_key(5, "simulation", 0), n)
    low, span = action_scale(system)
    for k in (int(c) for c in args.chunks.split(",")):

        def chunk(state, obs, hidden, t0, noise=noise, k=k):
            for i in range(k):
                hidden, out = nets.forward(hidden, obs)
                action = out[1:] * span + low
                state, obs = system.step(state, params, action, noise.at(t0 + i))
            return state, obs, hidden

        compiled = torch.compile(chunk, dynamic=False)
        times = []
        first = None
        for repeat in range(args.repeats + 1):
            start = time.perf_counter()
            state, obs = system.reset(params, noise.at(0))
            hidden = nets.initial_state()
            steps = torch.arange(args.steps, dtype=torch.int64)
            t = 1
            while t < args.steps:
                state, obs, hidden = compiled(state, obs, hidden, steps[t])
                t += k
            elapsed = time.perf_counter() - start
            if repeat == 0:
                first = elapsed
            else:
                times.append(elapsed)
        per_generation = statistics.median(times) * args.trials / n
        print(
            f"K={k:3d}: first call (compiling) {first:7.1f} s; "
            f"{per_generation:.3f} s per generation ({args.threads} thread(s))",
            flush=True,
        )


if __name__ == "__main__":
    main()
