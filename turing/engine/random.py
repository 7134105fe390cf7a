"""Counter-based random numbers: every draw is a pure function of where it is used.

A trial's random numbers come from Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel
random numbers: as easy as 1, 2, 3", SC 2011), the generator of cuRAND and of torch on
CUDA. Philox maps a 128-bit *counter* and a 64-bit *key* to four 32-bit words; nothing is
carried from one draw to the next. We use

* key: two words derived from the run's root seed, the stream's name (``simulation``,
  ``c2st``, ...) and the generation (:func:`stream_key`);
* counter: ``(stream, t, slot, phase)``: the trial's stream id (its index within its run's
  generation), the step, the block of draws within that step, and what the draw is for
  (:data:`DYNAMICS`, :data:`START`, :data:`INPUT`, :data:`CHOOSER`).

So a trial's numbers do not depend on which other trials share its batch, on how a
generation is cut into chunks, on the number of threads, or on whether it runs in the
eager reference, a compiled graph, a CUDA graph or the native kernels of
:mod:`turing.engine.native` (which implement the same function bit for bit, see
``native/philox.h``): several runs evaluated as one batch get exactly the numbers they get
alone, and nothing about a simulation stream needs to be checkpointed.

Systems draw through :class:`Noise` (``noise.uniform(k)``, ``noise.normal(k)``), which they
receive in :meth:`turing.System.reset` and :meth:`turing.System.step`. Each call takes
``ceil(k / 4)`` Philox blocks at the next slots of the current step; a step's calls must
come in a fixed order. Everything here is integer tensor arithmetic (uint32 values held in
int64), so it runs on any device and traces into ``torch.compile`` graphs.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np
import torch

Tensor = torch.Tensor

DYNAMICS, START, INPUT, CHOOSER = 0, 1, 2, 3
"""Phases (counter word 3): the system's own noise; its start conditions (rejection
sampling: one slot per attempt); exogenous inputs shared by the trials of a pair (passive
schedules); an input chooser's own randomness (random inputs, policy exploration)."""

_MASK = 0xFFFFFFFF
_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
ROUNDS = 10
UNIT = 2.0**-24
"""A uniform is the top 24 bits of a word times 2^-24: exactly representable, in [0, 1)."""


def stream_key(root_seed: int, name: str, *index: int) -> tuple[int, int]:
    """The Philox key ``(k0, k1)`` of the stream ``name`` (at ``index``, e.g. the
    generation) of the run seeded with ``root_seed``."""
    spawn = (zlib.crc32(name.encode()), *(int(i) for i in index))
    words = np.random.SeedSequence(entropy=int(root_seed), spawn_key=spawn).generate_state(
        2, dtype=np.uint32
    )
    return int(words[0]), int(words[1])


def philox(counter: Sequence[Tensor | int], key: Sequence[Tensor | int]) -> list[Tensor]:
    """Philox4x32-10 of ``counter`` (four words) under ``key`` (two words).

    Words are int64 tensors (or ints) holding values in ``[0, 2^32)``; they broadcast
    against each other. Returns the four output words, int64 in ``[0, 2^32)``.
    """
    c0, c1, c2, c3 = (torch.as_tensor(c) if isinstance(c, int) else c for c in counter)
    k0, k1 = key
    for r in range(ROUNDS):
        if r:
            k0 = (k0 + _W0) & _MASK
            k1 = (k1 + _W1) & _MASK
        # 32 x 32 -> 64-bit products in int64: the product wraps around 2^64 in two's
        # complement, which leaves both 32-bit halves exact.
        p0 = c0 * _M0
        p1 = c2 * _M1
        c0, c1, c2, c3 = (
            ((p1 >> 32) & _MASK) ^ c1 ^ k0,
            p1 & _MASK,
            ((p0 >> 32) & _MASK) ^ c3 ^ k1,
            p0 & _MASK,
        )
    return [c0, c1, c2, c3]


def to_uniform(words: Tensor) -> Tensor:
    """Words to float32 uniforms in [0, 1)."""
    return (words >> 8).to(torch.float32) * UNIT


def box_muller(u1: Tensor, u2: Tensor) -> tuple[Tensor, Tensor]:
    """Two independent standard normals from two uniforms in [0, 1):
    ``sqrt(-2 ln(1 - u1)) (cos 2 pi u2, sin 2 pi u2)`` (``1 - u1`` is in (0, 1], exactly)."""
    radius = torch.sqrt(-2.0 * torch.log(1.0 - u1))
    angle = (2.0 * math.pi) * u2
    return radius * torch.cos(angle), radius * torch.sin(angle)


def _native_words(noise: Noise, slot: int, blocks: int) -> Tensor | None:
    """Philox words by the native helper (one call; bit-identical), or ``None`` where it is
    unavailable."""
    from turing.engine import native

    function = native.philox_words()
    if function is None:
        return None
    n = noise.stream.shape[-1]
    cached = noise._bits[0]
    if cached is None or cached[0] is not noise.key or cached[1] is not noise.stream:
        cached = (
            noise.key,
            noise.stream,
            _as_uint32_bits(noise.key),
            _as_uint32_bits(noise.stream),
        )
        noise._bits[0] = cached
    key, stream = cached[2], cached[3]
    out = torch.empty(4 * blocks, n, dtype=torch.int32)
    t = int(noise.t)
    function(n, key.data_ptr(), 0 if key.shape[-1] == 1 else 1, stream.data_ptr(), t, slot,
             blocks, noise.phase, out.data_ptr())  # fmt: skip
    return out.to(torch.int64) & _MASK


