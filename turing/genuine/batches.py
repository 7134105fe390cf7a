"""What a method asks for and how the run gets it: :class:`TrialBatch` and :class:`TrialRunner`.

Methods are ask/tell (:class:`turing.Method`): a method *asks* for batches of trials, the
run *gets* them (the model trials from the trial engine, the genuine ones from the run's
:class:`~turing.genuine.source.GenuineSource`), and the method is *told* what they produced.
A batch holds its genuine trials first, then its model trials; it says nothing about where
the genuine trials come from, so every method works with every source:

* the simulator source simulates both parts in one engine call, exactly as if the genuine
  system were one more model (what runs always did);
* any other source runs the genuine part while the engine runs the model part in a thread
  (the native kernels release the GIL; a slow environment keeps its workers busy while the
  model trials run); a model trial whose input is passive replays its recorded trial's
  inputs when the genuine trials are recorded data;
* a source that cannot be simulated again from the seed has its trials recorded in the run
  folder (:mod:`turing.genuine.records`), and a resumed run is served the trials it had
  recorded instead of running them again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import torch

from turing.engine import JUDGE, PASSIVE, Engine, Fixed, Noise, Policy, Trials
from turing.engine.trials import InputSource, Judge, concatenate, select_start
from turing.errors import UserError
from turing.genuine.source import GenuineSource

Tensor = torch.Tensor


@dataclass
class TrialBatch:
    """A batch of trials a method asks for: ``genuine`` genuine trials, then model trials.

    Attributes:
        genuine: how many of the batch's trials are genuine (the first ones).
        models: simulation parameters of the model trials ``[S, n - genuine]`` (``None`` when
            the batch has none).
        noise: the random streams of all ``n`` trials (genuine first).
        judge: the interrogators reading the trials (``judge.index`` covers all ``n``).
        inputs: the input source (:class:`~turing.engine.Fixed` inputs cover all ``n``).
        start: explicit start conditions of all ``n`` trials, or ``None``.
        record: keep every observation, output and input.
        purpose: what the genuine trials are for (``training``, ``c2st``, ``episodes``, ...),
            counted separately in ``result.json``.
    """

    genuine: int
    models: Tensor | None
    noise: Noise
    judge: Judge | None = None
    inputs: InputSource = JUDGE
    start: Any = None
    record: bool = False
    purpose: str = "training"

    @property
    def n(self) -> int:
        return self.noise.n

    def part(self, genuine: bool) -> tuple[Noise, Judge | None, InputSource, Any]:
        """The streams, judge, inputs and starts of the genuine (or the model) trials."""
        device = self.noise.device
        index = (
            torch.arange(0, self.genuine, device=device)
            if genuine
            else torch.arange(self.genuine, self.n, device=device)
        )
        judge = None if self.judge is None else self.judge.select(index)
        inputs = self.inputs
        if isinstance(inputs, Fixed):
            inputs = Fixed(inputs.actions[..., index])
        return self.noise.select(index), judge, inputs, select_start(self.start, index)


class TrialRunner:
    """Runs the batches of one run: model trials on ``engine``, genuine trials from
    ``source``; counts the genuine trials used; records and replays them where needed.

    Args:
        engine: the run's trial engine (the model system).
        source: the genuine source.
        records: where a non-replayable source's trials are kept
            (:class:`turing.genuine.records.GenuineRecords`), or ``None``.
    """

    def __init__(self, engine: Engine, source: GenuineSource, records=None):
        self.engine = engine
        self.source = source
        self.records = records
        self.used: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        """Time spent running genuine and model trials (``genuine``, ``model``; the two run at
        once for sources other than the simulator, whose merged batches count as ``model``)."""
        self.round = 0
        self.label = "run"

    # ------------------------------------------------------------------ accounting
    @property
    def genuine_trials(self) -> int:
        """Genuine trials used so far, for any purpose."""
        return int(sum(self.used.values()))

    def begin(self, label: str) -> None:
        """Starts a new unit of recording (``g000012`` for generation 12, ``finish``): its
        batches are numbered from 0 (records of a resumed run are found by these names)."""
        self.label, self.round = label, 0

    def state(self) -> dict[str, dict]:
        """What a checkpoint keeps: the genuine trials used and the seconds spent."""
        return {"used": dict(self.used), "seconds": dict(self.seconds)}

    def load_state(self, used: dict[str, int], seconds: dict[str, float] | None = None) -> None:
        self.used = Counter({str(k): int(v) for k, v in (used or {}).items()})
        self.seconds = Counter({str(k): float(v) for k, v in (seconds or {}).items()})

    # ------------------------------------------------------------------ running
    def run_all(self, batches: list[TrialBatch]) -> list[Trials]:
        return [self.run(batch) for batch in batches]

    def run(self, batch: TrialBatch) -> Trials:
        """The trials of ``batch``, genuine first."""
        g = int(batch.genuine)
        if g < 0 or g > batch.n:
            raise ValueError(f"a batch of {batch.n} trials cannot have {g} genuine ones")
        self.used[batch.purpose] += g
        label, self.round = f"{self.label}-r{self.round:02d}", self.round + 1
        if g == 0:
            with self._timed("model"):
                return self.engine.run(batch.models, batch.noise, batch.judge, batch.inputs,
                                       batch.start, batch.record)  # fmt: skip
        if self.source.merges:
            params = self.source.columns(g)
            if batch.models is not None and batch.models.shape[-1]:
                params = torch.cat([params, batch.models.to(params.device, params.dtype)], dim=-1)
            with self._timed("model"):
                return self.engine.run(params, batch.noise, batch.judge, batch.inputs,
                                       batch.start, batch.record)  # fmt: skip
        if isinstance(batch.inputs, Policy):
            raise UserError(
                "a method whose inputs are chosen by a gradient-trained policy "
                "(gan-interrogate) needs the simulator as its genuine system; use "
                "interrogate, or drop --genuine"
            )
        if g == batch.n:
            return self._genuine(batch, label)
        return self._both(batch, label)

    @contextmanager
    def _timed(self, what: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[what] += time.perf_counter() - start

    def _genuine(self, batch: TrialBatch, label: str) -> Trials:
        with self._timed("genuine"):
            return self._genuine_trials(batch, label)

    def _genuine_trials(self, batch: TrialBatch, label: str) -> Trials:
        noise, judge, inputs, start = batch.part(genuine=True)
        if inputs is PASSIVE or not self.source.live:
            inputs = PASSIVE if not self.source.live else inputs
        if self.records is not None and not self.source.replayable:
            served = self.records.serve(label, self.engine.system, self.engine.steps, noise,
                                        judge, inputs, batch.record)  # fmt: skip
            if served is not None:
                return served
            trials = self.source.run(noise, judge, inputs, start, record=True)
            self.records.save(label, noise, trials)
            return trials if batch.record else _unrecorded(trials)
        return self.source.run(noise, judge, inputs, start, batch.record)

    def _models(self, batch: TrialBatch) -> Trials:
        noise, judge, inputs, start = batch.part(genuine=False)
        if inputs is PASSIVE and hasattr(self.source, "inputs_of"):
            inputs = self.source.inputs_of(noise)  # recorded data: replay their inputs
            start = None
        with self._timed("model"):
            return self.engine.run(batch.models, noise, judge, inputs, start, batch.record)

    def _both(self, batch: TrialBatch, label: str) -> Trials:
        models: dict[str, Any] = {}

        def simulate() -> None:
            try:
                models["trials"] = self._models(batch)
            except BaseException as exc:  # raised again in this thread
                models["error"] = exc

        worker = threading.Thread(target=simulate, name="turing-model-trials", daemon=True)
        worker.start()
        try:
            genuine = self._genuine(batch, label)
        finally:
            worker.join()
        if "error" in models:
            raise models["error"]
        return concatenate([genuine, models["trials"]])


def _unrecorded(trials: Trials) -> Trials:
    return replace(trials, observations=None, outputs=None, actions=None)


def run_merged(
    engine: Engine, batches: list[TrialBatch], sources: list[GenuineSource]
) -> list[Trials]:
    """The batches of several runs (each with a simulator source) simulated as one engine
    call; each run gets exactly the trials it gets alone (a trial's numbers depend on its own
    key and streams only).

    Args:
        engine: the engine all runs share (same system, trial length, device, backend).
        batches: one batch per run, of the same input kind (:data:`JUDGE` or :data:`PASSIVE`).
        sources: each run's genuine source (simulators: :attr:`GenuineSource.merges`).
    """
    if len(batches) == 1:
        runner = TrialRunner(engine, sources[0])
        return [runner.run(batches[0])]
    params, keys, streams, starts, inputs, judges, offsets = [], [], [], [], [], [], []
    weights, offset = [], 0
    for batch, source in zip(batches, sources, strict=True):
        if not source.merges:
            raise ValueError("only simulator sources merge")
        columns = source.columns(batch.genuine)
        if batch.models is not None and batch.models.shape[-1]:
            columns = torch.cat([columns, batch.models.to(columns.device, columns.dtype)], dim=-1)
        params.append(columns)
        noise = batch.noise
        keys.append(noise.key.expand(2, noise.n))
        streams.append(noise.stream)
        starts.append(noise.start_stream)
        inputs.append(noise.input_stream)
        if batch.judge is not None:
            judges.append(batch.judge.index + offset)
            weights.append(batch.judge.weights)
            offset += batch.judge.weights.shape[0]
        offsets.append(noise.n)
    first = batches[0]
    noise = Noise(torch.cat(keys, dim=1), torch.cat(streams), torch.cat(starts), torch.cat(inputs))
    judge = None
    if first.judge is not None:
        judge = replace(first.judge, weights=torch.cat(weights), index=torch.cat(judges))
    source = first.inputs
    if isinstance(source, Fixed):
        source = Fixed(torch.cat([b.inputs.actions for b in batches], dim=-1))
    trials = engine.run(torch.cat(params, dim=1), noise, judge, source, None,
                        any(b.record for b in batches))  # fmt: skip
    parts, begin = [], 0
    for size in offsets:
        index = torch.arange(begin, begin + size, device=trials.failed.device)
        parts.append(_select(trials, index))
        begin += size
    return parts


def _select(trials: Trials, index: Tensor) -> Trials:
    def take(value):
        return None if value is None else value[..., index]

    return Trials(take(trials.judgement), trials.failed[index], take(trials.observations),
                  take(trials.outputs), take(trials.actions))  # fmt: skip
