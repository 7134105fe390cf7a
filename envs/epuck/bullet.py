"""The e-puck world in PyBullet: arenas, bodies, IR rays and kinematic motion.

The second simulator of case study 2 (the first, used for training, is the batched torch
simulator of :mod:`turing.envs.epuck.sim`). It is built from the same constants (cm,
converted to PyBullet's metres) and reuses the torch simulator's pieces wherever they are
not geometry queries: start poses, wheel-noise rule, ray origins and directions, IR
response and reading formula. What PyBullet does is the geometry: ``rayTestBatch`` finds
what each ray hits, and contact queries (``getOverlappingObjects`` + ``getClosestPoints``)
find the penetrations that are resolved after each substep.

Two representations of each cylinder, chosen for accuracy (measured against the analytic
distances): Bullet's ray test against a primitive cylinder goes through GJK and is off by
up to 4 mm, so the rays see a static triangle mesh of ``CYLINDER_FACETS`` facets (exact
ray-triangle tests; the facets lie within 2e-5 cm of the circle); contacts use the
primitive cylinder, against which Bullet's sphere contact is exact. The body's collision
shape is a sphere of the body's radius centred at mid-height: walls and cylinders are
vertical and taller than the robot, so it touches them exactly where the 2-D disc does,
while cylinder-cylinder penetration comes from EPA with errors of ~2e-5 m. The body
visual is the e-puck's cylinder. Collision filter groups keep the three apart: rays hit
only ``RAY_TARGETS``, and the body is tested only against ``CONTACT_TARGETS``.

Several arenas can share one client (replays show two side by side): each is offset in
x, and poses are always given in the arena's own frame (cm, corners (0, 0) and (50, 50)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from turing.envs.bullet_view import BulletView, color_scale
from turing.envs.epuck import constants as C
from turing.envs.epuck import sim

Tensor = torch.Tensor

M = C.METRES_PER_CM
RAY_TARGETS = 1
"""Collision filter group of what the IR rays see (walls, cylinder meshes)."""
CONTACT_TARGETS = 2
"""Collision filter group of what the body collides with (walls, primitive cylinders)."""
BODIES = 4
"""Collision filter group of the robots (seen by nothing)."""
RAY_CALLBACK_GROUP = 1
"""The collision filter group rayTestBatch gives its rays (Bullet's default filter)."""

CYLINDER_FACETS = 720
"""Facets of a cylinder's ray mesh (sagitta 1.8e-5 cm)."""
WALL_THICKNESS = 1.0
ARENA_SPACING = 70.0
"""Distance (cm) between the origins of arenas sharing one client."""

FLOOR_COLOR = (0.93, 0.93, 0.9, 1.0)
WALL_COLOR = (0.55, 0.5, 0.45, 1.0)
CYLINDER_COLOR = (0.45, 0.47, 0.52, 1.0)
ROBOT_COLORS = ((0.15, 0.45, 0.85, 1.0), (0.9, 0.5, 0.1, 1.0))
"""Body colours: genuine (blue), model (orange)."""
TRAIL_COLORS = ((0.1, 0.3, 0.7), (0.75, 0.35, 0.05))
NO_HIT_COLOR = (0.62, 0.72, 0.62)
"""Colour of rays with nothing in range (they read 0)."""


class Arena:
    """The walls and the nine cylinders of one arena.

    Args:
        view: the PyBullet client.
        origin: where the arena's corner (0, 0) lies, in cm of the client's frame.
        cylinders: whether it holds the nine cylinders of case study 2.
    """

    def __init__(
        self, view: BulletView, origin: tuple[float, float] = (0.0, 0.0), cylinders: bool = True
    ):
        self.view = view
        self.origin = (float(origin[0]), float(origin[1]))
        self.contact_bodies: set[int] = set()
        pb, client = view.pb, view.id
        size, ox, oy = C.ARENA_SIZE, self.origin[0], self.origin[1]

        floor = pb.createVisualShape(
            pb.GEOM_BOX,
            halfExtents=[M * size / 2, M * size / 2, 0.0005],
            rgbaColor=FLOOR_COLOR,
            physicsClientId=client,
        )
        pb.createMultiBody(
            0,
            -1,
            floor,
            basePosition=[M * (ox + size / 2), M * (oy + size / 2), -0.0005],
            physicsClientId=client,
        )

        half_t, half_h = WALL_THICKNESS / 2, C.WALL_HEIGHT / 2
        span = size / 2 + WALL_THICKNESS
        for cx, cy, hx, hy in (
            (-half_t, size / 2, half_t, span),
            (size + half_t, size / 2, half_t, span),
            (size / 2, -half_t, span, half_t),
            (size / 2, size + half_t, span, half_t),
        ):
            extents = [M * hx, M * hy, M * half_h]
            shape = pb.createCollisionShape(
                pb.GEOM_BOX, halfExtents=extents, physicsClientId=client
            )
            visual = pb.createVisualShape(
                pb.GEOM_BOX, halfExtents=extents, rgbaColor=WALL_COLOR, physicsClientId=client
            )
            wall = pb.createMultiBody(
                0,
                shape,
                visual,
                basePosition=[M * (ox + cx), M * (oy + cy), M * half_h],
                physicsClientId=client,
            )
            self._set_group(wall, RAY_TARGETS | CONTACT_TARGETS)
            self.contact_bodies.add(wall)

        if cylinders:
            self._add_cylinders()

    def _add_cylinders(self) -> None:
        pb, client = self.view.pb, self.view.id
        ox, oy = self.origin
        height = C.CYLINDER_HEIGHT
        primitive = pb.createCollisionShape(
            pb.GEOM_CYLINDER,
            radius=M * C.CYLINDER_RADIUS,
            height=M * height,
            physicsClientId=client,
        )
        visual = pb.createVisualShape(
            pb.GEOM_CYLINDER,
            radius=M * C.CYLINDER_RADIUS,
            length=M * height,
            rgbaColor=CYLINDER_COLOR,
            physicsClientId=client,
        )
        mesh = _cylinder_mesh(self.view, C.CYLINDER_RADIUS, height)
        # PyBullet renders a body without a visual shape by its collision shape: the ray
        # meshes get a speck hidden inside the cylinder instead (rendering 18 meshes of
        # 1,440 triangles made frames 20x slower).
        speck = pb.createVisualShape(
            pb.GEOM_SPHERE, radius=1e-4, rgbaColor=CYLINDER_COLOR, physicsClientId=client
        )
        for cx, cy in C.CYLINDER_CENTRES:
            position = [M * (ox + cx), M * (oy + cy), M * height / 2]
            contact = pb.createMultiBody(
                0, primitive, visual, basePosition=position, physicsClientId=client
            )
            self._set_group(contact, CONTACT_TARGETS)
            self.contact_bodies.add(contact)
            rays = pb.createMultiBody(0, mesh, speck, basePosition=position, physicsClientId=client)
            self._set_group(rays, RAY_TARGETS)

    def _set_group(self, body: int, group: int) -> None:
        # Bullet tests a ray against a body only if the ray's group (1, fixed by
        # rayTestBatch) is in the body's mask; nothing else is ever simulated dynamically.
        self.view.pb.setCollisionFilterGroupMask(
            body, -1, group, RAY_CALLBACK_GROUP, physicsClientId=self.view.id
        )

    def to_world(self, x: float, y: float, z: float = 0.0) -> list[float]:
        """Client-frame metres of an arena-frame point in cm."""
        return [M * (self.origin[0] + float(x)), M * (self.origin[1] + float(y)), M * float(z)]


def _cylinder_mesh(view: BulletView, radius: float, height: float) -> int:
    """A static triangle mesh of a cylinder's side (rays are horizontal: no caps)."""
    angles = np.arange(CYLINDER_FACETS) * (2 * math.pi / CYLINDER_FACETS)
    ring = np.stack([M * radius * np.cos(angles), M * radius * np.sin(angles)], axis=1)
    half = M * height / 2
    vertices = [[x, y, -half] for x, y in ring] + [[x, y, half] for x, y in ring]
    indices = []
    n = CYLINDER_FACETS
    for i in range(n):
        j = (i + 1) % n
        indices += [i, j, n + j, i, n + j, n + i]
    pb = view.pb
    return pb.createCollisionShape(
        pb.GEOM_MESH,
        vertices=vertices,
        indices=indices,
        flags=pb.GEOM_FORCE_CONCAVE_TRIMESH,
        physicsClientId=view.id,
    )


class Epuck:
    """One e-puck with its own sensor layout, in an arena.

    Args:
        view: the PyBullet client.
        arena: the arena it drives in.
        layout: the sensor layout ``[24]`` (see :mod:`turing.envs.epuck.sim`).
        color: body colour (RGBA).

    Attributes:
        layout: the sensor layout ``[24, 1]`` float64 (replace it to give the robot other
            sensors; the body does not change).
        pose: x, y (cm, arena frame) and heading (rad).
    """

    def __init__(
        self,
        view: BulletView,
        arena: Arena,
        layout: Tensor | Sequence[float],
        color=ROBOT_COLORS[0],
    ):
        self.view = view
        self.arena = arena
        self.layout = torch.as_tensor(layout, dtype=torch.float64).reshape(sim.LAYOUT_SIZE, 1)
        self.pose = np.array([C.ARENA_SIZE / 2, C.ARENA_SIZE / 2, 0.0])
        pb, client = view.pb, view.id
        radius, height = M * C.BODY_RADIUS, M * C.BODY_HEIGHT
        sphere = pb.createCollisionShape(pb.GEOM_SPHERE, radius=radius, physicsClientId=client)
        # The visual: the body's cylinder and a dark nose showing the heading.
        visual = pb.createVisualShapeArray(
            shapeTypes=[pb.GEOM_CYLINDER, pb.GEOM_BOX],
            radii=[radius, 0.0],
            lengths=[height, 0.0],
            halfExtents=[[0, 0, 0], [0.25 * radius, 0.12 * radius, 0.06 * height]],
            rgbaColors=[list(color), [0.1, 0.1, 0.1, 1.0]],
            visualFramePositions=[[0, 0, 0], [0.7 * radius, 0, 0.5 * height]],
            physicsClientId=client,
        )
        self.body = pb.createMultiBody(
            C.BODY_MASS_KG,
            sphere,
            visual,
            basePosition=arena.to_world(*self.pose[:2], C.BODY_HEIGHT / 2),
            physicsClientId=client,
        )
        pb.setCollisionFilterGroupMask(self.body, -1, BODIES, 0, physicsClientId=client)
        self.place(self.pose)

    def place(self, pose: Sequence[float]) -> None:
        """Puts the body at ``pose`` (x, y in cm, heading in rad; arena frame)."""
        self.pose = np.asarray(pose, dtype=np.float64).reshape(3).copy()
        self._move(self.pose[0], self.pose[1], self.pose[2])

    def _move(self, x: float, y: float, heading: float) -> None:
        pb = self.view.pb
        pb.resetBasePositionAndOrientation(
            self.body,
            self.arena.to_world(x, y, C.BODY_HEIGHT / 2),
            pb.getQuaternionFromEuler([0.0, 0.0, heading]),
            physicsClientId=self.view.id,
        )

    def drive(self, v_left: float, v_right: float) -> None:
        """One control step (0.1 s in 10 substeps) at constant wheel speeds (cm/s).

        Each substep moves the body along the exact arc of the differential drive (the same
        integration as the torch simulator), then PyBullet's contact queries resolve any
        penetration by moving the body out along the contact normal (no bounce, heading
        unchanged).
        """
        x, y, heading = self.pose
        v = 0.5 * (v_left + v_right)
        turn = (v_right - v_left) * (sim.SUBSTEP / C.WHEEL_BASE)
        half = 0.5 * turn
        chord = v * sim.SUBSTEP * (math.sin(half) / half if abs(half) > 1e-4 else 1.0)
        for k in range(C.SUBSTEPS):
            direction = heading + half + k * turn
            x, y = self._resolve(
                x + chord * math.cos(direction),
                y + chord * math.sin(direction),
                heading + (k + 1) * turn,
            )
        heading = math.remainder(heading + C.SUBSTEPS * turn, 2 * math.pi)
        self.place((x, y, heading))

    def _resolve(self, x: float, y: float, heading: float) -> tuple[float, float]:
        pb, client = self.view.pb, self.view.id
        self._move(x, y, heading)
        r = M * C.BODY_RADIUS
        centre = self.arena.to_world(x, y, C.BODY_HEIGHT / 2)
        overlapping = (
            pb.getOverlappingObjects(
                [centre[0] - r, centre[1] - r, centre[2] - r],
                [centre[0] + r, centre[1] + r, centre[2] + r],
                physicsClientId=client,
            )
            or ()
        )
        for body in sorted({b for b, _ in overlapping} & self.arena.contact_bodies):
            # One obstacle at a time, re-queried after each push: in a corner the second
            # wall's penetration is measured from where the first push left the body.
            points = pb.getClosestPoints(self.body, body, 0.0, physicsClientId=client)
            if not points:
                continue
            deepest = min(points, key=lambda point: point[8])
            depth = deepest[8]
            if depth >= 0:
                continue
            normal = deepest[7]  # on the obstacle, pointing towards the body
            x -= depth * normal[0] / M
            y -= depth * normal[1] / M
            self._move(x, y, heading)
        return x, y

    def wheel_positions(self) -> tuple[list[float], list[float]]:
        """Client-frame points (m) under the left and right wheels (for trails)."""
        x, y, heading = self.pose
        half = C.WHEEL_BASE / 2
        left = self.arena.to_world(x - half * math.sin(heading), y + half * math.cos(heading), 0.05)
        right = self.arena.to_world(
            x + half * math.sin(heading), y - half * math.cos(heading), 0.05
        )
        return left, right


class EpuckWorld:
    """Arenas and e-pucks in one PyBullet client.

    Args:
        view: the client (GUI or headless).
        arenas: arenas side by side along x, ``spacing`` cm apart (origin to origin).
        spacing: cm between the arenas' origins (replays set them far apart, so that each
            arena's picture shows it alone).
        cylinders: whether the arenas hold the nine cylinders (the range sensor's do not).
    """

    def __init__(
        self,
        view: BulletView,
        arenas: int = 1,
        spacing: float = ARENA_SPACING,
        cylinders: bool = True,
    ):
        self.view = view
        self.arenas = [Arena(view, (k * spacing, 0.0), cylinders=cylinders) for k in range(arenas)]
        self.robots: list[Epuck] = []
        self._last_distances: Tensor | None = None

    def add_robot(self, arena: int, layout: Tensor | Sequence[float], color=None) -> Epuck:
        """Puts an e-puck with sensor ``layout`` ``[24]`` into arena ``arena``."""
        color = color or ROBOT_COLORS[len(self.robots) % len(ROBOT_COLORS)]
        robot = Epuck(self.view, self.arenas[arena], layout, color)
        self.robots.append(robot)
        return robot

    # ------------------------------------------------------------------ state
    def poses(self) -> Tensor:
        """Poses ``[3, n]`` of the robots (arena frames), float64."""
        return torch.as_tensor(np.stack([r.pose for r in self.robots], axis=1))

    def place(self, poses: Tensor | np.ndarray) -> None:
        """Puts the robots at ``poses`` ``[3, n]``."""
        poses = np.asarray(torch.as_tensor(poses, dtype=torch.float64).cpu())
        for k, robot in enumerate(self.robots):
            robot.place(poses[:, k])

    def layouts(self) -> Tensor:
        """Sensor layouts ``[24, n]`` of the robots."""
        return torch.cat([r.layout for r in self.robots], dim=1)

    # ------------------------------------------------------------------ dynamics
    def drive(self, action: Tensor, wheel_factors: Tensor | None = None) -> None:
        """One control step of every robot under wheel commands ``[2, n]`` in [-1, 1] and
        wheel-noise factors ``[2, n]`` (``None``: noise off), by the torch simulator's rule."""
        v_left, v_right = sim.wheel_speeds(
            torch.as_tensor(action, dtype=torch.float64),
            None if wheel_factors is None else torch.as_tensor(wheel_factors, dtype=torch.float64),
        )
        for k, robot in enumerate(self.robots):
            robot.drive(float(v_left[k]), float(v_right[k]))

    # ------------------------------------------------------------------ sensors
    def ray_distances(self) -> Tensor:
        """Distance (cm) along each ray to what it hits within range (``inf`` if nothing),
        ``[3, 8, n]``, from one ``rayTestBatch`` over all robots' 24 rays."""
        pose, layout = self.poses(), self.layouts()
        ox, oy = sim.ray_origins(pose, layout)  # [8, n]
        ux, uy = sim.ray_directions(pose, layout)  # [3, 8, n]
        n = len(self.robots)
        shift_x = torch.tensor([r.arena.origin[0] for r in self.robots], dtype=torch.float64)
        shift_y = torch.tensor([r.arena.origin[1] for r in self.robots], dtype=torch.float64)
        start_x = (ox + shift_x).expand(3, -1, -1)
        start_y = (oy + shift_y).expand(3, -1, -1)
        z = torch.full_like(start_x, C.SENSOR_HEIGHT)
        starts = torch.stack([start_x, start_y, z], dim=-1).reshape(-1, 3) * M
        ends = (
            torch.stack(
                [start_x + C.RAY_RANGE * ux, start_y + C.RAY_RANGE * uy, z], dim=-1
            ).reshape(-1, 3)
            * M
        )
        hits = self.view.pb.rayTestBatch(
            starts.tolist(),
            ends.tolist(),
            collisionFilterMask=RAY_TARGETS,
            physicsClientId=self.view.id,
        )
        fraction = torch.tensor(
            [h[2] if h[0] >= 0 else math.inf for h in hits], dtype=torch.float64
        )
        self._last_distances = (fraction * C.RAY_RANGE).reshape(3, sim.N, n)
        return self._last_distances

    def readings(self, ir_noise: Tensor | None = None) -> Tensor:
        """Normalised readings ``[8, n]`` (the torch simulator's formula), float64."""
        noise = None if ir_noise is None else torch.as_tensor(ir_noise, dtype=torch.float64)
        return sim.readings_from_distances(self.ray_distances(), noise)

    # ------------------------------------------------------------------ drawing
    def draw_rays(self, readings: Tensor | np.ndarray, prefix: str = "ray") -> None:
        """Draws every robot's rays from its sensor to what they hit (or to their range),
        coloured by the sensor's reading (green 0 .. red 1). Uses the distances of the
        last :meth:`ray_distances` call."""
        if self._last_distances is None:
            self.ray_distances()
        distances = self._last_distances.clamp_max(C.RAY_RANGE).numpy()
        pose, layout = self.poses(), self.layouts()
        ox, oy = (v.numpy() for v in sim.ray_origins(pose, layout))
        ux, uy = (v.numpy() for v in sim.ray_directions(pose, layout))
        readings = np.asarray(torch.as_tensor(readings, dtype=torch.float64).cpu())
        hit = np.isfinite(self._last_distances.numpy())
        z = C.SENSOR_HEIGHT
        for k, robot in enumerate(self.robots):
            for i in range(sim.N):
                color = color_scale(readings[i, k])
                start = robot.arena.to_world(ox[i, k], oy[i, k], z)
                for j in range(3):
                    d = distances[j, i, k]
                    end = robot.arena.to_world(
                        ox[i, k] + d * ux[j, i, k], oy[i, k] + d * uy[j, i, k], z
                    )
                    # Rays that see nothing are drawn faint: the eye goes to the ones that do.
                    self.view.line(
                        f"{prefix}{k}-{i}-{j}",
                        start,
                        end,
                        color if hit[j, i, k] else NO_HIT_COLOR,
                        1.5 if hit[j, i, k] else 0.6,
                    )
