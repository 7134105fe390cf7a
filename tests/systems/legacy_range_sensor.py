"""A system written for turing-learning 0.1, from that release's tutorial
(``git show d992207:docs/adding-a-system.md``): every random number comes from a
``torch.Generator`` argument. Unchanged but for its names; ``LegacyJitteryRangeSensor`` adds
0.1's ``passive_inputs(n, steps, generator, device)`` and ``simulation_params(params)``.
tests/test_legacy.py runs it through the compatibility path."""

import math

import torch

from turing import Parameter, System, register_system
from turing.envs.epuck import constants as C  # the e-puck's body, wheels and arena

SENSOR_RANGE = 20.0  # cm: the reading stops rising beyond this distance
NOISE_STD = 0.02
LOW, HIGH = C.BODY_RADIUS, C.ARENA_SIZE - C.BODY_RADIUS  # where the body's centre can be
SUBSTEP = C.CONTROL_STEP / C.SUBSTEPS


def sample_poses(n, generator, device, dtype=torch.float32):
    u = torch.rand(3, n, generator=generator, device=device, dtype=dtype)
    x = LOW + (HIGH - LOW) * u[0]
    y = LOW + (HIGH - LOW) * u[1]
    return torch.stack([x, y, 2 * math.pi * u[2]])


def drive(pose, v_left, v_right):
    x, y, heading = pose
    v = 0.5 * (v_left + v_right)
    turn = (v_right - v_left) * (SUBSTEP / C.WHEEL_BASE)  # heading change per substep
    half = 0.5 * turn
    sinc = torch.where(half.abs() > 1e-4, torch.sin(half) / half, torch.ones_like(half))
    chord = v * SUBSTEP * sinc  # length of the arc's chord in one substep
    for k in range(C.SUBSTEPS):
        direction = heading + (k + 0.5) * turn
        x = (x + chord * torch.cos(direction)).clamp(LOW, HIGH)
        y = (y + chord * torch.sin(direction)).clamp(LOW, HIGH)
    heading = torch.remainder(heading + C.SUBSTEPS * turn + math.pi, 2 * math.pi) - math.pi
    return torch.stack([x, y, heading])


def front_distance(pose):
    cos_h, sin_h = torch.cos(pose[2]), torch.sin(pose[2])
    front_x = pose[0] + C.BODY_RADIUS * cos_h
    front_y = pose[1] + C.BODY_RADIUS * sin_h
    to_x = torch.where(cos_h > 0, C.ARENA_SIZE - front_x, front_x) / cos_h.abs()
    to_y = torch.where(sin_h > 0, C.ARENA_SIZE - front_y, front_y) / sin_h.abs()
    return torch.minimum(to_x, to_y).clamp_min(0.0)


def response(distance, k, b):
    return k * (distance / SENSOR_RANGE).clamp(max=1.0) + b


class LegacyRangeSensor(System):
    name = "legacy-range-sensor"
    env_id = "turing/LegacyRangeSensor-v0"
    description = "An e-puck infers the gain and offset of its forward range sensor"
    parameters = (
        Parameter("k", 0.0, 4.0, 2.0, description="gain: reading rise from a wall to 20 cm away"),
        Parameter("b", 0.0, 4.0, 1.0, description="offset: reading against a wall"),
    )
    observation_size = 1
    observation_names = ("range",)
    action_size = 2
    action_low, action_high = -1.0, 1.0
    action_names = ("left_wheel", "right_wheel")
    default_steps = C.TRIAL_STEPS  # 100 control steps of 0.1 s
    default_generations = 100

    def sample_starts(self, n, generator, device):
        return sample_poses(n, generator, device)

    def reset(self, params, generator, start=None):
        if start is None:
            start = sample_poses(params.shape[-1], generator, params.device, params.dtype)
        return start, self.read(start, params, generator)

    def step(self, pose, params, action, generator):
        low, high = C.WHEEL_NOISE
        noise = low + (high - low) * torch.rand(
            action.shape, generator=generator, device=action.device
        )
        speeds = (action * noise * C.MAX_WHEEL_SPEED).clamp(-C.MAX_WHEEL_SPEED, C.MAX_WHEEL_SPEED)
        pose = drive(pose, speeds[0], speeds[1])
        return pose, self.read(pose, params, generator)

    def read(self, pose, params, generator):
        k, b = params  # one row per parameter, one column per trial
        noise = torch.randn(
            pose.shape[1], generator=generator, device=pose.device, dtype=pose.dtype
        )
        return (response(front_distance(pose), k, b) + NOISE_STD * noise).unsqueeze(0)

    def passive_action(self, t, observation, params, inputs):
        k, b = params
        near = (observation[0] < response(torch.full_like(k, 5.0), k, b)).to(observation.dtype)
        cruise, turn = 6.4 / C.MAX_WHEEL_SPEED, 8.4 / C.MAX_WHEEL_SPEED
        return torch.stack([cruise - (cruise + turn) * near, cruise + (turn - cruise) * near])


register_system(LegacyRangeSensor)


class LegacyJitteryRangeSensor(LegacyRangeSensor):
    """Cruises at a random speed in each trial (0.1's passive_inputs), and maps its model
    parameters with 0.1's one-argument simulation_params."""

    name = "legacy-jittery-range-sensor"
    env_id = "turing/LegacyJitteryRangeSensor-v0"

    def simulation_params(self, params):
        return params

    def passive_inputs(self, n, steps, generator, device):
        return 4.0 + 4.0 * torch.rand(1, n, generator=generator, device=device)  # cm/s

    def passive_action(self, t, observation, params, inputs):
        k, b = params
        near = (observation[0] < response(torch.full_like(k, 5.0), k, b)).to(observation.dtype)
        cruise = inputs[0].to(observation.dtype) / C.MAX_WHEEL_SPEED
        turn = 8.4 / C.MAX_WHEEL_SPEED
        return torch.stack([cruise - (cruise + turn) * near, cruise + (turn - cruise) * near])


register_system(LegacyJitteryRangeSensor)
