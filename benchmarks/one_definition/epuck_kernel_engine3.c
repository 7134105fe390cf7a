/* Case study 2's e-puck as a native kernel: sim.py's control step on lane vectors.
 *
 * The same function as turing.envs.epuck.sim (start poses, 10 substeps of the exact arc
 * with contacts resolved along the normal, 24 rays cast analytically at the 4 walls and the
 * 3 cylinders a ray can reach, the IR response and reading formula) and SensorSelfId's
 * passive controller, with the same draws (see sim.py). Every constant comes from
 * constants.py as a -D definition made by SensorSelfId.native_kernel, so the two
 * simulators cannot drift apart; tests/test_engine.py checks them step for step.
 *
 * Simulation parameters: the layout [24] (sensors' body-frame x, y and facing).
 * options: [noise (0 or 1)]. */
#define OBS 8
#define ACT 2
#define SIM 24
#define START_SIZE 3

#include "vec.h"
#include "philox.h"

typedef struct {
    vf x, y, heading;
    vf sensor_x[8], sensor_y[8];  /* the layout, fixed for a trial */
    vf cos_phi[8], sin_phi[8];    /* its facings' cosines and sines */
} State;

/* ------------------------------------------------------------------ geometry */
INLINE void nearest_cylinder(vf x, vf y, vf *cx, vf *cy) {
    *cx = sel(x >= GRID_MID1, splat(GRID2), sel(x >= GRID_MID0, splat(GRID1), splat(GRID0)));
    *cy = sel(y >= GRID_MID1, splat(GRID2), sel(y >= GRID_MID0, splat(GRID1), splat(GRID0)));
}

INLINE vi is_free(vf x, vf y) {
    vi inside = (x >= BODY_LOW) & (x <= BODY_HIGH) & (y >= BODY_LOW) & (y <= BODY_HIGH);
    vf cx, cy;
    nearest_cylinder(x, y, &cx, &cy);
    vf dx = x - cx, dy = y - cy;
    return inside & ((dx * dx + dy * dy) >= MIN_CYLINDER_DISTANCE2);
}

INLINE void resolve_contacts(vf *px, vf *py) {
    vf x = vclamp(*px, BODY_LOW, BODY_HIGH);
    vf y = vclamp(*py, BODY_LOW, BODY_HIGH);
    vf cx, cy;
    nearest_cylinder(x, y, &cx, &cy);
    vf dx = x - cx, dy = y - cy;
    vf d2 = dx * dx + dy * dy;
    vi inside = d2 < MIN_CYLINDER_DISTANCE2;
    vf scale = MIN_CYLINDER_DISTANCE * (1.0f / vsqrt(vmax(splat(1e-12f), d2)));
    *px = sel(inside, cx + dx * scale, x);
    *py = sel(inside, cy + dy * scale, y);
}

/* torch.remainder(x, m) - exact like torch's fmod-based one - for x in [-m, 2m). */
INLINE vf wrap_remainder(vf x, float m) {
    vf r = sel(x >= m, x - m, x);
    return sel(r < 0.0f, r + m, r);
}

INLINE void drive(State *s, vf v_left, vf v_right) {
    vf v = 0.5f * (v_left + v_right);
    vf turn = (v_right - v_left) * TURN_PER_SPEED;
    vf half = 0.5f * turn;
    vf sin_half, cos_half_unused;
    vsincos(half, &sin_half, &cos_half_unused);
    vf sinc = sel(vabs(half) > 1e-4f, sin_half / half, splat(1.0f));
    vf chord = v * SUBSTEP * sinc;
    vf c, sn, cos_turn, sin_turn;
    vsincos(s->heading + half, &sn, &c);
    vsincos(turn, &sin_turn, &cos_turn);
    vf x = s->x, y = s->y;
    for (int k = 0; k < SUBSTEPS; k++) {
        x = x + chord * c;
        y = y + chord * sn;
        resolve_contacts(&x, &y);
        vf c2 = c * cos_turn - sn * sin_turn;
        sn = sn * cos_turn + c * sin_turn;
        c = c2;
    }
    s->x = x;
    s->y = y;
    s->heading = wrap_remainder(s->heading + (float)SUBSTEPS * turn + PI_F, TWO_PI_F) - PI_F;
}