def _as_uint32_bits(words: Tensor) -> Tensor:
    words = words.to(torch.int64) & _MASK
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32).contiguous()


class Noise:
    """The random numbers of a batch of ``n`` trials at one step, trial axis last.

    Args:
        key: ``[2, n]`` (or ``[2, 1]``) int64 Philox keys, one per trial (trials of
            different runs have different keys).
        stream: ``[n]`` int64 stream ids (a trial's index within its run's generation).
        start_stream: ``[n]`` stream whose start conditions a trial takes (default its own;
            the metric baseline starts a model trial where its genuine twin started).
        input_stream: ``[n]`` stream of the exogenous inputs a trial receives (default its
            own; the genuine and model trial of a pair share their passive schedule).
        t: the step (int or 0-dim int64 tensor): 0 at reset, ``t`` at the step that
            produces observation ``t``.
        phase: what the draws are for (:data:`DYNAMICS`, ...).

    Draws of one step must come in a fixed order: each call takes the next slots.
    """

    def __init__(
        self,
        key: Tensor,
        stream: Tensor,
        start_stream: Tensor | None = None,
        input_stream: Tensor | None = None,
        t: Tensor | int = 0,
        phase: int = DYNAMICS,
    ):
        self.key = key
        self.stream = stream
        self.start_stream = stream if start_stream is None else start_stream
        self.input_stream = stream if input_stream is None else input_stream
        self.t = t
        self.phase = phase
        self.slot = 0
        self._bits: list = [None]  # the native helper's int32 copies, shared with at()

    # ------------------------------------------------------------------ construction
    @classmethod
    def for_trials(
        cls,
        key: tuple[int, int] | Tensor,
        n: int,
        device: torch.device | str = "cpu",
        first_stream: int = 0,
    ) -> Noise:
        """``n`` trials of one key with streams ``first_stream .. first_stream + n - 1``."""
        device = torch.device(device)
        if not isinstance(key, Tensor):
            key = torch.tensor([[key[0]], [key[1]]], dtype=torch.int64, device=device)
        stream = torch.arange(first_stream, first_stream + n, dtype=torch.int64, device=device)
        return cls(key, stream)

    @property
    def n(self) -> int:
        return self.stream.shape[-1]

    @property
    def device(self) -> torch.device:
        return self.stream.device

    def at(self, t: Tensor | int, phase: int = DYNAMICS) -> Noise:
        """The same trials at step ``t`` (slots start again at 0)."""
        noise = Noise(self.key, self.stream, self.start_stream, self.input_stream, t, phase)
        noise._bits = self._bits
        return noise

    def starts(self) -> Noise:
        """Draws for start conditions, from each trial's start stream."""
        return Noise(self.key, self.start_stream, None, None, 0, START)

    def inputs(self) -> Noise:
        """Draws for exogenous inputs, from each trial's input stream."""
        return Noise(self.key, self.input_stream, None, None, 0, INPUT)

    def chooser(self) -> Noise:
        """Draws for an input chooser's own randomness, from each trial's stream."""
        return Noise(self.key, self.stream, None, None, 0, CHOOSER)

    def select(self, index: Tensor) -> Noise:
        """The trials ``index`` (a subset, for simulating part of a batch)."""
        key = self.key if self.key.shape[-1] == 1 else self.key[:, index]
        return Noise(
            key,
            self.stream[index],
            self.start_stream[index],
            self.input_stream[index],
            self.t,
            self.phase,
        )

    # ------------------------------------------------------------------ draws
    def words(self, k: int, slot: int | None = None) -> Tensor:
        """``k`` raw 32-bit words per trial, ``[k, n]`` int64, from the next slots (or from
        ``slot`` on, leaving the slot counter alone)."""
        blocks = -(-int(k) // 4)
        first = self.slot if slot is None else int(slot)
        slots = torch.arange(first, first + blocks, dtype=torch.int64, device=self.device)
        if slot is None:
            self.slot += blocks
        if self.device.type == "cpu" and not torch.compiler.is_compiling():
            words = _native_words(self, first, blocks)
            if words is not None:
                return words[:k]
        t = self.t if isinstance(self.t, Tensor) else torch.tensor(self.t, dtype=torch.int64)
        out = philox(
            (self.stream, t.to(self.device).expand_as(self.stream), slots[:, None], self.phase),
            (self.key[0], self.key[1]),
        )
        # [4, blocks, n] -> block-major rows: block 0's four words, then block 1's, ...
        return torch.stack(out, dim=1).reshape(4 * blocks, -1)[:k]

    def uniform(self, k: int, slot: int | None = None) -> Tensor:
        """``[k, n]`` float32 uniforms in [0, 1) (from ``slot`` on, if given)."""
        return to_uniform(self.words(k, slot))

    def normal(self, k: int) -> Tensor:
        """``[k, n]`` float32 standard normals (Box-Muller of pairs of uniforms: rows
        ``2i, 2i + 1`` come from uniforms ``2i, 2i + 1``)."""
        pairs = -(-int(k) // 2)
        u = self.uniform(2 * pairs)
        z_cos, z_sin = box_muller(u[0::2], u[1::2])
        return torch.stack([z_cos, z_sin], dim=1).reshape(2 * pairs, -1)[:k]
