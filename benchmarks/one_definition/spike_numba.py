"""Spike (b): a per-trial kernel written in Python and compiled by numba.

The system is rewritten as scalar Python on one trial (what numba, numba-cuda and Warp
compile): the tutorial's range sensor and case study 2's e-puck, each with the Philox
streams, the Elman interrogator and the trial loop, compiled with ``@numba.njit``. Threads
take groups of trials from a shared counter (``nogil`` calls from a thread pool), as the
native kernels' threads do. Prints the compile time and seconds per generation (20,000
trials x 100 steps, interrogation) at 1 and 2 threads. Needs ``pip install numba``
(not a dependency of the project).

    python benchmarks/one_definition/spike_numba.py --threads 1,2

The same functions would compile for CUDA with ``numba.cuda.jit(device=True)`` (numba-cuda);
this machine has no GPU, so that form is not measured here.
"""

from __future__ import annotations

import argparse
import math
import statistics
import threading
import time

import numba
import numpy as np
from numba import njit

# ----------------------------------------------------------------------------- streams
M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
MASK = np.uint64(0xFFFFFFFF)


@njit(inline="always")
def philox(c0, c1, c2, c3, k0, k1):
    for r in range(10):
        if r:
            k0 = (k0 + W0) & MASK
            k1 = (k1 + W1) & MASK
        p0 = c0 * M0
        p1 = c2 * M1
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & MASK,
                          (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & MASK)  # fmt: skip
    return c0, c1, c2, c3


@njit(inline="always")
def uniform4(stream, t, slot, phase, k0, k1):
    a, b, c, d = philox(np.uint64(stream), np.uint64(t), np.uint64(slot), np.uint64(phase), k0, k1)
    s = np.float32(2.0**-24)
    return (np.float32(a >> np.uint64(8)) * s, np.float32(b >> np.uint64(8)) * s,
            np.float32(c >> np.uint64(8)) * s, np.float32(d >> np.uint64(8)) * s)  # fmt: skip


@njit(inline="always")
def box_muller(u1, u2):
    radius = math.sqrt(-2.0 * math.log(1.0 - u1))
    angle = 2.0 * math.pi * u2
    return radius * math.cos(angle), radius * math.sin(angle)


@njit(inline="always")
def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# ----------------------------------------------------------------------------- e-puck body
LOW, HIGH, ARENA = 3.7, 46.3, 50.0
SUBSTEP, WHEEL_BASE, MAX_SPEED = 0.01, 5.1, 12.8


@njit(inline="always")
def drive(x, y, heading, vl, vr, low, high):
    """The tutorial's drive: each substep's direction evaluated afresh."""
    v = 0.5 * (vl + vr)
    turn = (vr - vl) * (SUBSTEP / WHEEL_BASE)
    half = 0.5 * turn
    sinc = math.sin(half) / half if abs(half) > 1e-4 else 1.0
    chord = v * SUBSTEP * sinc
    for k in range(10):
        direction = heading + (k + 0.5) * turn
        x = min(max(x + chord * math.cos(direction), low), high)
        y = min(max(y + chord * math.sin(direction), low), high)
    heading = (heading + 10 * turn + math.pi) % (2 * math.pi) - math.pi
    return x, y, heading


# ----------------------------------------------------------------------------- range sensor
@njit(inline="always")
def range_reading(x, y, heading, k, b, z):
    ch, sh = math.cos(heading), math.sin(heading)
    fx, fy = x + 3.7 * ch, y + 3.7 * sh
    tx = ((ARENA - fx) if ch > 0 else fx) / abs(ch)
    ty = ((ARENA - fy) if sh > 0 else fy) / abs(sh)
    d = max(min(tx, ty), 0.0)
    return k * min(d / 20.0, 1.0) + b + 0.02 * z


