"""The arena of the physical e-puck (``turing/EpuckBullet-v0``): case study 2's floor, walls
and nine cylinders as static PyBullet bodies, the collision-filter groups that decide what
touches what, and the random start poses.

Each cylinder is two bodies: Bullet's primitive cylinder, which the robot's body collides
with, and a triangle mesh of its side, which the infrared rays see (rays against the
primitive go through GJK and miss the surface by up to 4 mm; against the mesh they are
exact). The floor is seen by nothing but the wheels and skids.
"""

from __future__ import annotations

import math

import numpy as np

from turing.envs.epuck import constants as C

M = C.METRES_PER_CM

# Collision filter groups. Bullet lets two objects collide when each one's group is in the
# other's mask; rayTestBatch's rays have group 1 and test bodies whose group is in the mask
# they are given.
RAYS = 1
OBSTACLES = 2
"""Walls and the cylinders' primitive shapes: what the body collides with."""
RAY_TARGETS = 4
"""Walls and the cylinders' ray meshes: what the infrared rays see."""
FLOOR = 8
BODY = 16
FEET = 32
"""Wheels and skids: they touch only the floor."""

CYLINDER_FACETS = 180
"""Facets of a cylinder's ray mesh (it lies within 3e-3 mm of the circle)."""
WALL_THICKNESS = 1.0


def set_group(pb, client: int, body: int, link: int, group: int, mask: int) -> None:
    """Puts a body's link in collision filter ``group`` with ``mask``."""
    pb.setCollisionFilterGroupMask(body, link, group, mask, physicsClientId=client)


def build_arena(pb, client: int) -> int:
    """Builds the floor, the walls and the cylinders in the client; returns the floor's id."""
    size = C.ARENA_SIZE
    floor_shape = pb.createCollisionShape(
        pb.GEOM_BOX, halfExtents=[M * size, M * size, M * 0.5], physicsClientId=client
    )
    floor_visual = pb.createVisualShape(
        pb.GEOM_BOX,
        halfExtents=[M * size / 2, M * size / 2, M * 0.05],
        rgbaColor=(0.93, 0.93, 0.9, 1.0),
        visualFramePosition=[0, 0, M * 0.45],
        physicsClientId=client,
    )
    floor = pb.createMultiBody(
        0,
        floor_shape,
        floor_visual,
        basePosition=[M * size / 2, M * size / 2, -M * 0.5],
        physicsClientId=client,
    )
    set_group(pb, client, floor, -1, FLOOR, FEET)
    half_t, half_h = WALL_THICKNESS / 2, C.WALL_HEIGHT / 2
    span = size / 2 + WALL_THICKNESS
    for cx, cy, hx, hy in (
        (-half_t, size / 2, half_t, span),
        (size + half_t, size / 2, half_t, span),
        (size / 2, -half_t, span, half_t),
        (size / 2, size + half_t, span, half_t),
    ):
        extents = [M * hx, M * hy, M * half_h]
        wall = pb.createMultiBody(
            0,
            pb.createCollisionShape(pb.GEOM_BOX, halfExtents=extents, physicsClientId=client),
            pb.createVisualShape(
                pb.GEOM_BOX,
                halfExtents=extents,
                rgbaColor=(0.55, 0.5, 0.45, 1.0),
                physicsClientId=client,
            ),
            basePosition=[M * cx, M * cy, M * half_h],
            physicsClientId=client,
        )
        set_group(pb, client, wall, -1, OBSTACLES | RAY_TARGETS, RAYS | BODY)
    radius, height = C.CYLINDER_RADIUS, C.CYLINDER_HEIGHT
    primitive = pb.createCollisionShape(
        pb.GEOM_CYLINDER, radius=M * radius, height=M * height, physicsClientId=client
    )
    visual = pb.createVisualShape(
        pb.GEOM_CYLINDER,
        radius=M * radius,
        length=M * height,
        rgbaColor=(0.45, 0.47, 0.52, 1.0),
        physicsClientId=client,
    )
    # Rays against Bullet's primitive cylinder go through GJK and miss the surface by
    # up to 4 mm; against a triangle mesh they are exact (see bullet.py).
    angles = np.arange(CYLINDER_FACETS) * (2 * math.pi / CYLINDER_FACETS)
    ring = [[M * radius * math.cos(a), M * radius * math.sin(a)] for a in angles]
    vertices = [[x, y, -M * height / 2] for x, y in ring]
    vertices += [[x, y, M * height / 2] for x, y in ring]
    n = CYLINDER_FACETS
    indices = []
    for i in range(n):
        j = (i + 1) % n
        indices += [i, j, n + j, i, n + j, n + i]
    mesh = pb.createCollisionShape(
        pb.GEOM_MESH,
        vertices=vertices,
        indices=indices,
        flags=pb.GEOM_FORCE_CONCAVE_TRIMESH,
        physicsClientId=client,
    )
    for cx, cy in C.CYLINDER_CENTRES:
        position = [M * cx, M * cy, M * height / 2]
        solid = pb.createMultiBody(0, primitive, visual, position, physicsClientId=client)
        set_group(pb, client, solid, -1, OBSTACLES, BODY)
        rays = pb.createMultiBody(0, mesh, -1, position, physicsClientId=client)
        set_group(pb, client, rays, -1, RAY_TARGETS, RAYS)
    # Bullet multiplies the two bodies' coefficients: the floor and the obstacles have
    # 1, so each robot part's own coefficient is the pair's.
    for body in range(pb.getNumBodies(physicsClientId=client)):
        pb.changeDynamics(body, -1, lateralFriction=1.0, restitution=0.0, physicsClientId=client)
    return floor


def is_free(x: float, y: float) -> bool:
    """Whether a body centred at ``(x, y)`` (cm) lies inside the arena and overlaps no
    cylinder (the fast simulator's rule)."""
    low, high = C.BODY_RADIUS, C.ARENA_SIZE - C.BODY_RADIUS
    if not (low <= x <= high and low <= y <= high):
        return False
    clearance = (C.BODY_RADIUS + C.CYLINDER_RADIUS) ** 2
    return all((x - cx) ** 2 + (y - cy) ** 2 >= clearance for cx, cy in C.CYLINDER_CENTRES)


def sample_start(rng: np.random.Generator) -> tuple[float, float, float]:
    """A start pose uniform over the free places, heading uniform in [0, 2 pi)."""
    low, high = C.BODY_RADIUS, C.ARENA_SIZE - C.BODY_RADIUS
    while True:
        x, y, u = rng.uniform(size=3)
        x, y = low + (high - low) * x, low + (high - low) * y
        if is_free(x, y):
            return float(x), float(y), float(2 * math.pi * u)
