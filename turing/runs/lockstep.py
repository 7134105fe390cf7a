"""Several runs in one process, generation by generation, their trials as one batch.

One run's 20,000 trials per generation cannot fill a modern GPU. :func:`run_lockstep`
advances several runs of one system together: each generation, every coevolution run asks
for its trials (:meth:`turing.Method.ask`), the runs that share an engine (same mode,
network, trial length, device and backend, the simulator as genuine source; seeds and the
genuine parameters may differ) are simulated as one batch
(:func:`turing.genuine.batches.run_merged`), and each run is told its own trials
(:meth:`turing.Method.tell`). A trial's random numbers depend only on
its own run's seed, generation and stream, so every run gets exactly the metrics it gets
alone; and every run is an ordinary run folder, checkpointed and resumable on its own (an
interruption checkpoints them all). Runs of other methods run one after the other at the
end.
"""

from __future__ import annotations

import time
from collections import defaultdict

from turing.engine.evaluator import COEVOLUTION_MODES
from turing.errors import deferred_interrupts
from turing.genuine.batches import run_merged
from turing.runs.result import Result
from turing.runs.runner import Runner


def batch_key(runner: Runner) -> tuple | None:
    """What must agree for runs to share a batch, or ``None`` for a run that cannot."""
    method = runner.method
    config = runner.config
    if config.mode not in COEVOLUTION_MODES or not method.trials.source.merges:
        return None
    return (
        config.system,
        tuple(sorted(config.system_options.items())),
        config.mode,
        config.hidden,
        config.steps,
        config.device,
        config.backend,
    )


def run_lockstep(runners: list[Runner]) -> list[Result]:
    """Runs ``runners`` to the end, batching the generations of those that can share.

    Returns:
        their results, in the order given.

    Raises:
        UserError: on Ctrl-C, after every unfinished run saved a checkpoint.
    """
    from turing.errors import Interrupted

    groups: dict[tuple, list[Runner]] = defaultdict(list)
    alone = []
    for runner in runners:
        if runner.run_dir.is_finished():
            continue
        key = batch_key(runner)
        (alone if key is None else groups[key]).append(runner)
    try:
        while any(r.unfinished for group in groups.values() for r in group):
            for group in groups.values():
                _generation([r for r in group if r.unfinished])
    except KeyboardInterrupt as exc:
        raise Interrupted.of(
            exc, "interrupted; every run saved a checkpoint: rerun the same command to continue"
        ) from None
    results = {}
    for group in groups.values():
        for runner in group:
            results[id(runner)] = runner.finish()
    for runner in alone:
        results[id(runner)] = runner.run()
    return [results.get(id(r)) or Result.load(r.run_dir.path) for r in runners]


def _generation(runs: list[Runner]) -> None:
    """One generation of ``runs``, their trials simulated as one batch."""
    if not runs:
        return
    snapshots = [r.snapshot() for r in runs]
    try:
        start = time.perf_counter()
        batches = []
        for runner in runs:
            runner.method.trials.begin(f"g{runner.generation:06d}")
            (batch,) = runner.method.ask()  # a coevolution generation is one batch
            runner.method.trials.used[batch.purpose] += batch.genuine
            batches.append(batch)
        sources = [runner.method.trials.source for runner in runs]
        outcomes = run_merged(runs[0].method.engine, batches, sources)
        shared = (time.perf_counter() - start) / len(runs)
        reports = []
        for runner, trials in zip(runs, outcomes, strict=True):
            start = time.perf_counter()
            reports.append((runner.method.tell([trials]), time.perf_counter() - start))
    except KeyboardInterrupt:
        for runner, snapshot in zip(runs, snapshots, strict=True):
            runner.interrupted(snapshot)
        raise
    with deferred_interrupts():  # every run's row and checkpoint, or none cut short
        for runner, (report, seconds) in zip(runs, reports, strict=True):
            runner.advance(report, shared + seconds)