@njit(nogil=True)
def range_trials(first, last, steps, params, key, w, index, hidden, out_judgement):
    for trial in range(first, last):
        k0, k1 = np.uint64(key[0]), np.uint64(key[1])
        k, b = params[0, trial], params[1, trial]
        u = uniform4(trial, 0, 0, 1, k0, k1)
        x, y, heading = LOW + (HIGH - LOW) * u[0], LOW + (HIGH - LOW) * u[1], 2 * math.pi * u[2]
        u = uniform4(trial, 0, 0, 0, k0, k1)
        z, _ = box_muller(u[0], u[1])
        obs = range_reading(x, y, heading, k, b, z)
        wt = w[index[trial]]
        h = np.zeros(hidden)
        pre = np.zeros(hidden)
        out0 = out1 = out2 = 0.0
        for t in range(steps):
            for j in range(hidden):
                acc = wt[j * 2 + 1] + wt[j * 2] * obs
                for m in range(hidden):
                    acc += wt[2 * hidden + j * hidden + m] * h[m]
                pre[j] = acc
            for j in range(hidden):
                h[j] = sigmoid(pre[j])
            base = 2 * hidden + hidden * hidden
            outs = np.empty(3)
            for o in range(3):
                acc = wt[base + o * (hidden + 1)]
                for m in range(hidden):
                    acc += wt[base + o * (hidden + 1) + 1 + m] * h[m]
                outs[o] = sigmoid(acc)
            out0, out1, out2 = outs[0], outs[1], outs[2]
            if t == steps - 1:
                break
            u = uniform4(trial, t + 1, 0, 0, k0, k1)
            fl = 0.95 + 0.1 * u[0]
            fr = 0.95 + 0.1 * u[1]
            vl = min(max((2 * out1 - 1) * fl * MAX_SPEED, -MAX_SPEED), MAX_SPEED)
            vr = min(max((2 * out2 - 1) * fr * MAX_SPEED, -MAX_SPEED), MAX_SPEED)
            x, y, heading = drive(x, y, heading, vl, vr, LOW, HIGH)
            u = uniform4(trial, t + 1, 1, 0, k0, k1)
            z, _ = box_muller(u[0], u[1])
            obs = range_reading(x, y, heading, k, b, z)
        out_judgement[trial] = out0


# ----------------------------------------------------------------------------- e-puck sensors
GRID = (12.5, 25.0, 37.5)
CYL_R2 = 1.85**2
MIN_D = 3.7 + 1.85
COS15, SIN15 = math.cos(math.radians(15.0)), math.sin(math.radians(15.0))
IR_K = 3731.0 * (0.7 - 0.09)


@njit(inline="always")
def nearest(v):
    return 37.5 if v >= 31.25 else (25.0 if v >= 18.75 else 12.5)


@njit(inline="always")
def resolve(x, y):
    x = min(max(x, LOW), HIGH)
    y = min(max(y, LOW), HIGH)
    cx, cy = nearest(x), nearest(y)
    dx, dy = x - cx, y - cy
    d2 = dx * dx + dy * dy
    if d2 < MIN_D * MIN_D:
        scale = MIN_D / math.sqrt(max(d2, 1e-12))
        return cx + dx * scale, cy + dy * scale
    return x, y


@njit(inline="always")
def epuck_drive(x, y, heading, vl, vr):
    v = 0.5 * (vl + vr)
    turn = (vr - vl) * (SUBSTEP / WHEEL_BASE)
    half = 0.5 * turn
    sinc = math.sin(half) / half if abs(half) > 1e-4 else 1.0
    chord = v * SUBSTEP * sinc
    c, s = math.cos(heading + half), math.sin(heading + half)
    ct, st = math.cos(turn), math.sin(turn)
    for _ in range(10):
        x, y = resolve(x + chord * c, y + chord * s)
        c, s = c * ct - s * st, s * ct + c * st
    heading = (heading + 10 * turn + math.pi) % (2 * math.pi) - math.pi
    return x, y, heading


