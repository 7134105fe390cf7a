/* The tutorial's system (docs/adding-a-system.md, my_range_sensor.py) written by hand as a
 * native kernel, in the style of the envs kernel.c files: the yardstick of "a user's system runs at
 * >= 50% of the speed a hand-written C kernel of it reaches" (benchmarks/one_definition).
 *
 * The same function as the tutorial's torch methods, with the same draws: the start pose
 * from the start stream (uniform(3)), the reading's noise normal(1) (reset: block 0 of the
 * step; step: block 1, after the wheel factors' uniform(2) in block 0). Each substep's
 * direction is evaluated afresh (cos and sin of heading + (k + 1/2) turn), as the tutorial
 * writes it. options: none. */
#define OBS 1
#define ACT 2
#define SIM 2
#define START_SIZE 3

#include "vec.h"
#include "philox.h"

#define LOW 3.7f
#define HIGH 46.3f
#define ARENA 50.0f
#define RADIUS 3.7f
#define SUBSTEP 0.01f
#define TURN_PER_SPEED (0.01f / 5.1f)
#define MAX_SPEED 12.8f
#define RANGE 20.0f
#define NOISE_STD 0.02f

typedef struct {
    vf x, y, heading;
} State;

INLINE vf reading(const State *s, const vf *p, vf z) {
    vf sn, c;
    vsincos(s->heading, &sn, &c);
    vf fx = s->x + RADIUS * c, fy = s->y + RADIUS * sn;
    vf to_x = sel(c > 0.0f, ARENA - fx, fx) / vabs(c);
    vf to_y = sel(sn > 0.0f, ARENA - fy, fy) / vabs(sn);
    vf d = vmax(splat(0.0f), vmin(to_x, to_y));
    return p[0] * vmin(splat(1.0f), d / RANGE) + p[1] + NOISE_STD * z;
}

INLINE vf noise_z(const Streams *st, uint32_t t, uint32_t slot) {
    vf u[4], z, unused;
    uniform4(st, st->stream, t, slot, DYNAMICS, u);
    box_muller(u[0], u[1], &z, &unused);
    return z;
}

INLINE void sys_reset(State *s, const vf *p, const Streams *st, const vf *start, const float *opt, vf *obs) {
    (void)opt;
    if (start) {
        s->x = start[0];
        s->y = start[1];
        s->heading = start[2];
    } else {
        vf u[4];
        uniform4(st, st->start_stream, 0, 0, START, u);
        s->x = LOW + (HIGH - LOW) * u[0];
        s->y = LOW + (HIGH - LOW) * u[1];
        s->heading = 6.2831854820251465f * u[2];
    }
    obs[0] = reading(s, p, noise_z(st, 0, 0));
}

INLINE void sys_step(State *s, const vf *p, const vf *action, const Streams *st, uint32_t t,
                     const float *opt, vf *obs) {
    (void)opt;
    vf u[4];
    uniform4(st, st->stream, t, 0, DYNAMICS, u);
    vf left = vclamp(action[0] * (0.95f + 0.1f * u[0]) * MAX_SPEED, -MAX_SPEED, MAX_SPEED);
    vf right = vclamp(action[1] * (0.95f + 0.1f * u[1]) * MAX_SPEED, -MAX_SPEED, MAX_SPEED);
    vf v = 0.5f * (left + right);
    vf turn = (right - left) * TURN_PER_SPEED;
    vf half = 0.5f * turn;
    vf sinc = sel(vabs(half) > 1e-4f, vsin(half) / half, splat(1.0f));
    vf chord = v * SUBSTEP * sinc;
    for (int k = 0; k < 10; k++) {
        vf sn, c;
        vsincos(s->heading + ((float)k + 0.5f) * turn, &sn, &c);
        s->x = vclamp(s->x + chord * c, LOW, HIGH);
        s->y = vclamp(s->y + chord * sn, LOW, HIGH);
    }
    s->heading = vremainder(s->heading + 10.0f * turn + 3.14159265f, splat(6.2831855f)) - 3.14159265f;
    obs[0] = reading(s, p, noise_z(st, t, 1));
}

INLINE void sys_passive(uint32_t t, const vf *obs, const vf *p, const State *s, const Streams *st,
                        const float *opt, const vf *pin, vf *action) {
    (void)t; (void)s; (void)st; (void)opt; (void)pin;
    vf threshold = p[0] * 0.25f + p[1];
    vf near = sel(obs[0] < threshold, splat(1.0f), splat(0.0f));
    const float cruise = 6.4f / 12.8f, turn = 8.4f / 12.8f;
    action[0] = cruise - (cruise + turn) * near;
    action[1] = cruise + (turn - cruise) * near;
}

#include "driver.h"