/* ------------------------------------------------------------------ sensors */
INLINE vf wall_distance(vf origin, vf direction) {
    vf bound = sel(direction > 0.0f, splat(ARENA_SIZE), splat(0.0f));
    vf distance = sel(direction == 0.0f, splat(__builtin_inff()), (bound - origin) / direction);
    return vmax(splat(0.0f), distance);
}

INLINE vf cylinder_distance(vf ox, vf oy, vf ux, vf uy, vf cx, vf cy) {
    vf dx = cx - ox, dy = cy - oy;
    vf b = dx * ux + dy * uy;
    vf disc = b * b - (dx * dx + dy * dy - CYLINDER_RADIUS2);
    vf t = vmax(splat(0.0f), b - vsqrt(vmax(splat(0.0f), disc)));
    return sel((disc >= 0.0f) & (b >= 0.0f), t, splat(__builtin_inff()));
}

INLINE vi on_grid(vf line) { return (line > GRID_EDGE_LOW) & (line < GRID_EDGE_HIGH); }

INLINE vf ray_distance(vf ox, vf oy, vf ux, vf uy) {
    vf distance = vmin(wall_distance(ox, ux), wall_distance(oy, uy));
    vf mx = ox + HALF_RANGE * ux, my = oy + HALF_RANGE * uy;
    vf cx, cy;
    nearest_cylinder(mx, my, &cx, &cy);
    vf nx = cx + sel(mx >= cx, splat(GRID_SPACING), splat(-GRID_SPACING));
    vf ny = cy + sel(my >= cy, splat(GRID_SPACING), splat(-GRID_SPACING));
    vf inf = splat(__builtin_inff());
    distance = vmin(distance, cylinder_distance(ox, oy, ux, uy, cx, cy));
    distance = vmin(distance, sel(on_grid(nx), cylinder_distance(ox, oy, ux, uy, nx, cy), inf));
    distance = vmin(distance, sel(on_grid(ny), cylinder_distance(ox, oy, ux, uy, cx, ny), inf));
    return sel(distance <= RAY_RANGE, distance, inf);
}

INLINE vf ir_response(vf d) {
    vf curve = IR_K / (d * d - 2.0f * IR_X0 * d + IR_C);
    vf response = sel(d <= RAY_RANGE, curve, splat(0.0f));
    return sel(d < IR_X0, splat(IR_M), response);
}

/* Readings [8] of the robot at the state's pose, with IR noise z [8] (or none). */
INLINE void read_sensors(const State *s, const vf *layout, const vf *z, vf *readings) {
    (void)layout;
    vf sin_h, cos_h;
    vsincos(s->heading, &sin_h, &cos_h);
    for (int i = 0; i < 8; i++) {
        vf sx = s->sensor_x[i], sy = s->sensor_y[i];
        vf ox = s->x + sx * cos_h - sy * sin_h;
        vf oy = s->y + sx * sin_h + sy * cos_h;
        /* The centre ray's direction, heading + phi_i, by the angle-sum formulas (phi_i's
         * cosine and sine are fixed for the trial). */
        vf ux = cos_h * s->cos_phi[i] - sin_h * s->sin_phi[i];
        vf uy = sin_h * s->cos_phi[i] + cos_h * s->sin_phi[i];
        vf lx = ux * COS_OFFSET + uy * SIN_OFFSET, ly = uy * COS_OFFSET - ux * SIN_OFFSET;
        vf rx = ux * COS_OFFSET - uy * SIN_OFFSET, ry = uy * COS_OFFSET + ux * SIN_OFFSET;
        vf left = ray_distance(ox, oy, lx, ly);
        vf centre = ray_distance(ox, oy, ux, uy);
        vf right = ray_distance(ox, oy, rx, ry);
        vf raw = ir_response(left) + ir_response(centre) + ir_response(right);
        raw = raw - 2.0f * ir_response(centre * INV_COS_OFFSET);
        if (z) raw = raw + z[i];
        readings[i] = vmin(splat(1.0f), vclamp(raw, 0.0f, IR_MAX) * INV_NORMALISER);
    }
}

