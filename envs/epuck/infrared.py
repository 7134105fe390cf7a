"""The physical e-puck's infrared proximity sensors: a cone of rays per sensor, and a
response of their own (the sensor model of ``turing/EpuckBullet-v0``).

An e-puck proximity sensor (a TCRT1000-like emitter and receiver pair) lights a cone and
measures the infrared that the surfaces in it reflect back. Here each sensor casts a cone
of :data:`CONE` rays (its axis, 6 rays 10 degrees off it and 6 rays 20 degrees off it,
up, down and sideways: the cone is three-dimensional and tilts with the body); a ray that
hits a wall or a cylinder at distance ``d`` (cm) with incidence angle ``psi`` returns

    w(gamma) cos(psi) (d_e / (d + d_e))^2

with ``w`` the beam's directivity, a Gaussian in the ray's angle ``gamma`` off the axis
(``beam_deg`` its standard deviation; the weights sum to 1), and ``d_e`` (``decay_cm``) the
distance at which the return has fallen to a quarter of a touching surface's. Nothing
beyond ``range_cm`` returns anything (the receiver's threshold), and the floor is not seen
(a real robot calibrates its floor's reflection away as ambient light). The sensor reads
the summed return ``I`` through a saturating receiver with multiplicative and additive
noise::

    reading = clip(1 - exp(-gain I (1 + gain_noise z1)) + noise z2, 0, 1)

A flat wall seen head-on at 0, 1, 2, 5 and 8 cm reads about 0.86, 0.39, 0.20, 0.05 and
0.02 with the defaults. The fast simulator (``sim.py``) uses three coplanar rays and
Enki's ``F(x)``, which falls off faster (0.69 at 1 cm, 0.22 at 2 cm, 0.03 at 5 cm, 0.006
at 8 cm), ignores incidence and has less noise: these are the differences a reality-gap
study is about (``docs/specs/epuck-bullet.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from turing.errors import UserError


def _cone() -> np.ndarray:
    rays = [(0.0, 0.0)]
    for ring, first in ((10.0, 0.0), (20.0, 30.0)):
        for k in range(6):
            angle = math.radians(first + 60.0 * k)
            rays.append((ring * math.cos(angle), ring * math.sin(angle)))
    return np.radians(np.array(rays))


CONE = _cone()
"""``[13, 2]``: each ray's horizontal and vertical angle (rad) from the sensor's axis."""


@dataclass(frozen=True)
class InfraredModel:
    """The response of the physical robot's proximity sensors.

    Attributes:
        gain: receiver gain (the reading of a summed return ``I`` is ``1 - exp(-gain I)``).
        decay_cm: distance (cm) at which a surface returns a quarter of what it returns
            touching the sensor.
        range_cm: rays see nothing beyond this distance (cm).
        beam_deg: standard deviation (degrees) of the beam's Gaussian directivity.
        noise: standard deviation of the additive reading noise.
        gain_noise: standard deviation of the multiplicative noise on the return.
    """

    gain: float = 2.0
    decay_cm: float = 1.0
    range_cm: float = 10.0
    beam_deg: float = 15.0
    noise: float = 0.01
    gain_noise: float = 0.05

    def __post_init__(self):
        for name in ("gain", "decay_cm", "range_cm", "beam_deg"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise UserError(f"turing/EpuckBullet-v0: ir_{name}={value!r} must be a number > 0")
        for name in ("noise", "gain_noise"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise UserError(f"turing/EpuckBullet-v0: ir_{name}={value!r} must be a number >= 0")

    @property
    def weights(self) -> np.ndarray:
        """``[13]``: each cone ray's share of the beam (they sum to 1)."""
        off_axis = np.arccos(np.cos(CONE[:, 0]) * np.cos(CONE[:, 1]))
        w = np.exp(-0.5 * (off_axis / math.radians(self.beam_deg)) ** 2)
        return w / w.sum()

    def returns(self, distance_cm: np.ndarray, cos_incidence: np.ndarray) -> np.ndarray:
        """Each ray's weighted return; ``distance_cm`` is ``inf`` where a ray hit nothing.

        Args:
            distance_cm, cos_incidence: ``[..., 13]`` per ray of each sensor.

        Returns:
            the summed return ``I`` of each sensor, ``[...]``.
        """
        seen = distance_cm <= self.range_cm
        d = np.where(seen, distance_cm, 0.0)
        value = np.clip(cos_incidence, 0.0, 1.0) * (self.decay_cm / (d + self.decay_cm)) ** 2
        return (np.where(seen, value, 0.0) * self.weights).sum(-1)

    def readings(self, returns: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """Readings in [0, 1] of summed returns ``[k]``, with noise drawn from ``rng`` (two
        standard normals per sensor: multiplicative, then additive) or none."""
        exponent = self.gain * returns
        if rng is None:
            return np.clip(1.0 - np.exp(-exponent), 0.0, 1.0)
        z = rng.standard_normal((2, returns.shape[-1]))
        value = 1.0 - np.exp(-exponent * (1.0 + self.gain_noise * z[0]))
        return np.clip(value + self.noise * z[1], 0.0, 1.0)

    def head_on(self, distance_cm: float) -> float:
        """The noise-free reading of a flat wall seen head-on at ``distance_cm`` (for
        documentation and tests): each cone ray meets it at ``d / cos(gamma)`` with
        incidence ``gamma``."""
        cos_gamma = np.cos(CONE[:, 0]) * np.cos(CONE[:, 1])
        returns = self.returns(distance_cm / cos_gamma, cos_gamma)
        return float(self.readings(np.asarray([returns]), None)[0])


def ray_directions_body(facings: np.ndarray) -> np.ndarray:
    """Body-frame unit directions ``[8, 13, 3]`` of every sensor's cone of rays."""
    facing = facings[:, None] + CONE[None, :, 0]
    up = np.broadcast_to(CONE[None, :, 1], facing.shape)
    return np.stack([np.cos(up) * np.cos(facing), np.cos(up) * np.sin(facing), np.sin(up)], axis=-1)
