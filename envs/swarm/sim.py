"""The batched torch simulator of the swarm (the definition; ``kernel.c`` is its native twin).

Every trial is a swarm of ``N`` e-pucks (case study 2's body and wheels) in an unbounded
plane; a batch of ``n`` trials is simulated at once, robots on the first axis and trials on
the last (``x``, ``y``, ``heading`` are ``[N, n]``; pairwise quantities ``[N, N, n]``). One
control step (``control_step``): every robot reads its line-of-sight sensor at the current
poses, the focal robot's reading may be overridden by the interrogator, each robot sets its
wheels from its controller's two speed pairs, and all robots drive for 0.1 s in 10
substeps with contacts resolved after every substep (bodies moved apart along the contact
normal, no bounce, all pairs at once). The observation is the focal robot's (robot 0's)
linear and angular speed over the step, normalised and noisy. Random draws, in order: per
step ``uniform(2N)`` (the wheel factors: rows ``2i``, ``2i + 1`` are robot ``i``'s left and
right wheel) then ``normal(2)`` (the observation noise); at reset ``normal(2)``; start
positions by rejection sampling from the start stream (robot ``i``, attempt ``a`` reads
block ``i * START_ATTEMPTS + a``). Every operation is chosen to be computed alike by
``kernel.c`` (same formulas, same order; only the transcendentals differ by float rounding).
"""

from __future__ import annotations

import math

import torch

from turing.engine import Noise, box_muller
from turing.envs.epuck import constants as C

Tensor = torch.Tensor

# ----------------------------------------------------------------------------- constants
BODY_RADIUS = C.BODY_RADIUS  # 3.7 cm
CONTACT_DISTANCE = 2 * BODY_RADIUS
"""Centres closer than this overlap."""
MAX_WHEEL_SPEED = C.MAX_WHEEL_SPEED  # 12.8 cm/s
SUBSTEPS = C.SUBSTEPS
SUBSTEP = C.CONTROL_STEP / C.SUBSTEPS
TURN_PER_SPEED = SUBSTEP / C.WHEEL_BASE
START_SPACING = 16.0
"""cm: robots start in a disc of radius ``START_SPACING * sqrt(N)`` (about 5 % of it covered
by bodies, whatever ``N``)."""
START_ATTEMPTS = 10_000
"""Rejection-sampling attempts per robot (at 5 % cover nearly every attempt succeeds)."""
NEAR_MARGIN = 3.0
"""cm: pairs farther apart than ``2 r + NEAR_MARGIN`` at the start of a step are not tested
for contact during it (two robots approach each other by at most 2 x 1.28 cm per step when
driving, and pushes move bodies no faster than their pushers drive)."""
OBSERVATION_NOISE_STD = 0.05
OBSERVATION_BOUND = 2.0
"""Observations are clipped to [-2, 2] (free motion gives [-1, 1]; pushes add to it)."""
OVERRIDE_THRESHOLD = 1.0 / 3.0
"""An interrogator's action above this forces the focal robot's reading to 1, below minus
this to 0; in between the robot reads its own sensor."""
SPEED_SCALE = 1.0 / (C.CONTROL_STEP * MAX_WHEEL_SPEED)
"""Displacement (cm per step) to linear speed in units of 12.8 cm/s."""
TURN_SCALE = 0.5 / MAX_WHEEL_SPEED
"""Wheel speed difference (cm/s) to angular speed in units of 2 x 12.8 / 5.1 = 5.02 rad/s."""
MAX_ROBOTS = 50


def start_radius(n_robots: int) -> float:
    """The default radius (cm) of the disc in which ``n_robots`` start."""
    return START_SPACING * math.sqrt(n_robots)