/* IR noise N(0, 10^2) of 8 sensors: normal(8) from blocks `slot`, `slot + 1`. */
INLINE void ir_noise(const Streams *st, uint32_t t, uint32_t slot, vf *z) {
    for (int b = 0; b < 2; b++) {
        vf u[4];
        uniform4(st, st->stream, t, slot + b, DYNAMICS, u);
        box_muller(u[0], u[1], &z[4 * b], &z[4 * b + 1]);
        box_muller(u[2], u[3], &z[4 * b + 2], &z[4 * b + 3]);
        for (int i = 4 * b; i < 4 * b + 4; i++) z[i] = z[i] * IR_NOISE_STD;
    }
}

/* ------------------------------------------------------------------ the system */
INLINE void sys_reset(State *s, const vf *p, const Streams *st, const vf *start, const float *opt, vf *obs) {
    if (start) {
        s->x = start[0];
        s->y = start[1];
        s->heading = start[2];
    } else {
        /* Rejection sampling: attempt j reads block j of the start stream. */
        vi todo = splati(-1);
        s->x = s->y = s->heading = splat(0.0f);
        for (uint32_t attempt = 0; any(todo) && attempt < 10000; attempt++) {
            vf u[4];
            uniform4(st, st->start_stream, 0, attempt, START, u);
            vf x = BODY_LOW + (BODY_HIGH - BODY_LOW) * u[0];
            vf y = BODY_LOW + (BODY_HIGH - BODY_LOW) * u[1];
            vf heading = TWO_PI_F * u[2];
            vi take = todo & is_free(x, y);
            s->x = sel(take, x, s->x);
            s->y = sel(take, y, s->y);
            s->heading = sel(take, heading, s->heading);
            todo = todo & ~take;
        }
    }
    for (int i = 0; i < 8; i++) {
        s->sensor_x[i] = p[i];
        s->sensor_y[i] = p[8 + i];
        vsincos(p[16 + i], &s->sin_phi[i], &s->cos_phi[i]);
    }
    vf z[8];
    const int noise = opt[0] != 0.0f;
    if (noise) ir_noise(st, 0, 0, z);
    read_sensors(s, p, noise ? z : NULL, obs);
}

INLINE void sys_step(State *s, const vf *p, const vf *action, const Streams *st, uint32_t t,
                     const float *opt, vf *obs) {
    const int noise = opt[0] != 0.0f;
    vf left = action[0] * MAX_WHEEL_SPEED, right = action[1] * MAX_WHEEL_SPEED;
    vf z[8];
    if (noise) {
        vf u[4];
        uniform4(st, st->stream, t, 0, DYNAMICS, u);
        left = left * (u[0] * WHEEL_NOISE_SPAN + WHEEL_NOISE_LOW);
        right = right * (u[1] * WHEEL_NOISE_SPAN + WHEEL_NOISE_LOW);
        ir_noise(st, t, 1, z);
    }
    left = vclamp(left, -MAX_WHEEL_SPEED, MAX_WHEEL_SPEED);
    right = vclamp(right, -MAX_WHEEL_SPEED, MAX_WHEEL_SPEED);
    drive(s, left, right);
    read_sensors(s, p, noise ? z : NULL, obs);
}

/* The spec's obstacle avoidance from the robot's own readings and facings. */
INLINE void sys_passive(uint32_t t, const vf *obs, const vf *p, const State *s, const Streams *st,
                        const float *opt, const vf *pin, vf *action) {
    (void)t;
    (void)p;
    (void)st;
    (void)opt;
    (void)pin;
    vf sx = obs[0] * s->cos_phi[0], sy = obs[0] * s->sin_phi[0];
    for (int i = 1; i < 8; i++) {
        sx = sx + obs[i] * s->cos_phi[i];
        sy = sy + obs[i] * s->sin_phi[i];
    }
    vf a = sel(sx > 0.0f, vmin(splat(1.0f), vsqrt(sx * sx + sy * sy)), splat(0.0f));
    vf d = vsign(sy);
    vf cruise = (1.0f - a) * 0.8f;
    action[0] = cruise + d * a;
    action[1] = cruise - d * a;
}

#include "driver.h"
