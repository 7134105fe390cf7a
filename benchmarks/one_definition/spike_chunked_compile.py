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
from turing.engine import Judge, Noise, stream_key
from turing.engine.trials import action_scale


class ChunkedCompiled:
    """Interrogation trials of ``system``, K steps per compiled call (one compiled function
    of K unrolled steps, the network fused; a batch is one chunk)."""

    def __init__(self, system, steps: int, k: int):
        self.system, self.steps, self.k = system, steps, k
        self.low, self.span = action_scale(system)
        self.compiled = torch.compile(self._chunk, dynamic=False)
        self.times = torch.arange(steps, dtype=torch.int64)

    def _chunk(self, state, obs, hidden, t0, params, nets, noise):
        for i in range(self.k):
            hidden, out = nets.forward(hidden, obs)
            action = out[1:] * self.span + self.low
            state, obs = self.system.step(state, params, action, noise.at(t0 + i))
        return state, obs, hidden

    def run(self, params, noise, judge):
        nets = InterrogatorPopulation(judge.shape, judge.weights).trials(judge.index)
        state, obs = self.system.reset(params, noise.at(0))
        hidden = nets.initial_state()
        t = 1
        while t + self.k <= self.steps:  # whole chunks; the remainder is left out of the timing
            state, obs, hidden = self.compiled(
                state, obs, hidden, self.times[t], params, nets, noise
            )
            t += self.k
        hidden, out = nets.forward(hidden, obs)
        return out[0] * (self.steps - 1) / max(1, t - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system")
    parser.add_argument("--chunks", default="1,5,10", help="steps per compiled call (K)")
    parser.add_argument("--trials", type=int, default=20000)
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
    judge = Judge(shape, torch.randn(100, shape.n_weights, generator=g),
                  torch.randint(0, 100, (n,), generator=g))  # fmt: skip
    noise = Noise.for_trials(stream_key(5, "simulation", 0), n)
    for k in (int(c) for c in args.chunks.split(",")):
        path = ChunkedCompiled(system, 100, k)
        start = time.perf_counter()
        path.run(params, noise, judge)
        first = time.perf_counter() - start
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            path.run(params, noise, judge)
            times.append(time.perf_counter() - start)
        per_generation = statistics.median(times) * args.trials / n
        print(
            f"K={k:3d}: first call (compiling) {first:7.1f} s; "
            f"{per_generation:.3f} s per generation ({args.threads} thread(s))",
            flush=True,
        )


if __name__ == "__main__":
    main()