# ----------------------------------------------------------------------------- starts
def sample_starts(
    n: int,
    n_robots: int,
    radius: float,
    noise: Noise,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Start poses of ``n`` swarms: ``n_robots`` centres uniform in a disc of ``radius`` cm
    around the origin without overlap, headings uniform in [0, 2 pi).

    Robot ``i`` is placed after robots ``0 .. i-1``: attempt ``a`` reads the uniforms
    ``(u0, u1, u2)`` of block ``i * START_ATTEMPTS + a`` of the start stream, proposes
    ``(radius (2 u0 - 1), radius (2 u1 - 1))`` and accepts it inside the disc at distance at
    least ``2 r`` from every robot placed; the heading is ``2 pi u2``. Vectorised over the
    swarms still without a place for robot ``i``.

    Returns:
        ``[3 N, n]`` float32: ``x_0 .. x_{N-1}``, then the ``y``, then the headings.
    """
    x = torch.empty(n_robots, n, device=device)
    y = torch.empty(n_robots, n, device=device)
    heading = torch.empty(n_robots, n, device=device)
    r2 = float(radius) ** 2
    for i in range(n_robots):
        todo = torch.arange(n, device=device)
        pending = noise
        for attempt in range(START_ATTEMPTS):
            if not todo.numel():
                break
            u = pending.uniform(3, slot=i * START_ATTEMPTS + attempt).to(device)
            px = (2.0 * u[0] - 1.0) * radius
            py = (2.0 * u[1] - 1.0) * radius
            ok = px * px + py * py <= r2
            for j in range(i):
                dx = px - x[j, todo]
                dy = py - y[j, todo]
                ok = ok & (dx * dx + dy * dy >= CONTACT_DISTANCE**2)
            x[i, todo[ok]] = px[ok]
            y[i, todo[ok]] = py[ok]
            heading[i, todo[ok]] = (2.0 * math.pi) * u[2][ok]
            todo = todo[~ok]
            pending = pending.select(~ok)
        if todo.numel():
            raise RuntimeError(f"no free start position for robot {i} (is the start disc full?)")
    return torch.cat([x, y, heading])


def split_start(start: Tensor, n_robots: int) -> Tensor:
    """``[3 N, n]`` start rows to a pose ``[3, N, n]``."""
    return start.reshape(3, n_robots, -1)


# ----------------------------------------------------------------------------- sensing
def line_of_sight(x: Tensor, y: Tensor, c: Tensor, s: Tensor) -> Tensor:
    """Each robot's binary sensor: whether the ray straight ahead from the front of its body
    (unlimited range) meets another robot's body.

    With ``o`` the front point ``p_i + r u_i``, ``d = p_j - o``, ``b = d . u_i`` and
    ``q = |d|^2 - r^2``, the ray meets body ``j`` iff ``o`` lies inside it (``q <= 0``) or
    it lies ahead (``b >= 0``) within ``r`` of the ray (``b^2 - q >= 0``).

    Args:
        x, y: centres ``[N, n]``; c, s: cosine and sine of the headings ``[N, n]``.

    Returns:
        ``[N, n]`` bool.
    """
    ox = x + BODY_RADIUS * c
    oy = y + BODY_RADIUS * s
    dx = x.unsqueeze(0) - ox.unsqueeze(1)  # [i, j, n]: robot j seen from robot i's front
    dy = y.unsqueeze(0) - oy.unsqueeze(1)
    b = dx * c.unsqueeze(1) + dy * s.unsqueeze(1)
    q = dx * dx + dy * dy - BODY_RADIUS**2
    hit = (q <= 0.0) | ((b >= 0.0) & (b * b - q >= 0.0))
    n_robots = x.shape[0]
    others = ~torch.eye(n_robots, dtype=torch.bool, device=x.device).unsqueeze(-1)
    return (hit & others).any(dim=1)


# ----------------------------------------------------------------------------- contacts
def near_pairs(position: Tensor) -> Tensor:
    """``[N, N, n]`` bool: the pairs (``i != j``) of robots at ``position`` ``[2, N, n]``
    whose contacts are tested during a step."""
    d = position.unsqueeze(2) - position.unsqueeze(1)  # [2, i, j, n]: p_i - p_j
    near = (d * d).sum(0) < (CONTACT_DISTANCE + NEAR_MARGIN) ** 2
    n_robots = position.shape[1]
    others = ~torch.eye(n_robots, dtype=torch.bool, device=position.device).unsqueeze(-1)
    return near & others


def resolve_contacts(position: Tensor, near: Tensor) -> Tensor:
    """Moves overlapping bodies apart along their contact normal, each by half the overlap,
    all pairs at once (from the positions before any correction); no bounce.

    Robot ``i`` moves by ``sum_j (p_i - p_j) (2 r / |p_i - p_j| - 1) / 2`` over the near
    pairs that overlap, summed in the order ``j = 0 .. N-1`` (as ``kernel.c`` does).

    Args:
        position: centres ``[2, N, n]`` (x, y); near: :func:`near_pairs` ``[N, N, n]``.

    Returns:
        the corrected centres ``[2, N, n]``.
    """
    d = position.unsqueeze(2) - position.unsqueeze(1)  # [2, i, j, n]: p_i - p_j
    d2 = (d * d).sum(0)  # dx dx + dy dy: a sum of two terms is exact in any order
    contact = near & (d2 < CONTACT_DISTANCE**2)
    # Coincident centres (never seen: bodies stay apart) keep the unused branch finite.
    # A division (``number / tensor`` would be the number times a reciprocal, rounded twice).
    factor = torch.div(d2.new_tensor(CONTACT_DISTANCE), torch.sqrt(d2.clamp_min(1e-12)))
    push = d * torch.where(contact, 0.5 * (factor - 1.0), 0.0)
    correction = push[:, :, 0]
    for j in range(1, position.shape[1]):
        correction = correction + push[:, :, j]
    return position + correction


# ----------------------------------------------------------------------------- motion
def wheel_speeds(commands: Tensor, factors: Tensor | None) -> Tensor:
    """Wheel speeds (cm/s) of commands in [-1, 1]: times 12.8, times the noise factor,
    clipped to +-12.8 (as case study 2)."""
    speeds = commands * MAX_WHEEL_SPEED
    if factors is not None:
        speeds = speeds * factors
    return speeds.clamp(-MAX_WHEEL_SPEED, MAX_WHEEL_SPEED)


def drive(
    pose: Tensor,
    v_left: Tensor,
    v_right: Tensor,
    cos_heading: Tensor | None = None,
    sin_heading: Tensor | None = None,
) -> Tensor:
    """One control step of all robots: differential drive along the exact arc in 10
    substeps, contacts resolved after each.

    Args:
        pose: ``[3, N, n]``; v_left, v_right: wheel speeds ``[N, n]`` (cm/s).
        cos_heading, sin_heading: the headings' cosine and sine, if already known.

    Returns:
        the new pose ``[3, N, n]``, headings wrapped to [-pi, pi).
    """
    heading = pose[2]
    if cos_heading is None or sin_heading is None:
        cos_heading, sin_heading = torch.cos(heading), torch.sin(heading)
    v = 0.5 * (v_left + v_right)
    turn = (v_right - v_left) * TURN_PER_SPEED  # heading change per substep
    half = 0.5 * turn
    sin_half, cos_half = torch.sin(half), torch.cos(half)
    # Chord of the arc travelled in one substep; sin(half) / half -> 1 as the turn vanishes.
    sinc = torch.where(half.abs() > 1e-4, sin_half / half, torch.ones_like(half))
    chord = v * SUBSTEP * sinc
    # Direction of substep k's chord is heading + (k + 1/2) turn: the first by the angle-sum
    # formulas, then rotated by `turn` (double-angle formulas) each substep.
    c = cos_heading * cos_half - sin_heading * sin_half
    s = sin_heading * cos_half + cos_heading * sin_half
    cos_turn = 1.0 - 2.0 * sin_half * sin_half
    sin_turn = 2.0 * sin_half * cos_half
    position = pose[:2]
    near = near_pairs(position)
    for _ in range(SUBSTEPS):
        position = resolve_contacts(position + chord * torch.stack([c, s]), near)
        c, s = c * cos_turn - s * sin_turn, s * cos_turn + c * sin_turn
    heading = torch.remainder(heading + SUBSTEPS * turn + math.pi, 2 * math.pi) - math.pi
    return torch.cat([position, heading.unsqueeze(0)])


def controllers(params: Tensor, n_robots: int, replicas: int) -> tuple[Tensor, ...]:
    """Each robot's four speeds ``(v_l0, v_r0, v_l1, v_r1)``, ``[N, n]`` each: robots
    ``0 .. replicas-1`` run the focal controller (rows 0-3), the others rows 4-7."""
    is_replica = torch.arange(n_robots, device=params.device) < replicas
    mask = is_replica.unsqueeze(-1)
    return tuple(
        torch.where(mask, params[k].unsqueeze(0), params[4 + k].unsqueeze(0)) for k in range(4)
    )


def override(seen: Tensor, action: Tensor) -> Tensor:
    """The focal robot's reading after the interrogator's action ``[n]`` in [-1, 1]: 1 above
    1/3, 0 below -1/3, its own reading in between."""
    forced = torch.where(action > OVERRIDE_THRESHOLD, True, seen[0])
    forced = torch.where(action < -OVERRIDE_THRESHOLD, False, forced)
    return torch.cat([forced.unsqueeze(0), seen[1:]])


def observe(
    linear: Tensor, angular: Tensor, z: Tensor | None, noise_std: float = OBSERVATION_NOISE_STD
) -> Tensor:
    """The observation ``[2, n]``: speeds plus ``noise_std z`` (if noisy), clipped."""
    obs = torch.stack([linear, angular])
    if z is not None:
        obs = obs + noise_std * z
    return obs.clamp(-OBSERVATION_BOUND, OBSERVATION_BOUND)


def control_step(
    pose: Tensor,
    params: Tensor,
    action: Tensor,
    replicas: int,
    factors: Tensor | None = None,
    z: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """One control step of every swarm. Draws nothing.

    Args:
        pose: ``[3, N, n]``.
        params: simulation parameters ``[8, n]``.
        action: ``[1, n]`` the interrogator's action (0: no override).
        replicas: robots running the focal controller.
        factors: wheel noise ``[2N, n]`` (rows ``2i``, ``2i + 1``: robot ``i``) or ``None``.
        z: observation noise ``[2, n]`` or ``None``.

    Returns:
        ``(pose, seen, observation)``: the new pose, the readings the robots acted on
        ``[N, n]``, and the focal robot's motion ``[2, n]``.
    """
    n_robots = pose.shape[1]
    x, y, heading = pose[0], pose[1], pose[2]
    c, s = torch.cos(heading), torch.sin(heading)
    seen = override(line_of_sight(x, y, c, s), action[0])
    vl0, vr0, vl1, vr1 = controllers(params, n_robots, replicas)
    left = torch.where(seen, vl1, vl0)
    right = torch.where(seen, vr1, vr0)
    if factors is not None:
        factors = factors.reshape(n_robots, 2, -1)
        v_left = wheel_speeds(left, factors[:, 0])
        v_right = wheel_speeds(right, factors[:, 1])
    else:
        v_left, v_right = wheel_speeds(left, None), wheel_speeds(right, None)
    moved = drive(pose, v_left, v_right, c, s)
    linear = ((moved[0, 0] - x[0]) * c[0] + (moved[1, 0] - y[0]) * s[0]) * SPEED_SCALE
    angular = (v_right[0] - v_left[0]) * TURN_SCALE
    return moved, seen, observe(linear, angular, z)


def draw_step_noise(noise: Noise, n_robots: int) -> tuple[Tensor, Tensor]:
    """One step's draws: wheel factors ``U[0.95, 1.05)`` ``[2N, n]``, then the observation
    noise ``N(0, 1)`` ``[2, n]``."""
    low, high = C.WHEEL_NOISE
    factors = noise.uniform(2 * n_robots) * (high - low) + low
    return factors, noise.normal(2)


def observation_noise(u: Tensor) -> Tensor:
    """Two standard normals from two uniforms (as ``Noise.normal(2)``)."""
    z_cos, z_sin = box_muller(u[0], u[1])
    return torch.stack([z_cos, z_sin])


# ----------------------------------------------------------------------------- measures
def dispersion(x: Tensor, y: Tensor) -> Tensor:
    """Gauci et al.'s dispersion of swarms, ``sum_i |p_i - mean p|^2 / (4 r^2)``, ``[n]``."""
    mx, my = x.mean(0), y.mean(0)
    return ((x - mx).square() + (y - my).square()).sum(0) / (4 * BODY_RADIUS**2)


# ----------------------------------------------------------------------------- native kernel
def kernel_constants(n_robots: int, replicas: int, radius: float) -> tuple[tuple[str, float], ...]:
    """The constants of ``kernel.c`` (compiled in as definitions), from this module's."""
    low, high = C.WHEEL_NOISE
    return (
        ("NR", int(n_robots)),
        ("REPLICAS", int(replicas)),
        ("START_ATTEMPTS", int(START_ATTEMPTS)),
        ("START_RADIUS", float(radius)),
        ("START_RADIUS2", float(radius) ** 2),
        ("BODY_RADIUS", BODY_RADIUS),
        ("BODY_RADIUS2", BODY_RADIUS**2),
        ("CONTACT_DISTANCE", CONTACT_DISTANCE),
        ("CONTACT_DISTANCE2", CONTACT_DISTANCE**2),
        ("NEAR_DISTANCE2", (CONTACT_DISTANCE + NEAR_MARGIN) ** 2),
        ("MAX_WHEEL_SPEED", MAX_WHEEL_SPEED),
        ("WHEEL_NOISE_LOW", low),
        ("WHEEL_NOISE_SPAN", high - low),
        ("SUBSTEP", SUBSTEP),
        ("SUBSTEPS", int(SUBSTEPS)),
        ("TURN_PER_SPEED", TURN_PER_SPEED),
        ("PI_F", math.pi),
        ("TWO_PI_F", 2 * math.pi),
        ("SPEED_SCALE", SPEED_SCALE),
        ("TURN_SCALE", TURN_SCALE),
        ("OBSERVATION_NOISE_STD", OBSERVATION_NOISE_STD),
        ("OBSERVATION_BOUND", OBSERVATION_BOUND),
        ("OVERRIDE_THRESHOLD", OVERRIDE_THRESHOLD),
    )