@njit(inline="always")
def wall(o, u):
    if u == 0:
        return math.inf
    return max(((ARENA if u > 0 else 0.0) - o) / u, 0.0)


@njit(inline="always")
def cylinder(ox, oy, ux, uy, cx, cy):
    dx, dy = cx - ox, cy - oy
    b = dx * ux + dy * uy
    disc = b * b - (dx * dx + dy * dy - CYL_R2)
    if disc >= 0 and b >= 0:
        return max(b - math.sqrt(max(disc, 0.0)), 0.0)
    return math.inf


@njit(inline="always")
def ray(ox, oy, ux, uy):
    d = min(wall(ox, ux), wall(oy, uy))
    mx, my = ox + 6.0 * ux, oy + 6.0 * uy
    cx, cy = nearest(mx), nearest(my)
    nx = cx + (12.5 if mx >= cx else -12.5)
    ny = cy + (12.5 if my >= cy else -12.5)
    d = min(d, cylinder(ox, oy, ux, uy, cx, cy))
    if 6.25 < nx < 43.75:
        d = min(d, cylinder(ox, oy, ux, uy, nx, cy))
    if 6.25 < ny < 43.75:
        d = min(d, cylinder(ox, oy, ux, uy, cx, ny))
    return d if d <= 12.0 else math.inf


@njit(inline="always")
def ir(d):
    if d < 0.3:
        return 3731.0
    if d <= 12.0:
        return IR_K / (d * d - 0.6 * d + 0.7)
    return 0.0


@njit(inline="always")
def read(x, y, heading, layout, z, obs):
    ch, sh = math.cos(heading), math.sin(heading)
    for i in range(8):
        sx, sy, phi = layout[i], layout[8 + i], layout[16 + i]
        ox, oy = x + sx * ch - sy * sh, y + sx * sh + sy * ch
        ux, uy = math.cos(heading + phi), math.sin(heading + phi)
        left = ray(ox, oy, ux * COS15 + uy * SIN15, uy * COS15 - ux * SIN15)
        centre = ray(ox, oy, ux, uy)
        right = ray(ox, oy, ux * COS15 - uy * SIN15, uy * COS15 + ux * SIN15)
        raw = ir(left) + ir(centre) + ir(right) - 2 * ir(centre / COS15) + z[i]
        obs[i] = min(min(max(raw, 0.0), 3731.0) / 3000.0, 1.0)


@njit(inline="always")
def ir_noise(trial, t, slot, k0, k1, z):
    for blk in range(2):
        u = uniform4(trial, t, slot + blk, 0, k0, k1)
        a, b = box_muller(u[0], u[1])
        c, d = box_muller(u[2], u[3])
        z[4 * blk], z[4 * blk + 1], z[4 * blk + 2], z[4 * blk + 3] = 10 * a, 10 * b, 10 * c, 10 * d


