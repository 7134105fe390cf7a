"""The e-puck as a physical PyBullet robot in case study 2's arena: the world of
``turing/EpuckBullet-v0``, the "reality" of the reality-gap study.

Unlike :mod:`turing.envs.epuck.bullet` (the fast simulator's kinematics redrawn in
PyBullet), nothing here moves the robot by hand: PyBullet integrates a dynamic body of the
e-puck's mass and inertia on two wheels driven by velocity motors with a torque limit, with
two low-friction skids (casters) front and back, contact friction and slip against the
floor, and real collisions with the walls and the cylinders (which the body pushes
against and slides along with friction). The arena and the sensor layout come from
:mod:`turing.envs.epuck.constants`; the sensors are :mod:`turing.envs.epuck.infrared`'s.

Geometry (cm; PyBullet works in metres): the body is a cylinder of radius 3.7 and height
4.7 whose bottom is 0.3 above the floor; the wheels (radius 2.05, see
:class:`RobotPhysics`) sit on the axle through the centre, 5.1 apart; the skids are spheres
of radius 0.3 at 2.6 in front of and behind the axle, 0.03 above the floor when the body
is level, so the robot rocks a little onto them when it accelerates or brakes. The centre
of mass is on the axle. Contacts are made by collision-filter groups: the body touches
walls and cylinders, the wheels and skids touch only the floor (each wheel's contact is a
sphere of the wheel's radius: one point on the floor, as a thin tyre has), and the rays
see walls and the cylinders' ray meshes only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from turing.envs.bullet_view import BulletView
from turing.envs.epuck import constants as C
from turing.envs.epuck.infrared import InfraredModel, ray_directions_body
from turing.envs.epuck.physics_arena import (
    BODY,
    FEET,
    FLOOR,
    OBSTACLES,
    RAY_TARGETS,
    build_arena,
    set_group,
)
from turing.errors import UserError

M = C.METRES_PER_CM

BODY_CLEARANCE = 0.3
"""cm between the floor and the bottom of the body."""
SKID_RADIUS = 0.3
SKID_OFFSET = 2.6
"""cm from the axle to each skid, forwards and backwards."""
SKID_GAP = 0.03
"""cm between a skid and the floor while the body is level."""
PARKING = (18.75, 18.75)
"""Where the robot waits between trials (cm): between four cylinders, touching nothing."""


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise UserError(f"turing/EpuckBullet-v0: {name}={value!r} must be a number > 0")
    if not math.isfinite(value):
        raise UserError(f"turing/EpuckBullet-v0: {name}={value!r} must be finite")
    return float(value)


@dataclass(frozen=True)
class RobotPhysics:
    """The physical robot's settings (SI units except where named).

    Attributes:
        mass: total mass (kg): the body, two wheels of ``wheel_mass`` and two skids of 1 g.
        wheel_mass: each wheel's mass (kg).
        wheel_radius_cm: the wheels' radius (cm); the e-puck's are 41 mm across.
        max_wheel_torque: each motor's torque limit (N m): with the defaults the robot
            accelerates at up to about 2.5 m/s^2 (a full reversal of the wheels takes about
            0.1 s, a control step).
        wheel_friction: friction coefficient of the tyres on the floor.
        skid_friction: friction coefficient of the skids on the floor.
        body_friction: friction coefficient of the body's shell on walls and cylinders.
        wheel_noise: standard deviation of a Gaussian factor on each wheel's target speed,
            drawn per control step and wheel (mean 1; the stepper motors' and the floor's
            irregularity).
        timestep: physics step (s); a control step is ``0.1 / timestep`` of them.
        solver_iterations: constraint solver iterations per physics step.
    """

    mass: float = C.BODY_MASS_KG
    wheel_mass: float = 0.005
    wheel_radius_cm: float = 2.05
    max_wheel_torque: float = 0.004
    wheel_friction: float = 0.8
    skid_friction: float = 0.05
    body_friction: float = 0.4
    wheel_noise: float = 0.03
    timestep: float = 0.005
    solver_iterations: int = 20

    def __post_init__(self):
        for name in (
            "mass",
            "wheel_mass",
            "wheel_radius_cm",
            "max_wheel_torque",
            "wheel_friction",
            "timestep",
        ):
            _positive(getattr(self, name), name)
        for name in ("skid_friction", "body_friction", "wheel_noise"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise UserError(f"turing/EpuckBullet-v0: {name}={value!r} must be a number >= 0")
        if self.mass <= 2 * self.wheel_mass + 0.002:
            raise UserError(
                f"turing/EpuckBullet-v0: mass={self.mass} kg leaves nothing for the body "
                f"besides two wheels of {self.wheel_mass} kg and two skids of 1 g"
            )
        if not 1 <= round(C.CONTROL_STEP / self.timestep) <= 1000 or not math.isclose(
            C.CONTROL_STEP / self.timestep, round(C.CONTROL_STEP / self.timestep), rel_tol=1e-9
        ):
            raise UserError(
                f"turing/EpuckBullet-v0: timestep={self.timestep} must divide the control "
                f"step of {C.CONTROL_STEP} s (e.g. 0.005 or 0.0025)"
            )
        if (
            isinstance(self.solver_iterations, bool)
            or not isinstance(self.solver_iterations, int)
            or self.solver_iterations < 1
        ):
            raise UserError(
                f"turing/EpuckBullet-v0: solver_iterations={self.solver_iterations!r} must be "
                "a whole number >= 1"
            )
        if self.wheel_radius_cm <= BODY_CLEARANCE + SKID_GAP:
            raise UserError(
                f"turing/EpuckBullet-v0: wheel_radius_cm={self.wheel_radius_cm} must exceed "
                f"the body's clearance of {BODY_CLEARANCE} cm"
            )

    @property
    def substeps(self) -> int:
        return round(C.CONTROL_STEP / self.timestep)


class PhysicalWorld:
    """The arena and one physical e-puck in a PyBullet client.

    Args:
        view: the client (headless or GUI).
        sensors: the 8 sensors ``(x, y, facing)`` (cm, cm, rad; body frame).
        physics: the robot's settings.
        infrared: the sensors' response.
    """

    def __init__(
        self,
        view: BulletView,
        sensors: Sequence[tuple[float, float, float]],
        physics: RobotPhysics,
        infrared: InfraredModel,
    ):
        self.view = view
        self.pb = view.pb
        self.physics = physics
        self.infrared = infrared
        sensors = np.asarray(sensors, dtype=np.float64).reshape(C.N_SENSORS, 3)
        self.sensor_points = np.column_stack(
            [sensors[:, 0], sensors[:, 1], np.full(C.N_SENSORS, C.SENSOR_HEIGHT)]
        )
        self.ray_directions = ray_directions_body(sensors[:, 2]).reshape(-1, 3)
        pb, client = self.pb, view.id
        pb.setGravity(0, 0, -9.81, physicsClientId=client)
        # One stepSimulation call per physics step: with PyBullet's numSubSteps, a velocity
        # motor's force limit is applied as an impulse over the whole call in every
        # substep (measured: 20 substeps accelerated the robot as if the limit were 20x).
        pb.setPhysicsEngineParameter(
            fixedTimeStep=physics.timestep,
            numSubSteps=0,
            numSolverIterations=physics.solver_iterations,
            deterministicOverlappingPairs=1,
            physicsClientId=client,
        )
        self.floor = build_arena(pb, client)
        self._build_robot()
        self.place(*PARKING, 0.0)
        # Every trial starts from this saved state (the robot at rest, parked between
        # cylinders) and is then placed: what Bullet caches between steps (contact points,
        # the solver's warm start) is the same at every reset, so a trial depends only on
        # its seed, not on the trials the env ran before.
        self._parked = pb.saveState(physicsClientId=client)

    # ------------------------------------------------------------------ building
    def _build_robot(self) -> None:
        pb, client, p = self.pb, self.view.id, self.physics
        r_wheel = M * p.wheel_radius_cm
        self.axle_height = r_wheel
        body_radius, body_height = M * C.BODY_RADIUS, M * C.BODY_HEIGHT
        body_centre = M * BODY_CLEARANCE + body_height / 2 - r_wheel  # above the axle
        body_shape = pb.createCollisionShape(
            pb.GEOM_CYLINDER,
            radius=body_radius,
            height=body_height,
            collisionFramePosition=[0, 0, body_centre],
            physicsClientId=client,
        )
        body_visual = pb.createVisualShapeArray(
            shapeTypes=[pb.GEOM_CYLINDER, pb.GEOM_BOX],
            radii=[body_radius, 0.0],
            lengths=[body_height, 0.0],
            halfExtents=[[0, 0, 0], [0.25 * body_radius, 0.12 * body_radius, 0.06 * body_height]],
            rgbaColors=[[0.15, 0.45, 0.85, 1.0], [0.1, 0.1, 0.1, 1.0]],
            visualFramePositions=[
                [0, 0, body_centre],
                [0.7 * body_radius, 0, body_centre + body_height / 2],
            ],
            physicsClientId=client,
        )
        wheel_shape = pb.createCollisionShape(
            pb.GEOM_SPHERE, radius=r_wheel, physicsClientId=client
        )
        wheel_visual = pb.createVisualShape(
            pb.GEOM_CYLINDER,
            radius=r_wheel,
            length=M * 0.3,
            rgbaColor=[0.1, 0.1, 0.1, 1.0],
            visualFrameOrientation=pb.getQuaternionFromEuler([math.pi / 2, 0, 0]),
            physicsClientId=client,
        )
        skid_shape = pb.createCollisionShape(
            pb.GEOM_SPHERE, radius=M * SKID_RADIUS, physicsClientId=client
        )
        skid_z = M * (SKID_RADIUS + SKID_GAP) - r_wheel
        half_base = M * C.WHEEL_BASE / 2
        skid_mass = 0.001
        body_mass = p.mass - 2 * p.wheel_mass - 2 * skid_mass
        self.robot = pb.createMultiBody(
            baseMass=body_mass,
            baseCollisionShapeIndex=body_shape,
            baseVisualShapeIndex=body_visual,
            basePosition=[0, 0, r_wheel],
            linkMasses=[p.wheel_mass, p.wheel_mass, skid_mass, skid_mass],
            linkCollisionShapeIndices=[wheel_shape, wheel_shape, skid_shape, skid_shape],
            linkVisualShapeIndices=[wheel_visual, wheel_visual, -1, -1],
            linkPositions=[
                [0, half_base, 0],
                [0, -half_base, 0],
                [M * SKID_OFFSET, 0, skid_z],
                [-M * SKID_OFFSET, 0, skid_z],
            ],
            linkOrientations=[[0, 0, 0, 1]] * 4,
            linkInertialFramePositions=[[0, 0, 0]] * 4,
            linkInertialFrameOrientations=[[0, 0, 0, 1]] * 4,
            linkParentIndices=[0, 0, 0, 0],
            linkJointTypes=[pb.JOINT_REVOLUTE, pb.JOINT_REVOLUTE, pb.JOINT_FIXED, pb.JOINT_FIXED],
            linkJointAxis=[[0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]],
            physicsClientId=client,
        )
        # The body: a solid cylinder's inertia about its own axes, centre of mass on the
        # axle. The wheels: discs about the axle.
        ixx = body_mass * (3 * body_radius**2 + body_height**2) / 12
        izz = body_mass * body_radius**2 / 2
        pb.changeDynamics(
            self.robot,
            -1,
            localInertiaDiagonal=[ixx, ixx, izz],
            lateralFriction=p.body_friction,
            restitution=0.0,
            linearDamping=0.0,
            angularDamping=0.0,
            physicsClientId=client,
        )
        axial = p.wheel_mass * r_wheel**2 / 2
        for link, friction in ((0, p.wheel_friction), (1, p.wheel_friction)):
            pb.changeDynamics(
                self.robot,
                link,
                localInertiaDiagonal=[axial / 2, axial, axial / 2],
                lateralFriction=friction,
                restitution=0.0,
                physicsClientId=client,
            )
        for link in (2, 3):
            pb.changeDynamics(
                self.robot,
                link,
                lateralFriction=p.skid_friction,
                restitution=0.0,
                physicsClientId=client,
            )
        set_group(pb, client, self.robot, -1, BODY, OBSTACLES)
        for link in range(4):
            set_group(pb, client, self.robot, link, FEET, FLOOR)
        self.wheel_speed_limit = C.MAX_WHEEL_SPEED * M / r_wheel  # rad/s
        # Where each ray starts, in the base frame (metres; the sensors' height is given
        # from the floor, the base frame sits on the axle).
        points = (self.sensor_points - [0.0, 0.0, r_wheel / M]) * M
        self._ray_origins = np.repeat(points, len(self.ray_directions) // C.N_SENSORS, axis=0)
        self._reach = M * self.infrared.range_cm
        self.command(0.0, 0.0)

    # ------------------------------------------------------------------ state
    def place(self, x: float, y: float, heading: float) -> None:
        """Puts the robot at rest at ``(x, y)`` (cm) facing ``heading`` (rad), level, its
        wheels on the floor."""
        pb, client = self.pb, self.view.id
        pb.resetBasePositionAndOrientation(
            self.robot,
            [M * x, M * y, self.axle_height],
            pb.getQuaternionFromEuler([0.0, 0.0, heading]),
            physicsClientId=client,
        )
        pb.resetBaseVelocity(self.robot, [0, 0, 0], [0, 0, 0], physicsClientId=client)
        for joint in (0, 1):
            pb.resetJointState(self.robot, joint, 0.0, 0.0, physicsClientId=client)

    def reset(self, x: float, y: float, heading: float) -> None:
        """Restores the saved world, places the robot, and lets it settle for one control
        step with its motors holding still.

        restoreState alone leaves Bullet's contact manifolds of the previous trial in place
        (their cached impulses warm-start the solver, so a trial's first steps depended on
        how the previous one ended): the robot is first lifted far out of the arena and a
        collision pass run, which drops every contact pair it had.
        """
        pb, client = self.pb, self.view.id
        pb.resetBasePositionAndOrientation(
            self.robot, [10, 10, 10], [0, 0, 0, 1], physicsClientId=client
        )
        pb.performCollisionDetection(physicsClientId=client)
        pb.restoreState(self._parked, physicsClientId=client)
        self.place(x, y, heading)
        self.command(0.0, 0.0)
        self.advance()

    def command(self, left: float, right: float) -> None:
        """Sets the wheels' target speeds to ``left``, ``right`` (cm/s), clipped to the
        motors' 12.8 cm/s; the motors reach them within their torque limit."""
        limit = self.wheel_speed_limit
        scale = M / self.axle_height
        targets = [float(np.clip(v * scale, -limit, limit)) for v in (left, right)]
        torque = self.physics.max_wheel_torque
        self.pb.setJointMotorControlArray(
            self.robot,
            [0, 1],
            self.pb.VELOCITY_CONTROL,
            targetVelocities=targets,
            forces=[torque, torque],
            physicsClientId=self.view.id,
        )

    def advance(self) -> None:
        """One control step (0.1 s) of physics."""
        for _ in range(self.physics.substeps):
            self.pb.stepSimulation(physicsClientId=self.view.id)

    def pose(self) -> np.ndarray:
        """``[x, y, heading]`` (cm, cm, rad in [-pi, pi)) of the body."""
        position, orientation = self.pb.getBasePositionAndOrientation(
            self.robot, physicsClientId=self.view.id
        )
        heading = self.pb.getEulerFromQuaternion(orientation)[2]
        return np.array([position[0] / M, position[1] / M, heading])

    def wheels(self) -> tuple[np.ndarray, np.ndarray]:
        """The wheels' rim speeds (cm/s) and the torques their motors applied (N m)."""
        states = self.pb.getJointStates(self.robot, [0, 1], physicsClientId=self.view.id)
        speeds = np.array([s[1] for s in states]) * self.axle_height / M
        torques = np.array([s[3] for s in states])
        return speeds, torques

    # ------------------------------------------------------------------ sensing
    def sense(self, rng: np.random.Generator | None) -> np.ndarray:
        """The 8 proximity readings in [0, 1] (noise from ``rng``, or none)."""
        pb, client = self.pb, self.view.id
        position, orientation = pb.getBasePositionAndOrientation(self.robot, physicsClientId=client)
        rotation = np.array(pb.getMatrixFromQuaternion(orientation)).reshape(3, 3)
        starts = np.asarray(position) + self._ray_origins @ rotation.T  # [8 * 13, 3]
        directions = self.ray_directions @ rotation.T
        hits = pb.rayTestBatch(
            starts.tolist(),
            (starts + self._reach * directions).tolist(),
            collisionFilterMask=RAY_TARGETS,
            physicsClientId=client,
        )
        n = len(hits)
        hit = np.fromiter((h[0] >= 0 for h in hits), dtype=bool, count=n)
        fraction = np.fromiter((h[2] for h in hits), dtype=np.float64, count=n)
        normals = np.array([h[4] for h in hits], dtype=np.float64).reshape(n, 3)
        distance = np.where(hit, fraction * self.infrared.range_cm, np.inf)
        cos_incidence = np.where(hit, -(normals * directions).sum(-1), 0.0)
        returns = self.infrared.returns(
            distance.reshape(C.N_SENSORS, -1), cos_incidence.reshape(C.N_SENSORS, -1)
        )
        return self.infrared.readings(returns, rng)