@njit(nogil=True)
def epuck_trials(first, last, steps, params, key, w, index, hidden, out_judgement):
    obs = np.empty(8)
    z = np.empty(8)
    h = np.zeros(hidden)
    pre = np.zeros(hidden)
    outs = np.empty(3)
    for trial in range(first, last):
        k0, k1 = np.uint64(key[0]), np.uint64(key[1])
        layout = params[:, trial]
        x = y = heading = 0.0
        for attempt in range(10000):
            u = uniform4(trial, 0, attempt, 1, k0, k1)
            x, y = LOW + (HIGH - LOW) * u[0], LOW + (HIGH - LOW) * u[1]
            heading = 2 * math.pi * u[2]
            cx, cy = nearest(x), nearest(y)
            if (x - cx) ** 2 + (y - cy) ** 2 >= MIN_D * MIN_D:
                break
        ir_noise(trial, 0, 0, k0, k1, z)
        read(x, y, heading, layout, z, obs)
        wt = w[index[trial]]
        h[:] = 0.0
        inputs = 8
        for t in range(steps):
            for j in range(hidden):
                acc = wt[j * (inputs + 1) + inputs]
                for m in range(inputs):
                    acc += wt[j * (inputs + 1) + m] * obs[m]
                for m in range(hidden):
                    acc += wt[hidden * (inputs + 1) + j * hidden + m] * h[m]
                pre[j] = acc
            for j in range(hidden):
                h[j] = sigmoid(pre[j])
            base = hidden * (inputs + 1) + hidden * hidden
            for o in range(3):
                acc = wt[base + o * (hidden + 1)]
                for m in range(hidden):
                    acc += wt[base + o * (hidden + 1) + 1 + m] * h[m]
                outs[o] = sigmoid(acc)
            if t == steps - 1:
                break
            u = uniform4(trial, t + 1, 0, 0, k0, k1)
            vl = min(
                max((2 * outs[1] - 1) * MAX_SPEED * (0.95 + 0.1 * u[0]), -MAX_SPEED), MAX_SPEED
            )
            vr = min(
                max((2 * outs[2] - 1) * MAX_SPEED * (0.95 + 0.1 * u[1]), -MAX_SPEED), MAX_SPEED
            )
            ir_noise(trial, t + 1, 1, k0, k1, z)
            x, y, heading = epuck_drive(x, y, heading, vl, vr)
            read(x, y, heading, layout, z, obs)
        out_judgement[trial] = outs[0]


# ----------------------------------------------------------------------------- driver
KERNELS = {"tutorial": range_trials, "epuck": epuck_trials}


class NumbaPath:
    """Interrogation trials of the tutorial's system or the e-puck through the numba
    kernels, in ``threads`` threads taking groups of 64 trials from a shared counter."""

    def __init__(self, which: str, threads: int):
        self.kernel = KERNELS[which]
        self.threads = threads

    def run(self, params, noise, judge):
        n = params.shape[-1]
        key = (noise.key[:, 0] & 0xFFFFFFFF).numpy().astype(np.uint64)
        return run(self.kernel, self.threads, n, 100, params.double().numpy(), key,
                   judge.weights.double().numpy(), judge.index.numpy())  # fmt: skip


def run(kernel, threads, n, steps, params, key, weights, index, group=64):
    judgement = np.zeros(n)
    counter = iter(range(0, n, group))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                first = next(counter, None)
            if first is None:
                return
            kernel(first, min(n, first + group), steps, params, key, weights, index, 5, judgement)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return judgement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--trials", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    key = np.array([12345, 678], dtype=np.uint64)
    systems = {
        "tutorial": (range_trials, rng.uniform(0, 4, (2, args.trials)), 1 + 1),
        "sensor-self-id (case study 2)": (epuck_trials, _layouts(rng, args.trials), 8 + 1),
    }
    print(f"numba {numba.__version__}")
    for name, (kernel, params, columns) in systems.items():
        n_weights = 5 * columns + 25 + 3 * 6
        weights = rng.normal(0, 1, (100, n_weights))
        index = rng.integers(0, 100, args.trials)
        start = time.perf_counter()
        run(kernel, 1, 64, 100, params, key, weights, index)
        compile_seconds = time.perf_counter() - start
        for threads in (int(t) for t in args.threads.split(",")):
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                run(kernel, threads, args.trials, 100, params, key, weights, index)
                times.append(time.perf_counter() - start)
            print(
                f"{name}: compile {compile_seconds:.1f} s; {threads} thread(s): "
                f"{statistics.median(times):.3f} s per generation (median of {args.repeats})",
                flush=True,
            )


def _layouts(rng, n):
    theta = rng.uniform(-math.pi, math.pi, (8, n))
    r = rng.uniform(0.05, 3.65, (8, n))
    return np.concatenate([r * np.cos(theta), r * np.sin(theta), theta])


if __name__ == "__main__":
    main()
